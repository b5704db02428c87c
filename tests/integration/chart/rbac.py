"""An RBAC matrix: what a ServiceAccount may do, asked of the API server with
`kubectl auth can-i --as=system:serviceaccount:NS:SA VERB RESOURCE -n NS`.

    results = can_i_matrix([Check("create", "pods", "team-a", expect=True),
                            Check("get", "secrets", None, all_namespaces=True, expect=False)],
                           namespace="kasset-system", service_account="kasset", env=env)
    assert not mismatches(results), mismatches(results)

Resources are written as kubectl takes them: `pods`, `pods/log` (a subresource),
`leases.coordination.k8s.io`, `assetgraphs.kasset.io` (RESOURCE.GROUP).

Two ways to ask, same answers: ``method="sar"`` (default) creates one SubjectAccessReview
per check in a single `kubectl create` call, with the group spelled out, so it also works
before kasset's CRDs are installed (`kubectl auth can-i` cannot map `assetgraphs.kasset.io`
to a resource then, and silently answers "no"); ``method="can-i"`` runs
`kubectl auth can-i` once per check, in parallel.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

__all__ = ["Check", "can_i", "can_i_matrix", "format_matrix", "mismatches", "sar_matrix"]


@dataclass(frozen=True)
class Check:
    """One question: may the ServiceAccount VERB RESOURCE[/NAME] in NAMESPACE?

    ``namespace=None`` asks cluster-wide: for cluster-scoped resources (CRDs, ClusterRoles)
    or, with ``all_namespaces=True``, across every namespace (`kubectl ... -A`).
    ``expect`` is what least privilege wants (None: just report).
    """

    verb: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    all_namespaces: bool = False
    expect: bool | None = None

    def argv(self) -> list[str]:
        resource, _, sub = self.resource.partition("/")
        args = [self.verb, f"{resource}/{self.name}" if self.name else resource]
        if sub:
            args.append(f"--subresource={sub}")
        if self.all_namespaces:
            args.append("--all-namespaces")
        elif self.namespace:
            args += ["-n", self.namespace]
        return args

    def resource_attributes(self) -> dict[str, str]:
        """The SubjectAccessReview resourceAttributes of this check."""
        resource, _, sub = self.resource.partition("/")
        plural, _, group = resource.partition(".")
        attrs = {"verb": self.verb, "resource": plural, "group": group}
        if sub:
            attrs["subresource"] = sub
        if self.name:
            attrs["name"] = self.name
        if self.namespace and not self.all_namespaces:
            attrs["namespace"] = self.namespace
        return attrs

    def __str__(self) -> str:
        where = "all namespaces" if self.all_namespaces else (self.namespace or "cluster")
        what = f"{self.resource}/{self.name}" if self.name else self.resource
        return f"{self.verb} {what} in {where}"


def can_i(
    check: Check,
    *,
    namespace: str,
    service_account: str,
    env: Mapping[str, str] | None = None,
    kubectl: str = "kubectl",
) -> bool:
    """Whether system:serviceaccount:NAMESPACE:SERVICE_ACCOUNT may do ``check``."""
    user = f"system:serviceaccount:{namespace}:{service_account}"
    cmd = [
        kubectl,
        "auth",
        "can-i",
        *check.argv(),
        f"--as={user}",
        *(f"--as-group={g}" for g in _groups(namespace)),
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=dict(env) if env is not None else None,
    )
    answer = proc.stdout.strip().splitlines()[-1:] or [""]
    if answer[0] not in ("yes", "no"):
        raise RuntimeError(f"{' '.join(cmd)}: rc={proc.returncode}\n{proc.stderr}\n{proc.stdout}")
    return answer[0] == "yes"


def _groups(namespace: str) -> list[str]:
    return ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]


def _json_stream(text: str) -> list[dict[str, object]]:
    """kubectl prints one JSON document per created object, back to back."""
    decoder, pos, out = json.JSONDecoder(), 0, []
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)
    return out


def sar_matrix(
    checks: list[Check],
    *,
    namespace: str,
    service_account: str,
    env: Mapping[str, str] | None = None,
    kubectl: str = "kubectl",
) -> dict[Check, bool]:
    """Every check's answer from SubjectAccessReviews (one `kubectl create` call)."""
    if not checks:
        return {}
    user = f"system:serviceaccount:{namespace}:{service_account}"
    reviews = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SubjectAccessReview",
                "spec": {
                    "user": user,
                    "groups": _groups(namespace),
                    "resourceAttributes": c.resource_attributes(),
                },
            }
            for c in checks
        ],
    }
    proc = subprocess.run(
        [kubectl, "create", "-f", "-", "-o", "json"],
        input=json.dumps(reviews),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=dict(env) if env is not None else None,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"SubjectAccessReview failed: {proc.stderr}")
    items = _json_stream(proc.stdout)
    if len(items) == 1 and items[0].get("kind") == "List":
        items = items[0]["items"]
    assert len(items) == len(checks), f"{len(items)} reviews for {len(checks)} checks"
    return {c: bool(item["status"].get("allowed")) for c, item in zip(checks, items, strict=True)}


def can_i_matrix(
    checks: Iterable[Check],
    *,
    namespace: str,
    service_account: str,
    env: Mapping[str, str] | None = None,
    kubectl: str = "kubectl",
    method: str = "sar",
    workers: int = 8,
) -> dict[Check, bool]:
    """Every check's answer, in the order given (see the module doc for ``method``)."""
    checks = list(checks)
    if method == "sar":
        return sar_matrix(
            checks, namespace=namespace, service_account=service_account, env=env, kubectl=kubectl
        )
    if method != "can-i":
        raise ValueError(f"method must be 'sar' or 'can-i', not {method!r}")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        answers = list(
            pool.map(
                lambda c: can_i(
                    c,
                    namespace=namespace,
                    service_account=service_account,
                    env=env,
                    kubectl=kubectl,
                ),
                checks,
            )
        )
    return dict(zip(checks, answers, strict=True))


def mismatches(results: Mapping[Check, bool]) -> list[str]:
    """The checks whose answer differs from their ``expect``, as readable lines."""
    return [
        f"{c}: got {'yes' if got else 'no'}, want {'yes' if c.expect else 'no'}"
        for c, got in results.items()
        if c.expect is not None and got != c.expect
    ]


def format_matrix(results: Mapping[Check, bool]) -> str:
    """A table of the answers, for logs and reports."""
    rows = [
        (
            str(c),
            "yes" if got else "no",
            "" if c.expect is None else ("ok" if got == c.expect else "MISMATCH"),
        )
        for c, got in results.items()
    ]
    width = max((len(r[0]) for r in rows), default=0)
    return "\n".join(f"{a:<{width}}  {b:<3}  {c}" for a, b, c in rows)
