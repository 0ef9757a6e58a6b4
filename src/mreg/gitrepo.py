"""Every git call mreg makes. GitPython is imported here and nowhere else.

Layer: infrastructure, under registry. Finding the work tree's top is done without git
(a walk up to `.git`) so that hooks and `--version` stay fast; everything else goes
through one GitPython `Repo`, opened lazily and closed by `close()`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mreg.errors import GitError, NotAGitRepo


def find_toplevel(start: Path) -> Path:
    """The work tree that contains `start` (a `.git` folder or file above it)."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    raise NotAGitRepo(
        f"not a git repository (or any parent up to /): {start}",
        hint="run git init first, or use -C PATH",
    )


class GitRepo:
    """A git work tree. Open with `GitRepo(root)`, close with `close()`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._repo: Any = None

    @property
    def repo(self) -> Any:
        if self._repo is None:
            import git

            try:
                self._repo = git.Repo(self.root)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
                raise NotAGitRepo(f"not a git repository: {self.root} ({exc})") from None
        return self._repo

    def close(self) -> None:
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _git(self, *args: str, **kwargs: Any) -> str:
        import git

        try:
            return str(self.repo.git.execute(["git", *args], **kwargs))
        except git.GitCommandError as exc:
            detail = (exc.stderr or "").strip().splitlines()
            raise GitError(f"git {args[0]} failed: {detail[-1] if detail else exc}") from None

    def head_commit(self) -> str | None:
        """The full sha of HEAD, or None in a repository with no commits yet."""
        try:
            return str(self.repo.head.commit.hexsha)
        except ValueError:
            return None

    def identity(self) -> str | None:
        """`Name <email>` from git config (as a commit would record it), if configured."""
        reader = self.repo.config_reader()
        name = os.environ.get("GIT_AUTHOR_NAME") or reader.get_value("user", "name", "")
        email = os.environ.get("GIT_AUTHOR_EMAIL") or reader.get_value("user", "email", "")
        if not name and not email:
            return None
        return f"{name} <{email}>".strip()

    def is_dirty(self, exclude: tuple[str, ...] = ()) -> bool:
        """True when tracked files differ from HEAD (staged or not), outside `exclude`."""
        specs = ["--", ".", *[f":(exclude){p}" for p in exclude]]
        out = self._git("status", "--porcelain", "--untracked-files=no", *specs)
        return bool(out.strip())

    def tracked_under(self, relpath: str) -> list[str]:
        """Files git tracks at relpath or below it (empty when none)."""
        out = self._git("ls-files", "-z", "--", f":(literal){relpath}")
        return [p for p in out.split("\0") if p]

    def path_states(self, relpaths: list[str]) -> dict[str, str]:
        """For each path with changes against HEAD: 'new', 'modified' or 'deleted'."""
        if not relpaths:
            return {}
        out = self._git(
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--",
            *[f":(literal){p}" for p in relpaths],
        )
        states: dict[str, str] = {}
        records = out.split("\0")
        i = 0
        while i < len(records):
            rec = records[i]
            i += 1
            if len(rec) < 4:
                continue
            xy, path = rec[:2], rec[3:]
            if xy[0] in "RC":
                i += 1  # the rename's source path follows
            if xy == "??" or xy[0] == "A":
                states[path] = "new"
            elif "D" in xy:
                states[path] = "deleted"
            else:
                states[path] = "modified"
        return states

    def commit_paths(self, relpaths: list[str], message: str) -> str:
        """Stage and commit exactly these paths (other staged changes stay staged)."""
        self._git("add", "--", *relpaths)
        self._git("commit", "--quiet", "-m", message, "--only", "--", *relpaths)
        head = self.head_commit()
        if head is None:
            raise GitError("git commit made no commit")
        return head
