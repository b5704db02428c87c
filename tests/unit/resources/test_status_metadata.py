"""The one metadata summary of status fields, shared by the operator and `kasset dev`."""

from __future__ import annotations

from kasset.operator.model.reports import summarize_metadata
from kasset.resources.base import (
    MAX_STATUS_METADATA_ENTRIES,
    MAX_STATUS_METADATA_VALUE,
    status_metadata,
)
from kasset.ui.local_runs import metadata_summary


def test_values_are_shown_as_json_and_typed_entries_by_their_value() -> None:
    summary = status_metadata(
        {"rows": 3, "ok": True, "cols": ["a", "b"], "path": {"type": "path", "value": "/x"}}
    )
    assert summary == {"rows": "3", "ok": "true", "cols": '["a", "b"]', "path": "/x"}


def test_a_long_value_is_cut_with_an_ellipsis_and_at_most_16_entries_are_kept() -> None:
    many = {f"k{i:02}": "x" * 1000 for i in range(40)}
    summary = status_metadata(many)
    assert len(summary) == MAX_STATUS_METADATA_ENTRIES
    assert all(len(v) == MAX_STATUS_METADATA_VALUE and v.endswith("…") for v in summary.values())
    assert status_metadata(None) == {}


def test_the_cluster_and_kasset_dev_summarize_the_same_metadata_alike() -> None:
    metadata = {"rows": 3, "preview": {"type": "md", "value": "| a |"}, "ratio": 0.5}
    assert summarize_metadata(metadata) == metadata_summary(metadata) == status_metadata(metadata)
