"""Helpers for the reliability campaigns: run (and kill) the installed console script, and
check the invariants every campaign asserts after every trial.

Scale with environment variables (the fast subset in `make test` uses the defaults):

- `MREG_RELIABILITY_TRIALS`: kill trials per command and rounds per concurrency case.
  Setting it makes a full run (`make reliability` uses 40); unset, the fast subset runs
  one trial of each campaign and skips the slowest cases.
- `MREG_RELIABILITY_EXAMPLES`: hypothesis examples per property (100; full: 1000).
- `MREG_RELIABILITY_MIB`: size of the model files the kill trials write (8; full: 32).
- `MREG_RELIABILITY_SEED`: the seed of every random choice (default 7), printed on failure.
"""

from __future__ import annotations

import collections
import hashlib
import os
import random
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from mreg import card as card_mod
from mreg.card import Card
from tests.helpers import CliResult

T = TypeVar("T")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


# Full runs (make reliability) set MREG_RELIABILITY_TRIALS; the default run is the fast
# subset: one trial per campaign, smaller files, the slowest cases left to the full run.
FULL = bool(os.environ.get("MREG_RELIABILITY_TRIALS", "").strip())
TRIALS = _env_int("MREG_RELIABILITY_TRIALS", 1)
EXAMPLES = _env_int("MREG_RELIABILITY_EXAMPLES", 1000 if FULL else 100)
MIB = 1 << 20
SIZE = _env_int("MREG_RELIABILITY_MIB", 32 if FULL else 8) * MIB
SEED = _env_int("MREG_RELIABILITY_SEED", 7)

full_only = pytest.mark.skipif(not FULL, reason="full campaign only: make reliability")


def sample(items: list[T], every: int = 4) -> list[T]:
    """All items in a full run, every n-th in the fast subset."""
    return items if FULL else items[::every]


# campaign -> outcome -> count; printed by conftest's terminal summary.
STATS: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)


def rng(*salt: object) -> random.Random:
    """A Random seeded by SEED and the campaign's own salt (stable across runs)."""
    return random.Random(f"{SEED}:{':'.join(map(str, salt))}")


def mreg_script() -> Path:
    return Path(sys.executable).parent / "mreg"


def oid_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def oid_of_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(4 * MIB):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


# ------------------------------------------------------------------------------ running


