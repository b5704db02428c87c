"""Example objects as a user or the API server would write them, shared by the resource tests."""

from __future__ import annotations

from typing import Any

import yaml

ASSET_GRAPH = yaml.safe_load(
    """
apiVersion: kasset.io/v1alpha1
kind: AssetGraph
metadata:
  name: demo
  namespace: data
  uid: 6f1c2d1e-0000-4000-8000-000000000001
  generation: 3
  resourceVersion: "1234"
  creationTimestamp: "2024-01-01T00:00:00Z"
  managedFields: [{manager: kubectl, operation: Apply}]
spec:
  image: registry.example.com/demo:1.2.3
  codeLocation: {module: demo.definitions}
  storage:
    uri: file:///var/lib/kasset/storage
    volume: {claimName: kasset-storage}
  defaults:
    resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 512Mi}}
    retryPolicy: {maxRetries: 2, delaySeconds: 5, backoff: 2}
    env:
      - {name: LOG_LEVEL, value: info}
      - {name: TOKEN, valueFrom: {secretKeyRef: {name: api, key: token}}}
    tolerations: [{key: dedicated, operator: Equal, value: data, effect: NoSchedule}]
  partitionsDefinitions:
    - {name: daily, type: daily, start: "2024-01-01"}
    - {name: regions, type: static, keys: [eu, us]}
  assets:
    - key: raw/orders
      group: raw
      partitions: daily
      tags: {team: data}
    - key: marts/orders_by_region
      deps: [raw/orders]
      partitions: regions
      checks: [{name: has_rows, blocking: true}]
      resources: {limits: {memory: 2Gi}}
  schedules:
    - {name: nightly, cron: "0 2 * * *", selection: "group:raw"}
status:
  observedGeneration: 3
  assetCount: 2
  conditions:
    - {type: Ready, status: "True", reason: Compiled, lastTransitionTime: "2024-01-01T00:00:05Z"}
  schedules: [{name: nightly, nextTick: "2024-01-02T02:00:00Z", missedTicks: 0}]
"""
)

ASSET = yaml.safe_load(
    """
apiVersion: kasset.io/v1alpha1
kind: Asset
metadata:
  name: demo-raw-orders-2ca6c6c1
  ownerReferences:
    - {apiVersion: kasset.io/v1alpha1, kind: AssetGraph, name: demo, uid: x, controller: true}
spec:
  graph: demo
  key: raw/orders
  group: raw
  partitions: {type: daily, start: "2024-01-01"}
status:
  health: Fresh
  latest: {run: nightly-1, partition: "2024-01-31", time: "2024-02-01T02:03:00Z",
           metadata: {rows: "1200"}}
  partitions: {materialized: "2024-01-01..2024-01-31", materializedCount: 31, total: 31}
  checks: [{name: has_rows, passed: true, severity: ERROR}]
"""
)

MATERIALIZATION = yaml.safe_load(
    """
apiVersion: kasset.io/v1alpha1
kind: Materialization
metadata: {name: backfill-january}
spec:
  graph: demo
  selection: "raw/orders+"
  partitions: {range: {start: "2024-01-01", end: "2024-01-31"}}
  maxParallel: 4
  launchedBy: cli
status:
  phase: Running
  startTime: "2024-02-01T00:00:00Z"
  counts: {total: 31, pending: 1, running: 1, succeeded: 28, failed: 1}
  assets:
    - {asset: raw/orders, phase: Running, succeeded: "2024-01-01..2024-01-28",
       failed: "2024-01-29"}
  steps:
    - {key: "raw/orders[2024-01-30]", phase: Running, attempts: 1,
       startTime: "2024-02-01T00:10:00Z"}
    - {key: "raw/orders[2024-01-29]", phase: Failed, attempts: 3,
       message: "ValueError: no rows", checks: [{name: has_rows, passed: false}]}
"""
)


def copy(body: dict[str, Any]) -> dict[str, Any]:
    """A deep copy to mutate in one test."""
    return yaml.safe_load(yaml.safe_dump(body))
