"""A repository with mreg in it: where things live, its config, cache, lock and git.

Layer: core, above store/config/gitrepo and below registry. `Project.open()` finds the
work tree from any folder inside it; `init()` creates `.mreg/`.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mreg import config as config_mod
from mreg.errors import (
    InvalidArgument,
    InvalidConfig,
    LockTimeout,
    NotInitialised,
    StorageError,
)
from mreg.fsutil import atomic_write
from mreg.gitrepo import GitRepo, find_toplevel
from mreg.statecache import StateCache
from mreg.store import Store

MREG_DIR = ".mreg"
GITIGNORE_TEXT = """\
# written by mreg init: local state never goes into git
/cache/
/tmp/
/config.local.yaml
"""


@dataclass
class Project:
    """An initialised repository. Close it (or use `with`) to release git and sqlite."""

    root: Path
    _config: config_mod.Config | None = None
    _git: GitRepo | None = None
    _store: Store | None = None
    _state: StateCache | None = None
    # Tags are listed once per command (one `git for-each-ref`), then reused.
    tag_cache: list[Any] | None = None

    @classmethod
    def open(cls, start: Path | None = None) -> Project:
        """The project containing `start` (default: the current folder)."""
        root = find_toplevel(start or Path.cwd())
        check_initialised(root)
        return cls(root=root)

    @property
    def mreg_dir(self) -> Path:
        return self.root / MREG_DIR

    @property
    def models_dir(self) -> Path:
        return self.mreg_dir / "models"

    @property
    def tmp_dir(self) -> Path:
        return self.mreg_dir / "tmp"

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            try:
                self._config = config_mod.load(self.mreg_dir, self.state)
            except InvalidConfig as exc:
                if exc.hint is None:  # where to look, for every setting's message
                    exc.hint = _config_hint(exc, init=False)
                raise
        return self._config

    @property
    def cache_dir(self) -> Path:
        return self.config.cache_dir or (self.mreg_dir / "cache")

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.cache_dir, fsync=self.config.fsync)
        return self._store

    @property
    def state(self) -> StateCache:
        if self._state is None:
            self._state = StateCache(self.tmp_dir / "hashstate.sqlite")
        return self._state

    @property
    def git(self) -> GitRepo:
        if self._git is None:
            self._git = GitRepo(self.root)
        return self._git

    def card_path(self, name: str) -> Path:
        return self.models_dir / f"{name}.yaml"

    def relpath(self, path: Path) -> str:
        """POSIX path relative to the work tree's top."""
        return path.relative_to(self.root).as_posix()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold `.mreg/tmp/lock` while writing; time out naming the process that holds it."""
        from mreg import lockfile

        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        path = self.tmp_dir / "lock"
        owner = self.tmp_dir / "lock.owner"
        timeout = self.config.lock_timeout
        if os.environ.get("MREG_LOCK_TIMEOUT"):
            try:
                timeout = float(os.environ["MREG_LOCK_TIMEOUT"])
            except ValueError:
                timeout = math.nan
            if not config_mod.is_timeout(timeout):
                raise InvalidArgument(
                    f"MREG_LOCK_TIMEOUT={os.environ['MREG_LOCK_TIMEOUT']!r}"
                    " is not a number of seconds",
                    hint="e.g. MREG_LOCK_TIMEOUT=60",
                )
        try:
            release = lockfile.acquire(str(path), timeout)
        except lockfile.LockTimeout:
            holder = "another mreg process"
            with contextlib.suppress(OSError):
                holder = f"process {owner.read_text().strip()}"
            raise LockTimeout(
                f"{path.relative_to(self.root)} is held by {holder} (waited {timeout:g}s)",
                hint="wait for it to finish, or set MREG_LOCK_TIMEOUT",
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot take {path}: {exc.strerror}") from None
        try:
            with contextlib.suppress(OSError):
                owner.write_text(f"{os.getpid()}\n")
            yield
        finally:
            with contextlib.suppress(OSError):
                owner.unlink()
            release()

    def close(self) -> None:
        if self._git is not None:
            self._git.close()
            self._git = None
        if self._state is not None:
            self._state.close()
            self._state = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_initialised(root: Path) -> None:
    """NotInitialised when `root` has no `.mreg/config.yaml`; InvalidConfig when something
    other than a file is in its place (`mreg init` never replaces it, so it cannot help)."""
    path = root / MREG_DIR / "config.yaml"
    if path.is_file():
        return
    if not path.exists() and not path.is_symlink():
        raise NotInitialised(f"mreg is not initialised in {root}", hint="run: mreg init")
    _config_not_a_file(path)


def _config_not_a_file(path: Path) -> None:
    """Raise InvalidConfig for a config.yaml that is there but is not a readable file."""
    if path.is_symlink() and not path.exists():
        what = f"is a symbolic link to {os.readlink(path)!r}, which does not exist"
    elif path.is_dir():
        what = "is a folder, not a file"
    else:
        what = "is not a regular file"
    raise InvalidConfig(
        f"{path}: {what}",
        hint=f"move it away, then restore the committed one (git checkout HEAD -- {MREG_DIR}"
        "/config.yaml) or write a default one (mreg init)",
    )


def _config_hint(exc: InvalidConfig, init: bool) -> str:
    """What to do about a config that cannot be used, fitting the file(s) the error names:
    config.local.yaml is not committed (no git diff) and optional; config.yaml is
    committed, and only init can write a default one; both when only their merge is wrong.
    """
    local = f"{MREG_DIR}/{config_mod.LOCAL_NAME}"
    files = exc.files if isinstance(exc, config_mod.ConfigFileError) else ()
    names = {p.name for p in files} or {config_mod.MAIN_NAME}
    if names == {config_mod.LOCAL_NAME}:
        return f"fix {local} by hand, or move it away (it is optional, and not committed)"
    if config_mod.LOCAL_NAME in names:
        return (
            f"fix by hand: {local} is merged over {MREG_DIR}/config.yaml, key by key;"
            f" git diff {MREG_DIR}/config.yaml shows what changed in the committed one"
        )
    if init:
        return (
            f"fix {MREG_DIR}/config.yaml by hand, or move it away and rerun mreg init"
            " to write a default one (init never overwrites a config)"
        )
    return (
        f"fix that file by hand; git diff {MREG_DIR}/config.yaml shows what changed"
        " in the committed one"
    )


def _check_existing_config(mreg_dir: Path) -> None:
    """InvalidConfig, with a hint, when the config already in `mreg_dir` cannot be used:
    init keeps a user's config, so it must say so rather than report "initialised"."""
    if not mreg_dir.is_dir():
        return
    path = mreg_dir / "config.yaml"
    if (path.exists() or path.is_symlink()) and not path.is_file():
        _config_not_a_file(path)
    try:
        config_mod.load(mreg_dir)
    except InvalidConfig as exc:
        if exc.hint is None:
            exc.hint = _config_hint(exc, init=True)
        raise


def init(start: Path | None = None) -> tuple[Project, bool]:
    """Create `.mreg/` in the work tree containing `start`; (project, created_anything).
    A config already there is never replaced: one mreg cannot read is InvalidConfig."""
    root = find_toplevel(start or Path.cwd())
    mreg_dir = root / MREG_DIR
    _check_existing_config(mreg_dir)
    created = False
    for folder in (mreg_dir, mreg_dir / "models"):
        if not folder.is_dir():
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create {folder}: {exc.strerror}") from None
            created = True
    for name, text in (
        ("config.yaml", config_mod.DEFAULT_CONFIG_TEXT),
        (".gitignore", GITIGNORE_TEXT),
    ):
        path = mreg_dir / name
        if not path.exists():
            atomic_write(path, text.encode())
            created = True
    # git does not keep empty folders: a placeholder keeps models/ in a fresh clone.
    keep = mreg_dir / "models" / ".gitkeep"
    if not keep.exists() and not any((mreg_dir / "models").iterdir()):
        atomic_write(keep, b"", fsync=False)
        created = True
    return Project(root=root), created
