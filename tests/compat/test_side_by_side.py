"""The same project text, imported under Dagster (bench/.venv, `hack/bench-env`) and
under kasset with only its import line changed, gives the same run success, materialized
keys, check results, metadata and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
BENCH_PYTHON = ROOT / "bench" / ".venv" / "bin" / "python"
OUTCOME = Path(__file__).with_name("outcome.py")
PROJECTS = ROOT / "tests" / "e2e" / "projects"


def outcome(python: Path | str, lib: str, project: Path, config: dict[str, Any], work: Path) -> Any:
    work.mkdir()
    env = {**os.environ, "KASSET_E2E_TOKEN": "compat-token", "DAGSTER_HOME": str(work)}
    done = subprocess.run(
        [str(python), str(OUTCOME), lib, str(project), json.dumps(config), str(work)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for metadata in result["materialized"].values():  # where each IO manager stored it
        if str(metadata.get("path", "")).startswith(("/tmp/tmp", str(work))):
            del metadata["path"]
        for stored in ("format", "bytes"):
            metadata.pop(stored, None)
    return result


@pytest.mark.parametrize("rows", [2, 4])
def test_the_dagster_style_project_gives_the_same_outcome_under_both(
    rows: int, tmp_path: Path
) -> None:
    if not BENCH_PYTHON.exists():
        pytest.fail("Dagster is not installed for the comparison: run hack/bench-env first")
    config = {"ops": {"numbers": {"config": {"rows": rows}}}}
    project = PROJECTS / "dagster_style.py"
    theirs = outcome(BENCH_PYTHON, "dagster", project, config, tmp_path / "dagster")
    ours = outcome(sys.executable, "kasset", project, config, tmp_path / "kasset")
    assert theirs["success"] is True
    assert ours == theirs
