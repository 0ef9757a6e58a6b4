"""Fixtures for the git-integration tests: hooks, merge driver, checks, CI recipes.

Hooks are run by git itself, so these tests drive real `git` in real repositories with
the installed `mreg` console script on PATH (the venv's bin folder is put first).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Cli, CliResult, git, write

VENV_BIN = Path(sys.executable).parent
MREG = VENV_BIN / "mreg"


def base_env(**extra: str) -> dict[str, str]:
    """The (already isolated) environment with the venv's bin first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("MREG_SKIP_HOOKS", None)
    env.update(extra)
    return env


def run(
    cwd: Path, *cmd: str, input: str | None = None, env: dict[str, str] | None = None
) -> CliResult:
    """Any command (git, sh, mreg) in cwd with mreg on PATH; never raises."""
    done = subprocess.run(
        list(cmd),
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        input=input,
        env=env or base_env(),
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def mreg(cwd: Path, *args: str, input: str | None = None, **extra: str) -> CliResult:
    return run(cwd, str(MREG), *args, input=input, env=base_env(**extra))


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return result


def commit_all(root: Path, message: str) -> CliResult:
    """`git add -A && git commit` through git, hooks and all."""
    ok(run(root, "git", "add", "-A"))
    return run(root, "git", "commit", "-q", "-m", message)


def inproc(root: Path, *args: str) -> CliResult:
    """Run mreg in this process (no interpreter start-up) as if from root."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        return Cli()(*args)
    finally:
        os.chdir(cwd)


def add_churn(root: Path, *metrics: str, data: str = "bytes-1") -> None:
    """`mreg add churn out/model.pkl -m M...` through the installed console script."""
    write(root / "out" / "model.pkl", data)
    args = ["add", "churn", "out/model.pkl"]
    for m in metrics:
        args += ["-m", m]
    res = mreg(root, *args)
    assert res.exit_code == 0, res.stderr


def append_gates(root: Path, text: str) -> None:
    """Append text (a `checks:` section) to .mreg/config.yaml."""
    with open(root / ".mreg" / "config.yaml", "a", encoding="utf-8") as f:
        f.write(text)


def add_model(root: Path, name: str, data: str, *metrics: str, path: str = "") -> None:
    rel = path or f"out/{name}.pkl"
    write(root / rel, data)
    args = ["add", name, rel]
    for m in metrics:
        args += ["-m", m]
    ok(inproc(root, *args))


@pytest.fixture(autouse=True)
def mreg_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """git (also through tests.helpers.git) runs the hooks, which need mreg on PATH."""
    monkeypatch.setenv("PATH", base_env()["PATH"])
    monkeypatch.delenv("MREG_SKIP_HOOKS", raising=False)


@pytest.fixture
def mrepo(repo: Path) -> Iterator[Path]:
    """An initialised repository with model churn v1 committed and mreg's hooks in."""
    add_model(repo, "churn", "model-one", "auc=0.9")
    ok(commit_all(repo, "churn v1"))
    ok(inproc(repo, "hooks", "install"))
    ok(commit_all(repo, "mreg hooks"))
    yield repo


def hooks_dir(root: Path) -> Path:
    return Path(git(root, "rev-parse", "--path-format=absolute", "--git-path", "hooks").strip())
