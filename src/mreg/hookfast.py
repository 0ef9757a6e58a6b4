"""The git hooks' fast path: "nothing to do" answered with nothing but `os` and `sys`.

Layer: bottom (imports only the standard library's always-loaded modules). git runs
`mreg hook pre-commit` on every commit; when no card is staged this answers before
typer, gitpython, rich, yaml, fsspec, even dataclasses, pathlib or subprocess are
imported, so the hook costs little more than starting Python (benchmarks/bench_hooks.py).
`mreg.hooks` holds everything else.
"""

from __future__ import annotations

import os
import sys

SKIP_ENV = "MREG_SKIP_HOOKS"
MODELS_PREFIX = ".mreg/models/"


def skipped() -> bool:
    """True when MREG_SKIP_HOOKS asks every mreg hook to do nothing."""
    return os.environ.get(SKIP_ENV, "").strip().lower() in ("1", "true", "yes")


def is_card_path(path: str) -> bool:
    """A card file: `.mreg/models/<name>.yaml` (hidden files like .gitkeep are not)."""
    return (
        path.startswith(MODELS_PREFIX)
        and path.endswith(".yaml")
        and not path.rsplit("/", 1)[-1].startswith(".")
    )


def _git_stdout(args: list[str]) -> bytes | None:
    """stdout of `git args` run in this folder (stderr dropped); None if it failed."""
    argv = ["git", *args]
    if not hasattr(os, "posix_spawnp"):  # pragma: no cover - Windows
        import subprocess

        done = subprocess.run(argv, capture_output=True)
        return done.stdout if done.returncode == 0 else None
    read_end, write_end = os.pipe()
    try:
        pid = os.posix_spawnp(
            "git",
            argv,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, write_end, 1),
                (os.POSIX_SPAWN_CLOSE, read_end),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ],
        )
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    os.close(write_end)
    chunks = []
    with os.fdopen(read_end, "rb") as pipe:
        while True:
            chunk = pipe.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    return b"".join(chunks) if os.waitstatus_to_exitcode(status) == 0 else None


def staged_card_paths() -> list[str] | None:
    """Cards added, copied, modified or retyped in the index (GIT_INDEX_FILE honoured);
    None when git could not tell (not a repository: the full hook reports it)."""
    out = _git_stdout(
        [
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            "--diff-filter=ACMT",
            "--",
            ":(top,literal).mreg/models",
        ]
    )
    if out is None:
        return None
    paths = out.decode("utf-8", "surrogateescape").split("\0")
    return [p for p in paths if is_card_path(p)]


def fast_path(args: list[str]) -> int | None:
    """The exit code of a hook that has nothing to do, found cheaply; None: run it fully.

    pre-commit with no card staged, post-checkout of files (not a branch), and
    MREG_SKIP_HOOKS=1 end here.
    """
    if skipped():
        return 0
    if not args:
        return None
    name, rest = args[0], args[1:]
    if name == "post-checkout" and len(rest) >= 3 and rest[2] != "1":
        return 0
    if name == "pre-commit":
        staged = staged_card_paths()
        return 0 if staged == [] else None
    return None


if __name__ == "__main__":  # pragma: no cover - `python -m mreg.hookfast pre-commit`
    code = fast_path(sys.argv[1:])
    sys.exit(0 if code is None else code)
