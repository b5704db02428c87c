"""What reaches the cluster of a Dagster-style project: config schemas, jobs, catalog
fields and Secret-bound EnvVars in the compiled graph; a Materialization's runConfig
checked against them; the run config in the step pod's environment."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from dagster_project import load_dagster_style
from kasset.compiler import compile_definitions, to_yaml
from kasset.definitions.keys import AssetKey, StepKey
from kasset.operator.model.pods import build_step_pod, owner_reference
from kasset.resources import MaterializationResource
from kasset.run_config_check import run_config_problems
from kasset.submit import build_materialization


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    dagster_style = load_dagster_style(monkeypatch, token="only-at-run-time")
    yield compile_definitions(
        dagster_style.defs,
        image="example/proj:1",
        module="dagster_style",
        secret_env={"KASSET_E2E_TOKEN": ("e2e-token", "token")},
    )
    sys.modules.pop("dagster_style", None)


def test_the_graph_carries_config_schemas_jobs_and_catalog_fields_but_no_secret(
    compiled: Any,
) -> None:
    text = to_yaml(compiled)
    assert "only-at-run-time" not in text
    spec = compiled.spec
    assert [e.to_dict() for e in spec.defaults.env] == [
        {
            "name": "KASSET_E2E_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "e2e-token", "key": "token"}},
        }
    ]
    numbers = next(a for a in spec.assets if a.key == "numbers")
    assert numbers.owners == ["team:data"] and numbers.kinds == ["python"]
    assert numbers.metadata == {"source": "generated"}
    assert numbers.metadata_types == {"source": "text"}
    assert numbers.config_schema is not None
    assert set(numbers.config_schema["properties"]) == {"rows", "label"}
    assert [(j.name, j.selection, j.tags) for j in spec.jobs] == [
        ("marts_job", "flaky_fetch,numbers,total", {"team": "data"})
    ]
    total = next(a for a in spec.assets if a.key == "total")
    assert total.retry_policy is not None and total.retry_policy.backoff_kind == "EXPONENTIAL"


def test_a_run_config_that_does_not_fit_the_schemas_is_described(compiled: Any) -> None:
    schemas = {a.key: a.config_schema for a in compiled.spec.assets}
    assert run_config_problems({"ops": {"numbers": {"config": {"rows": 2}}}}, schemas) == []
    assert run_config_problems(
        {
            "ops": {
                "numbers": {"config": {"rows": "two", "colour": "red"}},
                "total": {"config": {"x": 1}},
                "nope": {},
            },
            "extra": {},
        },
        schemas,
    ) == [
        "unknown section 'extra'",
        "ops.numbers.config.rows: expected integer, got str",
        "ops.numbers.config.colour: unknown field",
        "ops.total: the asset takes no config",
        "ops.nope: no such asset in the graph",
    ]


def test_a_materialization_with_a_run_config_and_a_job_is_a_valid_object() -> None:
    body = build_materialization(
        "demo", selection="a,b", job="marts_job", run_config={"ops": {"a": {"config": {}}}}
    )
    body["metadata"] = {"name": "demo-1"}
    resource = MaterializationResource.model_validate(body)
    assert resource.spec.job == "marts_job"
    assert resource.spec.run_config == {"ops": {"a": {"config": {}}}}


def test_the_step_pod_reads_the_run_config_and_job_from_its_environment(compiled: Any) -> None:
    pod = build_step_pod(
        compiled.spec,
        compiled.spec.assets[1],
        namespace="ns",
        graph="dagster-style",
        run="run-1",
        step=StepKey(AssetKey("numbers")),
        attempt=1,
        event_url=None,
        token=None,
        owner=owner_reference("kasset.io/v1alpha1", "Materialization", "run-1", "uid"),
        run_config='{"ops":{"numbers":{"config":{"rows":2}}}}',
        job="marts_job",
    )
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    assert json.loads(env["KASSET_RUN_CONFIG"]["value"]) == {
        "ops": {"numbers": {"config": {"rows": 2}}}
    }
    assert json.loads(env["KASSET_RUN_TAGS"]["value"]) == {"kasset.io/job": "marts_job"}
    assert env["KASSET_E2E_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "e2e-token"


def test_the_operator_reads_a_retry_request_from_a_failed_step_event() -> None:
    from kasset.operator.model.reports import to_reported
    from kasset.plan import RetryRequest
    from kasset.runtime.records import EventBuilder, RetryRequestRecord, error_payload

    failed = EventBuilder("run", "a", "a", None, 1).failed(
        error_payload("ConnectionError", "down", retry_requested=RetryRequestRecord(2, 0.5))
    )
    assert to_reported(failed.to_dict()).retry_requested == RetryRequest(2, 0.5)
