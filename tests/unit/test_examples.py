"""The example projects work: in-process with `materialize()`, and as a user runs them,
with `kasset materialize --local` (one subprocess per step)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kasset import AssetKey, materialize
from kasset.definitions import Definitions, StepKey
from kasset.local.loading import load_definitions
from kasset.plan import StepPhase

needs_pandas = pytest.mark.skipif(
    importlib.util.find_spec("pandas") is None, reason="the population example needs pandas"
)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WEEK = [f"2024-01-0{day}" for day in range(1, 8)]


def example(name: str) -> Definitions:
    return load_definitions(str(EXAMPLES / name / "definitions.py"))[1]


def kasset_local(name: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "kasset",
        "materialize",
        str(EXAMPLES / name / "definitions.py"),
        "--local",
        "--storage",
        str(tmp_path / "storage"),
        *args,
    ]
    return subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )


def stored(tmp_path: Path, key: str, partition: str | None = None) -> Any:
    from kasset.runtime.io_managers import FilesystemIOManager, InputContext

    manager = FilesystemIOManager(str(tmp_path / "storage"))
    return manager.load_input(InputContext(AssetKey.from_string(key), partition))


def summary_phases(output: str) -> dict[str, str]:
    """{step: phase} from the summary table the executor prints at the end."""
    table = output.split("\nSTEP ", 1)[1].split("\nrun ", 1)[0]
    return {row.split()[0]: row.split()[1] for row in table.splitlines()[1:]}


def assert_population_stats(stats: Any) -> None:
    assert list(stats.index) == [
        "Africa",
        "Asia",
        "Europe",
        "North America",
        "Oceania",
        "South America",
    ]
    assert stats.loc["Europe", "pop_change_factor"] == pytest.approx(-0.5775)
    assert stats.loc["Africa", "pop_change_factor"] == pytest.approx(2.30625)
    assert stats.loc["Oceania", "pop2023"] == 26439111 + 10329931 + 5228100 + 936375


@needs_pandas
def test_population_in_process_matches_dagsters_readme() -> None:
    result = materialize(example("population"))
    populations = result.output_for("country_populations")
    assert len(populations) == 41
    assert set(populations.columns) >= {"country", "continent", "pop2022", "pop2023", "change"}
    model = result.output_for("continent_change_model")
    assert len(model.coef_) == 6
    assert_population_stats(result.output_for("continent_stats"))


@needs_pandas
def test_population_with_the_local_executor(tmp_path: Path) -> None:
    run = kasset_local("population", "-j", "2", tmp_path=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert summary_phases(run.stdout) == {
        "country_populations": "Succeeded",
        "continent_change_model": "Succeeded",
        "continent_stats": "Succeeded",
    }
    assert_population_stats(stored(tmp_path, "continent_stats"))


def test_partitioned_week_in_process_fans_into_the_report() -> None:
    defs = example("partitioned")
    result = materialize(defs, partition_keys=WEEK)
    assert result.output_for("page_views", "2024-01-03") == {"home": 3, "pricing": 30, "docs": 300}
    assert result.output_for("daily_total", "2024-01-07") == 777
    assert result.output_for("weekly_report") == {
        "days": 7,
        "views": 3108,
        "busiest_day": "2024-01-07",
    }
    assert defs.schedules["nightly"].selection == "group:web"


def test_partitioned_backfill_and_single_day_with_the_local_executor(tmp_path: Path) -> None:
    day = kasset_local(
        "partitioned", "--partition", "2024-01-03", "--select", "group:web", tmp_path=tmp_path
    )
    assert day.returncode == 0, day.stdout + day.stderr
    assert set(summary_phases(day.stdout)) == {"page_views[2024-01-03]", "daily_total[2024-01-03]"}
    assert stored(tmp_path, "daily_total", "2024-01-03") == 333

    week = kasset_local(
        "partitioned", "--partition-range", "2024-01-01..2024-01-07", tmp_path=tmp_path
    )
    assert week.returncode == 0, week.stdout + week.stderr
    assert len(summary_phases(week.stdout)) == 15
    assert stored(tmp_path, "weekly_report") == {
        "days": 7,
        "views": 3108,
        "busiest_day": "2024-01-07",
    }


def test_checks_and_retries_in_process() -> None:
    defs = example("checks_and_retries")
    diamond = materialize(defs, selection="group:diamond")
    assert diamond.output_for("number_summary") == {"evens": 30, "odds": 25, "count": 10}
    assert diamond.step_states[StepKey(AssetKey("raw_numbers"))].attempts == 2

    strict = materialize(defs, selection="group:strict", raise_on_error=False)
    assert not strict.success
    assert strict.failed_steps == [StepKey(AssetKey("sensor_readings"))]
    assert strict.step_states[StepKey(AssetKey("published_readings"))].phase is StepPhase.SKIPPED


def test_checks_and_retries_with_the_local_executor(tmp_path: Path) -> None:
    good = kasset_local("checks_and_retries", "--select", "group:diamond", tmp_path=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "failed raw_numbers (attempt 1)" in good.stdout
    assert stored(tmp_path, "number_summary") == {"evens": 30, "odds": 25, "count": 10}

    bad = kasset_local("checks_and_retries", "--select", "group:strict", tmp_path=tmp_path)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert summary_phases(bad.stdout) == {
        "sensor_readings": "Failed",
        "published_readings": "Skipped",
    }
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize("name", ["population", "partitioned", "checks_and_retries"])
def test_every_example_compiles_to_an_asset_graph(name: str, tmp_path: Path) -> None:
    from kasset.cli import main

    output = tmp_path / "graph.yaml"
    definitions = str(EXAMPLES / name / "definitions.py")
    assert (
        main(
            [
                "compile",
                definitions,
                "--image",
                "me/x:1",
                "--name",
                name.replace("_", "-"),
                "-o",
                str(output),
            ]
        )
        == 0
    )
    text = output.read_text()
    assert f"module: examples.{name}.definitions" in text
    assert ("partitions: daily" in text) == (name == "partitioned")
