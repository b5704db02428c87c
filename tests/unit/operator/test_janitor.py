"""Which finished runs the history limit removes."""

from kasset.operator.runs.janitor import FinishedRun, beyond_history


def test_the_newest_runs_are_kept() -> None:
    runs = [FinishedRun("ns", f"r{i}", "g", completion=float(i)) for i in range(5)]
    assert [r.name for r in beyond_history(runs, 3)] == ["r1", "r0"]
    assert beyond_history(runs, 10) == []