def run(cwd: Path, *args: str, env: dict[str, str] | None = None, ok: bool = True) -> CliResult:
    """Run `mreg ARGS` to completion; with ok, fail the test unless it exits 0."""
    done = subprocess.run(
        [str(mreg_script()), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=None if env is None else {**os.environ, **env},
    )
    result = CliResult(done.returncode, done.stdout, done.stderr)
    if ok:
        assert result.exit_code == 0, (args, result.exit_code, result.stdout, result.stderr)
    return result


def start(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `mreg ARGS` in its own process group (so a kill takes its git children too)."""
    return subprocess.Popen(
        [str(mreg_script()), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=None if env is None else {**os.environ, **env},
    )


def run_and_kill(cwd: Path, args: Iterable[str], delay: float) -> int | None:
    """Run `mreg ARGS`, SIGKILL its process group after `delay` seconds.

    Returns the exit code when it finished first, None when it was killed.
    """
    proc = start(cwd, *args)
    try:
        proc.communicate(timeout=delay)  # the random kill delay: the only wait we allow
        return proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None


# ------------------------------------------------------------------------------ invariants


class CacheChecker:
    """Re-hash every blob of a cache, each file once (blobs are immutable: a file whose
    inode, size and mtime did not change since it was checked is not read again)."""

    def __init__(self, cache: Path, read_only: bool = True) -> None:
        self.cache = cache
        self.read_only = read_only
        self._seen: dict[Path, tuple[int, int, int]] = {}

    def check(self) -> set[str]:
        """The oids stored; fails the test on a blob whose bytes differ from its name,
        a stray file in the fan-out, or a writable blob."""
        base = self.cache / "sha256"
        found: set[str] = set()
        if not base.is_dir():
            return found
        for head in sorted(os.listdir(base)):
            folder = base / head
            assert re.fullmatch(r"[0-9a-f]{2}", head) and folder.is_dir(), folder
            for tail in sorted(os.listdir(folder)):
                path = folder / tail
                assert re.fullmatch(r"[0-9a-f]{62}", tail), f"stray file in the cache: {path}"
                st = path.stat()
                assert stat.S_ISREG(st.st_mode), path
                assert not (self.read_only and st.st_mode & 0o222), f"blob {path} is writable"
                key = (st.st_ino, st.st_size, st.st_mtime_ns)
                oid = f"sha256:{head}{tail}"
                if self._seen.get(path) != key:
                    got = oid_of_file(path)
                    assert got == oid, f"blob {oid} holds bytes that hash to {got}"
                    self._seen[path] = key
                found.add(oid)
        return found


def card_texts(root: Path) -> dict[str, bytes]:
    """name -> raw bytes of every card file in the work tree."""
    base = root / ".mreg" / "models"
    out: dict[str, bytes] = {}
    for here, _dirs, files in os.walk(base):
        for name in files:
            if name.endswith(".yaml") and not name.startswith("."):
                path = Path(here) / name
                out[path.relative_to(base).as_posix()[: -len(".yaml")]] = path.read_bytes()
    return out


def parse_cards(root: Path) -> dict[str, Card]:
    """Every card, parsed: fails the test when one does not."""
    return {
        name: card_mod.loads(text, source=name, expected_name=name)
        for name, text in card_texts(root).items()
    }


TEMP_RE = re.compile(r"\.tmp$")


def leftovers(root: Path) -> list[str]:
    """Temporary files (`*.tmp`) anywhere in the work tree and in .mreg/, but not in .git
    and not in the cache's partial/ folder (which `gc` owns)."""
    found = []
    for here, dirs, files in os.walk(root):
        rel = Path(here).relative_to(root).as_posix()
        if rel == ".":
            dirs[:] = [d for d in dirs if d != ".git"]
        if rel == ".mreg/cache":
            dirs[:] = [d for d in dirs if d != "partial"]
        for name in [*files, *dirs]:
            if TEMP_RE.search(name):
                found.append(name if rel == "." else f"{rel}/{name}")
    return sorted(found)


def partials(cache: Path) -> list[Path]:
    base = cache / "partial"
    return sorted(base.iterdir()) if base.is_dir() else []


def git_locks(root: Path) -> list[str]:
    """`*.lock` files git leaves when it is killed while writing a ref or the index."""
    git_dir = root / ".git"
    return sorted(p.relative_to(git_dir).as_posix() for p in git_dir.rglob("*.lock"))


_COMMANDS: set[str] | None = None


def has_command(name: str) -> bool:
    """True when the installed mreg has this command (remotes are being written)."""
    global _COMMANDS
    if _COMMANDS is None:
        out = subprocess.run(
            [str(mreg_script()), "--help"], capture_output=True, text=True, check=True
        ).stdout
        section = out.split("Commands:", 1)[-1]
        _COMMANDS = {line.split()[0] for line in section.splitlines() if line.strip()}
    return name in _COMMANDS


def dir_digests(folder: Path) -> dict[str, str]:
    """Every file below folder: POSIX relative path -> oid (symlinks followed)."""
    out = {}
    for here, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(here) / name
            out[path.relative_to(folder).as_posix()] = oid_of_file(path)
    return out


@dataclass
class Payload:
    """Model bytes for the trials: one large random buffer, each variant a new header."""

    size: int
    seed: object
    base: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.base = rng("payload", self.seed).randbytes(self.size)

    def variant(self, n: int) -> bytes:
        head = hashlib.sha256(f"{self.seed}:{n}".encode()).digest()
        return head + self.base[len(head) :]


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
