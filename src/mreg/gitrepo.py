"""Every git call mreg makes. GitPython is imported here and nowhere else.

Layer: infrastructure, under registry. Finding the work tree's top is done without git
(a walk up to `.git`) so that hooks and `--version` stay fast; everything else goes
through one GitPython `Repo`, opened lazily and closed by `close()`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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


@dataclass(frozen=True)
class CommitInfo:
    """One commit as `log` shows it."""

    sha: str
    parents: tuple[str, ...]
    author: str
    date: str  # ISO-8601 with offset, as git prints it
    subject: str


@dataclass(frozen=True)
class TagInfo:
    """One tag: annotated tags carry a tagger, a date and a message."""

    name: str
    commit: str  # the commit it points to (peeled)
    annotated: bool
    tagger: str = ""
    date: str = ""
    message: str = ""


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

    def rev_parse(self, rev: str) -> str | None:
        """The full sha of the commit `rev` names, or None if git does not know it."""
        if rev.startswith("-"):
            return None
        import git

        try:
            out = self.repo.git.execute(
                ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"]
            )
        except git.GitCommandError:
            return None
        return str(out).strip() or None

    def is_shallow(self) -> bool:
        return self._git("rev-parse", "--is-shallow-repository").strip() == "true"

    def log_path(
        self,
        path: str,
        rev: str = "HEAD",
        *,
        first_parent: bool = False,
        all_refs: bool = False,
        limit: int | None = None,
    ) -> list[CommitInfo]:
        """Commits that changed `path`, newest first (empty when there are no commits)."""
        if self.head_commit() is None and not all_refs:
            return []
        args = ["log", "--format=%H%x00%P%x00%an <%ae>%x00%aI%x00%s%x00", "--no-renames"]
        if first_parent:
            args.append("--first-parent")
        if limit is not None:
            args.append(f"-n{limit}")
        args.extend(["--all"] if all_refs else [rev])
        args.extend(["--", f":(literal){path}"])
        out = self._git(*args)
        commits = []
        for line in out.split("\x00\n"):
            parts = line.strip("\n").split("\x00")
            if len(parts) < 5:
                continue
            sha, parents, author, date, subject = parts[:5]
            commits.append(CommitInfo(sha, tuple(parents.split()), author, date, subject))
        return commits

    def read_blob(self, spec: str) -> bytes | None:
        """The bytes of `rev:path` (or a blob sha), read through one persistent
        `git cat-file --batch` process; None when there is no such object."""
        try:
            _sha, kind, _size, data = self.repo.git.get_object_data(spec)
        except ValueError:
            return None
        return bytes(data) if kind in (b"blob", "blob") else None

    def ls_tree(self, rev: str, path: str) -> list[tuple[str, str]]:
        """(path, blob sha) of every file below `path` in commit `rev`."""
        out = self._git("ls-tree", "-r", "-z", "--full-tree", rev, "--", f":(literal){path}")
        rows = []
        for rec in out.split("\0"):
            if not rec:
                continue
            meta, _, name = rec.partition("\t")
            mode_kind_sha = meta.split()
            if len(mode_kind_sha) == 3 and mode_kind_sha[1] == "blob":
                rows.append((name, mode_kind_sha[2]))
        return rows

    def index_files(self, path: str) -> list[tuple[str, str]]:
        """(path, blob sha) of every staged file below `path`."""
        out = self._git("ls-files", "-s", "-z", "--", f":(literal){path}")
        rows = []
        for rec in out.split("\0"):
            meta, _, name = rec.partition("\t")
            fields = meta.split()
            if len(fields) == 3:
                rows.append((name, fields[1]))
        return rows

    def changed_blobs(self, path: str, all_refs: bool) -> list[tuple[str, str]]:
        """(path, blob sha) of every version of the files below `path` that any commit
        in the history of HEAD (or of every ref, with all_refs) introduced."""
        if self.head_commit() is None and not all_refs:
            return []
        args = ["log", "--format=", "--raw", "--no-abbrev", "--no-renames", "-m", "-z"]
        args.extend(["--all"] if all_refs else ["HEAD"])
        out = self._git(*args, "--", f":(literal){path}")
        rows = []
        records = out.split("\0")
        i = 0
        while i < len(records):
            meta = records[i].strip()
            i += 1
            if not meta.startswith(":"):
                continue
            name = records[i] if i < len(records) else ""
            i += 1
            fields = meta.split()
            if len(fields) >= 4 and set(fields[3]) != {"0"}:
                rows.append((name, fields[3]))
        return rows

    def tags(self) -> list[TagInfo]:
        """Every tag, listed by one `git for-each-ref` call."""
        fmt = (
            "%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objectname)%00"
            "%(taggername) %(taggeremail)%00%(taggerdate:iso-strict)%00%(contents:subject)%00"
        )
        out = self._git("for-each-ref", f"--format={fmt}", "refs/tags")
        tags = []
        for line in out.split("\x00\n"):
            parts = line.strip("\n").split("\x00")
            if len(parts) < 7:
                continue
            name, kind, obj, peeled, tagger, date, subject = parts[:7]
            annotated = kind == "tag"
            commit = peeled if annotated else obj
            tags.append(TagInfo(name, commit, annotated, tagger.strip(), date, subject))
        return tags

    def create_tag(self, name: str, commit: str, message: str) -> None:
        """Create an annotated tag (refuses to move an existing one)."""
        self._git("tag", "-a", "-m", message, "--", name, commit)

    def commit_paths(self, relpaths: list[str], message: str) -> str:
        """Stage and commit exactly these paths (other staged changes stay staged)."""
        self._git("add", "--", *relpaths)
        self._git("commit", "--quiet", "-m", message, "--only", "--", *relpaths)
        head = self.head_commit()
        if head is None:
            raise GitError("git commit made no commit")
        return head
