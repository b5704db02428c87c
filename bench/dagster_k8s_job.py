"""Dagster's half of the cluster comparison: the same no-op assets as `dagster_side`, as
a job on dagster-k8s's `k8s_job_executor` (one Kubernetes Job, hence one pod, per step).

The run's orchestrator runs on the host (`execute_job`), as kasset's operator does here;
its instance is sqlite in a host directory that every step pod mounts (hostPath) at the
same path, so the pods read the run and write their events and outputs where the host
polls for them. That is the multiprocess executor's storage, shared through one node's
disk: the simplest correct instance on a one-node cluster (a real deployment uses
Postgres, which only adds a network hop to every event write).

Imported in the step pods too (the image puts `bench` on PYTHONPATH), so it must not
import anything of the host's.
"""

from __future__ import annotations

import dagster as dg
from dagster_k8s import k8s_job_executor

from bench.dagster_side import assets_of
from bench.shapes import shape_by_name

__all__ = ["JOB_NAME", "k8s_job_for"]

JOB_NAME = "bench_k8s"


def k8s_job_for(
    shape_name: str,
    namespace: str,
    image: str,
    max_concurrent: int,
    instance_dir: str,
    kubeconfig: str,
) -> dg.JobDefinition:
    """The shape's asset job on the k8s_job_executor. Step pods run as root only because
    the sqlite files on the shared hostPath belong to the host's root."""
    executor = k8s_job_executor.configured(
        {
            "job_namespace": namespace,
            "job_image": image,
            "image_pull_policy": "IfNotPresent",
            "load_incluster_config": False,
            "kubeconfig_file": kubeconfig,
            "max_concurrent": max_concurrent,
            "volumes": [
                {"name": "instance", "host_path": {"path": instance_dir, "type": "Directory"}}
            ],
            "volume_mounts": [{"name": "instance", "mount_path": instance_dir}],
            "step_k8s_config": {
                "container_config": {"security_context": {"run_as_user": 0}},
                "pod_spec_config": {"automount_service_account_token": False},
            },
        },
        name="k8s_bench",
    )
    defs = dg.Definitions(
        assets=assets_of(shape_by_name(shape_name)),
        jobs=[dg.define_asset_job(JOB_NAME, selection="*", executor_def=executor)],
    )
    return defs.resolve_job_def(JOB_NAME)
