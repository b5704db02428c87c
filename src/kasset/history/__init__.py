"""The history store: every event the operator folds, kept in a real database (SQLite by
default, PostgreSQL for production), long after the custom resources forgot it.

This package's pure parts (events, the interface, retention rules) are re-exported here;
the database parts are `kasset.history.store.open_store` (SQLAlchemy) and
`kasset.history.writer.HistoryWriter` (the batched background writer), and step logs
are archived by `kasset.history.logs`. The step runtime never imports any of it.
"""

from kasset.history.api import (
    AssetRef,
    HistoryStore,
    Page,
    RunFilter,
    RunRecord,
    SearchResult,
    SeriesPoint,
    StoredEvent,
)
from kasset.history.events import (
    AUTOMATION_EVALUATED,
    CHECK_EVALUATED,
    MATERIALIZED,
    OBSERVED,
    SCHEDULE_TICK,
    SENSOR_TICK,
    HistoryEvent,
    automation_evaluation,
    from_step_event,
    run_phase_event,
    tick_event,
)
from kasset.history.retention import RetentionPolicy, RetentionReport, RetentionRules

__all__ = [
    "AUTOMATION_EVALUATED",
    "CHECK_EVALUATED",
    "MATERIALIZED",
    "OBSERVED",
    "SCHEDULE_TICK",
    "SENSOR_TICK",
    "AssetRef",
    "HistoryEvent",
    "HistoryStore",
    "Page",
    "RetentionPolicy",
    "RetentionReport",
    "RetentionRules",
    "RunFilter",
    "RunRecord",
    "SearchResult",
    "SeriesPoint",
    "StoredEvent",
    "automation_evaluation",
    "from_step_event",
    "run_phase_event",
    "tick_event",
]
