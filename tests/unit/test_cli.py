"""The `kasset` command: user mistakes are one line and exit 2, runs exit by outcome,
optional features explain what to install, and the command imports little."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kasset.cli import main

CYCLE = """
from kasset import Definitions, asset

@asset
def first(second):
    return second

@asset
def second(first):
    return first

defs = Definitions(assets=[first, second])
"""

MISSING_UPSTREAM = """
from kasset import Definitions, asset

@asset
def report(ordrs):
    return ordrs

@asset
def orders():
    return [1]

defs = Definitions(assets=[report, orders])
"""

GOOD = """
from kasset import Definitions, StaticPartitionsDefinition, asset

@asset
def numbers():
    return [1, 2, 3]

@asset
def total(numbers):
    return sum(numbers)

@asset(partitions_def=StaticPartitionsDefinition(["eu", "us"]))
def regional():
    return 1

defs = Definitions(assets=[numbers, total, regional])
"""

FAILING = """
from kasset import Definitions, asset

@asset
def broken():
    raise ValueError("no data today")

@asset
def after(broken):
    return broken

defs = Definitions(assets=[broken, after])
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name, source in {
        "cli_cycle": CYCLE,
        "cli_missing": MISSING_UPSTREAM,
        "cli_good": GOOD,
        "cli_failing": FAILING,
    }.items():
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("cli_"):
            del sys.modules[name]


def kasset(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kasset", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"kasset: error: {message}"]


def test_a_cycle_is_one_line_on_stderr_and_exit_2(project: Path) -> None:
    result = kasset("materialize", "cli_cycle", "--local", cwd=project)
    assert_one_line_error(result, "the asset graph has a cycle: first -> second -> first")


def test_a_missing_upstream_is_one_line_on_stderr_and_exit_2(project: Path) -> None:
    result = kasset("compile", "cli_missing.py", "--image", "me/x:1", cwd=project)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "kasset: error: asset 'report' depends on 'ordrs', which is not "
        "defined (did you mean 'orders'?)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "totl"], "no asset 'totl' in the graph (did you mean 'total'?)"),
        (
            ["--select", "regional"],
            "asset 'regional' is partitioned: choose the partitions to materialize",
        ),
        (["--select", "regional", "--partition", "mars"], "unknown partition key 'mars'"),
        (
            ["--select", "total", "--partition", "eu"],
            "none of the selected assets is partitioned: drop the partition",
        ),
        (
            ["--select", "regional", "--partition-range", "eu"],
            "--partition-range 'eu': expected A..B",
        ),
    ],
)
def test_selection_and_partition_mistakes_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["materialize", "cli_good", "--local", *args]) == 2
    assert capsys.readouterr().err == f"kasset: error: {message}\n"


def test_a_missing_module_is_a_code_location_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", "cli_nowhere"]) == 2
    assert capsys.readouterr().err.startswith("kasset: error: cannot import 'cli_nowhere': no such")


def test_graph_lists_assets_with_their_upstreams(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", "cli_good:defs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "numbers  group=default"
    assert lines[2] == "total  group=default  <- numbers"


def test_no_command_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: kasset" in capsys.readouterr().err


def test_cluster_mode_without_the_operator_explains_what_to_install(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "kasset.submit", None)
    assert main(["materialize", "my-graph", "--wait"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kasset: error: cluster mode is not available")
    assert "pip install kasset[operator]" in err


def test_cluster_mode_refuses_a_code_location(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["materialize", "pkg.defs:defs"]) == 2
    assert "add --local" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "module"),
    [
        (["dev", "cli_good"], "kasset.ui.cli"),
        (["operator"], "kasset.operator.process.main"),
        (["graph", "cli_good", "--svg", "out.svg"], "kasset.ui.cli"),
    ],
)
def test_optional_features_that_are_absent_say_so(
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    module: str,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is not available" in err and err.count("\n") == 1


def test_importing_the_cli_pulls_in_no_heavy_dependencies() -> None:
    code = (
        "import sys, kasset.cli; heavy = {'networkx', 'pydantic', 'kubernetes', 'kopf', "
        "'fastapi', 'fsspec', 'pandas', 'yaml'}; print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_compile_writes_the_asset_graph_yaml(project: Path) -> None:
    pytest.importorskip("kasset.compiler")
    (project / "cli_plain.py").write_text(
        "from kasset import Definitions, asset\n@asset\ndef one():\n    return 1\n"
        "@asset\ndef two(one):\n    return one + 1\nproject = Definitions(assets=[one, two])\n"
    )
    assert (
        main(
            [
                "compile",
                "cli_plain.py",
                "--image",
                "me/proj:1",
                "--name",
                "shop",
                "--namespace",
                "data",
                "-o",
                "graph.yaml",
            ]
        )
        == 0
    )
    text = (project / "graph.yaml").read_text()
    assert "kind: AssetGraph" in text and "name: shop" in text and "namespace: data" in text
    assert "module: cli_plain" in text and "attribute: project" in text


def test_compile_without_an_image_says_which_flag_is_missing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compile", "cli_good"]) == 2
    assert "needs --image" in capsys.readouterr().err


def test_a_failed_local_run_exits_1(project: Path) -> None:
    result = kasset("materialize", "cli_failing", "--local", "-j", "1", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "broken     Failed" in result.stdout or "broken  Failed" in result.stdout
    assert "after" in result.stdout and "Skipped" in result.stdout


def test_runtime_delegates_to_the_step_entrypoint(project: Path) -> None:
    result = kasset("runtime", cwd=project)
    assert result.returncode == 2
    assert "KASSET_RUN" in result.stderr
