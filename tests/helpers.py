"""Helpers shared by the tests: git, the CLI runner, the console script, file snapshots."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

ZERO_OID = "sha256:" + "0" * 64


def git(root: Path, *args: str) -> str:
    """Run git in root; return its stdout (raises CalledProcessError on failure)."""
    done = subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True, encoding="utf-8"
    )
    return done.stdout


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def blob_path(root: Path, oid: str) -> Path:
    """Where a blob lives in the default cache of the repository at root."""
    hexdigest = oid.split(":", 1)[1]
    return root / ".mreg" / "cache" / "sha256" / hexdigest[:2] / hexdigest[2:]


def cache_blobs(root: Path) -> list[Path]:
    base = root / ".mreg" / "cache" / "sha256"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []


def partial_leftovers(root: Path) -> list[Path]:
    """Temp files left under .mreg/cache/partial (there must never be any)."""
    base = root / ".mreg" / "cache" / "partial"
    return sorted(base.iterdir()) if base.is_dir() else []


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file below root (but .git/ and the hash-state cache): relative path ->
    (digest, mode). The cache (`.mreg/tmp/hashstate.sqlite*`) is only an optimisation,
    which read-only commands also fill (hashes, parsed cards)."""
    out: dict[str, tuple[str, int]] = {}
    for here, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            p = Path(here) / name
            if name.startswith("hashstate.sqlite") and p.parent.name == "tmp":
                continue
            if p.is_symlink():
                out[p.relative_to(root).as_posix()] = ("link:" + os.readlink(p), 0)
            else:
                st = p.stat()
                out[p.relative_to(root).as_posix()] = (sha(p.read_bytes()), st.st_mode)
    return out


def card_yaml(
    name: str = "churn",
    path: str = "out/model.pkl",
    oid: str = ZERO_OID,
    kind: str = "file",
    version: int = 1,
    schema: int = 1,
) -> str:
    """A minimal valid card as text (for cards written by hand in tests)."""
    return (
        f"schema: {schema}\n"
        f"name: {name}\n"
        f"version: {version}\n"
        "artifact:\n"
        f"  path: {path}\n"
        f"  oid: '{oid}'\n"
        f"  kind: {kind}\n"
        "  size: 0\n"
        "  files: 1\n"
    )


@dataclass
class CliResult:
    """Exit code, stdout and stderr of one mreg run, kept apart."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        """stdout parsed as the one JSON document a --json command prints."""
        return json.loads(self.stdout)

    @property
    def error_json(self) -> Any:
        """stderr parsed as the JSON error object of a failed --json command."""
        return json.loads(self.stderr)

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()


class Cli:
    """Invoke `mreg.cli.app.app` in-process; stdout and stderr come back separately."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> CliResult:
        from mreg.cli import render
        from mreg.cli.app import app

        # The render state is per process; a fresh process starts clean, so do we.
        render.STATE.json = False
        render.STATE.debug = False
        cwd = os.getcwd()  # -C changes the folder of this very process
        try:
            result = self.runner.invoke(app, list(args), input=input)
        finally:
            os.chdir(cwd)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)


def mreg_script() -> Path:
    """The installed `mreg` console script of the interpreter running the tests."""
    return Path(sys.executable).parent / "mreg"


def run_mreg(cwd: Path, *args: str, python_flags: tuple[str, ...] = ()) -> CliResult:
    """Run the installed console script through a subprocess."""
    cmd = [str(mreg_script()), *args]
    if python_flags:
        cmd = [sys.executable, *python_flags, *cmd]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, encoding="utf-8")
    return CliResult(done.returncode, done.stdout, done.stderr)


def assert_error(result: CliResult, exit_code: int, message: str, hint: str | None = None) -> None:
    """A one-line `mreg: error: ...` (containing message) plus an optional hint line."""
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.lines
    assert lines, "no error message on stderr"
    assert lines[0].startswith("mreg: error: "), lines
    assert message in lines[0], (message, lines[0])
    if hint is None:
        assert len(lines) <= 2, lines
    else:
        assert len(lines) == 2, lines
        assert lines[1].startswith("hint: "), lines
        assert hint in lines[1], (hint, lines[1])


def modules_imported_by(cwd: Path, args: list[str], modules: tuple[str, ...]) -> list[str]:
    """Run `mreg ARGS` in a fresh interpreter (exit 0 asserted); which of `modules` it
    imported."""
    code = (
        "import sys\n"
        "from mreg.cli.main import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        f"print('imported:', *(m for m in {modules!r} if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    last = res.stdout.splitlines()[-1].split()
    assert last[0] == "imported:", res.stdout
    return last[1:]


# Whether a helper process (mreg.forkshare) can start here: Linux, two usable cores.
HELPER_POSSIBLE = sys.platform.startswith("linux") and len(os.sched_getaffinity(0)) >= 2
HELPER_SKIP_REASON = "a helper process needs Linux and two usable cores"


def helper_env(**extra: str) -> dict[str, str]:
    """The environment for a script that expects a helper: without the caller's
    MREG_PROCESSES (which may turn helpers off), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k != "MREG_PROCESSES"}
    env.update(extra)
    return env


def run_helper_script(
    script: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Any:
    """Run `python -c script ARGS` in a fresh interpreter (a helper process forks only
    from a process with no other thread), with helper_env(**env); exit 0 asserted; the
    JSON document it printed."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=helper_env(**(env or {})),
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# Put before a script run in a fresh interpreter (a helper process forks only from a
# process with no other thread): a helper from 8 items on; in the parent, `started`
# lists whether each ForkShare forked one, `redone` how many of its items each helper
# handed back undone, and `leftover_children()` the children not reaped yet.
HELPER_PREAMBLE = """
import os
from mreg import forkshare

forkshare.FORK_FROM = 8
parent = os.getpid()
started, redone = [], []
_real_start, _real_results = forkshare.ForkShare._start, forkshare.ForkShare.results

def _start(self, share, work):
    forked = _real_start(self, share, work)
    if os.getpid() == parent:
        started.append(forked)
    return forked

def _results(self):
    got = _real_results(self)
    if self.theirs:
        redone.append(sum(answer is None for _, answer in got))
    return got

forkshare.ForkShare._start = _start
forkshare.ForkShare.results = _results

def leftover_children():
    found = []
    try:
        while True:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:  # a child still running
                return found + ["running"]
            found.append((pid, status))
    except ChildProcessError:
        return found
"""
