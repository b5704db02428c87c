"""Retention rules read from configuration, with a one-line error saying where."""

from __future__ import annotations

import pytest

from kasset.errors import HistoryError
from kasset.history import RetentionPolicy, RetentionRules


def test_rules_from_configuration_override_the_installation_per_graph() -> None:
    rules = RetentionRules.from_mapping(
        {"days": 30, "runs": 1000, "graphs": {"data/nightly": {"days": 365}}}
    )
    assert rules.default == RetentionPolicy(days=30, runs=1000)
    assert rules.for_graph("data", "nightly") == RetentionPolicy(days=365)
    assert rules.for_graph("other", "nightly") == RetentionPolicy(days=30, runs=1000)
    assert RetentionRules.from_mapping({}) == RetentionRules()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"days": "90"}, r"retention\.days must be a number of days, not '90'"),
        ({"runs": 1.5}, r"retention\.runs must be a whole number"),
        ({"runs": True}, r"retention\.runs must be a whole number"),
        ({"keep": 3}, r"retention has unknown field\(s\) keep"),
        ({"days": 0}, r"retention: retention days must be positive"),
        ({"graphs": {"nightly": {"days": 1}}}, r"key 'nightly' is not namespace/graph"),
        ({"graphs": {"a/b": {"runs": 0}}}, r"retention\.graphs\['a/b'\]: retention runs"),
        ({"graphs": {"a/b": 5}}, r"retention\.graphs\['a/b'\] must be a mapping"),
        ({"graphs": [1]}, r"retention\.graphs must map namespace/graph"),
    ],
)
def test_a_mistake_in_the_rules_is_a_one_line_error_saying_where(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(HistoryError, match=message):
        RetentionRules.from_mapping(data)
