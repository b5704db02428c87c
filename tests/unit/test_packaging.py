"""Packaging and the command line as a user meets them: typed (`py.typed`), a light `cli`
extra for cluster mode, `--version`, `-n`, shell completion, and the image's lock file
agreeing with pyproject.toml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import kasset
from kasset.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("kopf", "fastapi", "uvicorn", "starlette", "jinja2", "prometheus_client")


def test_the_package_is_marked_typed_and_strict_mypy_accepts_a_user_module(
    tmp_path: Path,
) -> None:
    assert (Path(kasset.__file__).parent / "py.typed").is_file()
    user = tmp_path / "user_assets.py"
    user.write_text(
        textwrap.dedent(
            """
            from kasset import AssetExecutionContext, Definitions, asset, asset_check
            from kasset import AssetCheckResult, MaterializeResult, RetryPolicy


            @asset
            def numbers() -> list[int]:
                return [1, 2, 3]


            @asset(group="stats", retry_policy=RetryPolicy(max_retries=1))
            def total(context: AssetExecutionContext, numbers: list[int]) -> MaterializeResult:
                context.log.info("summing")
                return MaterializeResult(value=sum(numbers), metadata={"n": len(numbers)})


            @asset_check(asset=total)
            def positive(total: int) -> AssetCheckResult:
                return AssetCheckResult(passed=total > 0)


            defs = Definitions(assets=[numbers, total], asset_checks=[positive])
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(user)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the repository's mypy configuration
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success" in proc.stdout


def test_cluster_mode_imports_no_operator_or_ui_dependency() -> None:
    """What `kasset[cli]` installs is enough for `kasset materialize GRAPH`: with kopf,
    fastapi, uvicorn, jinja2 and prometheus_client unimportable, the command's modules load
    and build their request."""
    code = textwrap.dedent(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {HEAVY!r}:
                    raise ModuleNotFoundError(f"blocked {{name}}", name=name)
        sys.meta_path.insert(0, Block())
        import kubernetes.client, kubernetes.config
        from kasset import submit
        from kasset.operator.kube import client
        body = submit.build_materialization("demo", selection="raw+")
        print(body["spec"]["selection"], sorted(set({HEAVY!r}) & set(sys.modules)))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "raw+ []"
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert [Requirement(r).name for r in extras["cli"]] == ["kubernetes"]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"kasset {kasset.__version__}"


def test_dash_n_is_the_namespace_as_in_kubectl() -> None:
    parser = build_parser()
    assert parser.parse_args(["materialize", "demo", "-n", "team-a"]).namespace == "team-a"
    assert parser.parse_args(["compile", "pkg.defs", "-n", "team-a"]).namespace == "team-a"


def _script(shell: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "kasset", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _bash_complete(words: list[str]) -> list[str]:
    script = _script("bash")
    line = " ".join(words)
    probe = (
        f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; "
        '_kasset_complete; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_bash_completion_offers_commands_options_and_choices() -> None:
    assert {"compile", "materialize", "dev", "graph", "completion"} <= set(
        _bash_complete(["kasset", ""])
    )
    assert _bash_complete(["kasset", "mat"]) == ["materialize"]
    options = _bash_complete(["kasset", "materialize", "demo", "--"])
    assert {"--select", "--partition", "--wait", "--namespace"} <= set(options)
    assert "--image" not in options  # compile's, not materialize's
    assert _bash_complete(["kasset", "compile", "x", "--image-pull-policy", "N"]) == ["Never"]
    assert _bash_complete(["kasset", "completion", ""]) == ["bash", "zsh"]


def test_zsh_completion_loads_in_zsh() -> None:
    script = _script("zsh")
    zsh = shutil.which("zsh")
    assert zsh, "zsh is needed for this test (apt-get install zsh)"
    probe = f"autoload -U compinit && compinit -u\n{script}\nprint -r -- ${{_comps[kasset]}}"
    out = subprocess.run(
        [zsh, "-f", "-c", probe],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HOME": "/tmp"},
    )
    assert out.returncode == 0, out.stderr
    assert "_kasset_complete" in out.stdout or "_bash_complete" in out.stdout


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["completion", "fish"])
    assert done.value.code == 2
    assert "invalid choice: 'fish'" in capsys.readouterr().err


def _lock() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO / "requirements/image.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, separator, version = line.partition("==")
            assert separator, f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def test_the_image_lock_pins_everything_pyproject_asks_for_the_image() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(text) for text in project["dependencies"]]
    extras, seen = ["operator", "ui", "pandas"], set()
    while extras:  # an extra may name others of kasset's own (`kasset[history]`)
        extra = extras.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in project["optional-dependencies"][extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) == "kasset":
                extras += sorted(req.extras)
            else:
                wanted.append(req)
    pins = _lock()
    for req in wanted:
        pin = pins.get(canonicalize_name(req.name))
        assert pin is not None, f"{req.name} is not in requirements/image.lock"
        assert req.specifier.contains(pin, prereleases=True), f"{req} but the lock has {pin}"
    assert "hatchling" in pins  # the image's build backend
    dockerfile = (REPO / "Dockerfile").read_text()
    assert dockerfile.count("-c /opt/build/image.lock") == 2


def test_the_image_lock_is_closed_under_the_requirements_of_its_pins() -> None:
    """Each pinned package installed here at its pinned version has its own requirements
    pinned in the lock too, at versions it accepts."""
    from importlib import metadata

    pins = _lock()
    checked = 0
    for name, version in pins.items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        checked += 1
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            pin = pins.get(canonicalize_name(req.name))
            assert pin is not None, f"{name} {version} needs {req}, not in the lock"
            assert req.specifier.contains(pin, prereleases=True), f"{name} needs {req}, lock {pin}"
    assert checked >= len(pins) // 2, "the lock and this environment have little in common"
