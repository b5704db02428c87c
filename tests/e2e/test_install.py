"""Install like a user (issue 6): the chart, the operator in the cluster under its own
ServiceAccount, the population example materialized, metrics and the UI behind its token.

The install is `hack/demo up`, the README's first command, run into its own namespace.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from demo import Demo
from kube import Kube

pytestmark = pytest.mark.cluster


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _json(kube: Kube, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(kube.kubectl(*args, "-o", "json").stdout)


def test_the_operator_runs_in_the_cluster_under_its_service_account(kube: Kube, demo: Demo) -> None:
    pods = _json(kube, "-n", demo.namespace, "get", "pods", "-l", "app.kubernetes.io/name=kasset")
    operators = [p for p in pods["items"] if p["status"]["phase"] == "Running"]
    assert len(operators) == 2
    assert {p["spec"]["serviceAccountName"] for p in operators} == {"kasset"}
    leaders = [p for p in operators if p["metadata"]["labels"].get("kasset.io/role") == "leader"]
    assert len(leaders) == 1, "exactly one replica leads"


def test_the_example_materialization_succeeded_and_the_assets_say_so(
    kube: Kube, demo: Demo
) -> None:
    runs = _json(kube, "-n", demo.namespace, "get", "materializations")["items"]
    assert runs and all(r["status"]["phase"] == "Succeeded" for r in runs)
    assert runs[0]["status"]["counts"]["succeeded"] == 3
    assets = _json(kube, "-n", demo.namespace, "get", "assets")["items"]
    assert {a["spec"]["key"] for a in assets} == {
        "country_populations",
        "continent_change_model",
        "continent_stats",
    }
    for item in assets:
        assert item["status"]["health"] == "Fresh"
        assert item["status"]["latest"]["run"] == runs[0]["metadata"]["name"]
    # A step's success event can arrive before its process has exited: wait for the pods.
    kube.kubectl(
        "-n",
        demo.namespace,
        "wait",
        "pods",
        "-l",
        "kasset.io/run",
        "--for=jsonpath={.status.phase}=Succeeded",
        "--timeout=120s",
    )
    step_pods = _json(kube, "-n", demo.namespace, "get", "pods", "-l", "kasset.io/run")["items"]
    assert len(step_pods) == 3
    for pod in step_pods:
        assert pod["spec"]["automountServiceAccountToken"] is False


def test_metrics_through_the_service_show_the_steps(demo: Demo) -> None:
    status, body = _get(f"{demo.url}/metrics")
    assert status == 200
    for asset in ("country_populations", "continent_change_model", "continent_stats"):
        line = f'kasset_steps_total{{asset="{asset}",graph="population",outcome="succeeded"}}'
        assert line in body
    assert 'kasset_runs_total{graph="population",phase="Succeeded"}' in body
    assert "kasset_inter_step_gap_seconds_count" in body


def test_the_ui_answers_with_the_token_and_refuses_without_it(demo: Demo) -> None:
    assert _get(f"{demo.url}/api/v1/assets")[0] == 401
    assert _get(f"{demo.url}/api/v1/assets", token="not-the-token")[0] == 401
    status, body = _get(f"{demo.url}/api/v1/assets", token=demo.token)
    assert status == 200 and "continent_stats" in body
    assert _get(f"{demo.url}/lineage", token=demo.token)[0] == 200
    assert _get(f"{demo.url}/healthz")[0] == 200
