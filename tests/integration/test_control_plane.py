"""Light tier: API-server-only behaviour (works with `hack/cluster up --control-plane-only`)."""

from __future__ import annotations

import json
import secrets

import pytest

from kube import Kube, wait_until

pytestmark = pytest.mark.control_plane


def test_api_server_stores_and_returns_objects(kube: Kube, namespace: str) -> None:
    kube.kubectl("create", "configmap", "cfg", "-n", namespace, "--from-literal=answer=42")
    cm = kube.get_json("configmap", "cfg", namespace=namespace)
    assert cm["data"] == {"answer": "42"}
    ns = kube.get_json("namespace", namespace)
    assert ns["metadata"]["labels"]["kasset.io/test"] == "true"


def test_custom_resources_can_be_defined_and_used(kube: Kube, namespace: str) -> None:
    group = f"t{secrets.token_hex(4)}.test.kasset.io"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {"size": {"type": "integer", "minimum": 1}},
                                },
                                "status": {
                                    "type": "object",
                                    "x-kubernetes-preserve-unknown-fields": True,
                                },
                            },
                        }
                    },
                }
            ],
        },
    }
    kube.apply(crd)
    try:
        kube.kubectl("wait", "--for=condition=Established", f"crd/widgets.{group}", "--timeout=60s")
        widget = {
            "apiVersion": f"{group}/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"size": 3},
        }
        wait_until(
            lambda: (
                kube.kubectl(
                    "apply", "-n", namespace, "-f", "-", input=json.dumps(widget), check=False
                ).returncode
                == 0
            ),
            30,
            "widget accepted",
        )
        assert kube.get_json(f"widgets.{group}", "w", namespace=namespace)["spec"]["size"] == 3
        bad = dict(widget, metadata={"name": "bad"}, spec={"size": 0})
        proc = kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(bad), check=False)
        assert proc.returncode != 0
        assert "should be greater than or equal to 1" in proc.stderr
    finally:
        kube.kubectl("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


def test_namespace_deletion_is_processed_by_the_controller_manager(kube: Kube) -> None:
    name = f"t-ns-deletion-{secrets.token_hex(3)}"
    kube.kubectl("create", "namespace", name)
    kube.kubectl("create", "configmap", "x", "-n", name)
    kube.kubectl("delete", "namespace", name, "--wait=false")
    wait_until(
        lambda: kube.kubectl("get", "namespace", name, check=False).returncode != 0,
        60,
        f"namespace {name} to be gone",
    )


def test_service_account_tokens_are_issued(kube: Kube, namespace: str) -> None:
    token = kube.kubectl(
        "create", "token", "default", "-n", namespace, "--duration=10m"
    ).stdout.strip()
    assert token.count(".") == 2
    review = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": {"token": token},
    }
    out = json.loads(
        kube.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(review)).stdout
    )
    assert out["status"]["authenticated"] is True
    assert out["status"]["user"]["username"] == f"system:serviceaccount:{namespace}:default"
