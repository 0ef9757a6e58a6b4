"""Every git call mreg makes. GitPython is imported here and nowhere else.

Layer: infrastructure, under registry. Finding the work tree's top is done without git
(a walk up to `.git`) so that hooks and `--version` stay fast. Commands run as plain
`git` processes and blobs are read through one persistent `git cat-file --batch`, so
that no command but `mreg get --repo` (its clone) imports GitPython: importing it
costs about 75 ms. `close()` ends the batch process.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mreg.errors import BareRepository, GitError, NotAGitRepo

# Bytes of `git cat-file --batch` requests written at once (well below any pipe buffer).
_BATCH_BYTES = 8192


def find_toplevel(start: Path) -> Path:
    """The work tree that contains `start` (a `.git` folder or file above it)."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    bare = False
    with contextlib.suppress(GitError):  # not in any repository: git says so
        bare = is_bare(here)  # asked only once no work tree was found
    if bare:
        raise BareRepository(
            f"{start} is a bare repository: it has no work tree for models",
            hint="run mreg in a clone of it (git clone)",
        )
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
        self._batch: Any = None  # the `git cat-file --batch` process of read_blobs

    def close(self) -> None:
        if self._batch is not None:
            self._close_batch()

    def __enter__(self) -> GitRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _git(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        """Run `git ARGS` in the work tree; its output, one trailing newline stripped.

        A plain process: importing gitpython costs more than a short read command does
        (`mreg stages`, `log`, `diff` need no gitpython at all). Environment, decoding
        and the error text are the ones gitpython's `execute` gives. An exit code in
        `ok` other than 0 returns "" (`rev-parse --verify --quiet`: no such commit).
        """
        import subprocess

        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.root,
                env={**os.environ, "LANGUAGE": "C", "LC_ALL": "C"},
                stdin=subprocess.DEVNULL,
                capture_output=True,
            )
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror}", hint="install git") from None
        if done.returncode != 0:
            if done.returncode in ok:
                return ""
            stderr = done.stderr.removesuffix(b"\n").decode("utf-8", "surrogateescape")
            lines = [line.strip() for line in stderr.splitlines() if line.strip()]
            # git's own error line, not the advice after it ("remove the file manually").
            fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
            why = (fatal or lines[-1:] or [f"exit code {done.returncode}"])[0]
            hint = None
            if ".lock': File exists" in why:  # a git (or mreg) process was killed mid-write
                hint = "if no git process is running, remove that .lock file and run it again"
            raise GitError(f"git {args[0]} failed: {why}", hint=hint)
        return done.stdout.removesuffix(b"\n").decode("utf-8", "surrogateescape")

    def head_commit(self) -> str | None:
        """The full sha of HEAD, or None in a repository with no commits yet."""
        out = self._git("rev-parse", "--verify", "--quiet", "HEAD^{commit}", ok=(0, 1))
        return out.strip() or None

    def identity(self) -> str | None:
        """`Name <email>` as a commit would record it (GIT_AUTHOR_* first, then git
        config with its includes), or None when neither is set.

        One `git config` process: importing gitpython for its config reader cost every
        `mreg add` about 75 ms."""
        out = self._git("config", "-z", "--get-regexp", r"^user\.(name|email)$", ok=(0, 1))
        found: dict[str, str] = {}
        for record in out.split("\0"):
            key, _, value = record.partition("\n")
            found[key] = value  # the last one wins, as in git
        name = os.environ.get("GIT_AUTHOR_NAME") or found.get("user.name", "")
        email = os.environ.get("GIT_AUTHOR_EMAIL") or found.get("user.email", "")
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
        try:
            out = self._git(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
            )
        except GitError:
            return None
        return out.strip() or None

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
        """Commits that changed `path`, newest first (empty when there are no commits).

        all_refs: from every branch, tag and remote branch instead of `rev`.
        """
        if self.head_commit() is None and not all_refs:
            return []
        args = ["log", "--format=%H%x00%P%x00%an <%ae>%x00%aI%x00%s%x00", "--no-renames"]
        # Without --full-history git hides a merged branch's commits when the merge kept
        # the other side's file: two branches that each made a version must both show.
        args.append("--first-parent" if first_parent else "--full-history")
        if limit is not None:
            args.append(f"-n{limit}")
        if all_refs:
            # Every branch, tag and remote branch (and a detached HEAD), but not the
            # stash: a stashed card is no committed version.
            args.extend(["--branches", "--tags", "--remotes"])
            if self.head_commit() is not None:
                args.append("HEAD")
        else:
            args.append(rev)
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
        return self.read_blobs([spec])[0]

    def read_blobs(self, specs: list[str]) -> list[bytes | None]:
        """The bytes of each `rev:path` (or blob sha) in `specs`, in order; None where
        there is no such blob. Requests go to one `git cat-file --batch` process a chunk
        at a time (a few round trips in all, not one per object: each round trip costs
        a process wake-up, about a millisecond on a busy machine)."""
        out: list[bytes | None] = []
        chunk: list[str] = []
        size = 0
        for spec in specs:
            chunk.append(spec)
            size += len(spec) + 1
            # Requests stay below any pipe's buffer, so writing them never waits for
            # git, which may be waiting for us to read its answers.
            if size >= _BATCH_BYTES:
                out.extend(self._read_chunk(chunk))
                chunk, size = [], 0
        if chunk:
            out.extend(self._read_chunk(chunk))
        return out

    def _read_chunk(self, specs: list[str]) -> list[bytes | None]:
        # A line feed ends a request: a spec holding one (or nothing) is no object.
        ask = [s for s in specs if s and "\n" not in s and "\r" not in s]
        if not ask:
            return [None] * len(specs)
        if self._batch is None:
            import subprocess

            try:
                self._batch = subprocess.Popen(
                    ["git", "cat-file", "--batch"],
                    cwd=self.root,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except OSError as exc:
                raise GitError(f"cannot run git: {exc.strerror}", hint="install git") from None
        proc = self._batch
        got: dict[str, bytes | None] = {}
        try:
            proc.stdin.write(b"".join(s.encode("utf-8", "surrogateescape") + b"\n" for s in ask))
            proc.stdin.flush()
            for spec in ask:
                header = proc.stdout.readline()
                if not header.endswith(b"\n"):
                    raise OSError("git cat-file --batch stopped")
                fields = header.split()
                # `<oid> <type> <size>`, else `<spec> missing` or `<spec> ambiguous`.
                if len(fields) == 3 and fields[2].isdigit() and not header.startswith(b" "):
                    size = int(fields[2])
                    data = proc.stdout.read(size + 1)
                    if len(data) != size + 1:
                        raise OSError("git cat-file --batch stopped")
                    got[spec] = data[:-1] if fields[1] == b"blob" else None
                else:
                    got[spec] = None
        except (OSError, ValueError) as exc:
            self._close_batch()
            raise GitError(f"git cat-file failed: {exc}") from None
        return [got.get(s) for s in specs]

    def _close_batch(self) -> None:
        proc, self._batch = self._batch, None
        try:
            proc.stdin.close()
            proc.wait(timeout=10)
        except Exception:
            proc.kill()
            proc.wait()
        finally:
            proc.stdout.close()

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
        in the history of HEAD (or, with all_refs, of every ref and every stash entry:
        `--all` reaches only stash@{0}, the others live in refs/stash's reflog)."""
        if self.head_commit() is None and not all_refs:
            return []
        args = ["log", "--format=", "--raw", "--no-abbrev", "--no-renames", "-m", "-z"]
        if all_refs:
            args.append("--all")
            args.extend(self._git("stash", "list", "--format=%H").split())
        else:
            args.append("HEAD")
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


def clone_metadata(url: str, dest: Path) -> None:
    """Clone `url` into dest for reading cards only (used by `mreg get --repo`).

    `--filter=blob:none --no-checkout` fetches commits and trees but no file contents;
    then only `.mreg/` is checked out (git fetches those few blobs on demand). Older
    cards are read from history through the same lazy fetch.
    """
    import git

    runner = git.Git()
    try:
        runner.execute(
            ["git", "clone", "--quiet", "--filter=blob:none", "--no-checkout", "--", url, str(dest)]
        )
    except git.GitCommandError as exc:
        detail = (exc.stderr or "").strip().splitlines()
        raise GitError(
            f"git clone {url} failed: {detail[-1] if detail else exc}",
            hint="check the URL and your access to it",
        ) from None
    with GitRepo(dest) as repo:
        if repo.head_commit() is None:
            raise GitError(f"{url} has no commits")
        try:
            repo._git("checkout", "HEAD", "--", ".mreg")
        except GitError:
            raise GitError(
                f"{url} has no committed .mreg/ folder",
                hint="is it an mreg repository? run mreg init there and commit .mreg",
            ) from None


# ------------------------------------------------------------------ hooks (plain subprocess)
# These run `git` directly, without GitPython, so that the git hooks start fast. `cwd`
# is any folder inside the repository; environment variables git sets for a hook
# (GIT_DIR, GIT_INDEX_FILE) are inherited, as they must be.


@dataclass(frozen=True)
class GitRun:
    """What one plain `git` process returned."""

    returncode: int
    stdout: bytes
    stderr: bytes


def run_git(cwd: Path, *args: str, check: bool = True, input: bytes | None = None) -> GitRun:
    """Run `git args...` in cwd; GitError (with git's last stderr line) if check fails."""
    import subprocess

    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input)
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}", hint="install git") from None
    if check and done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {detail[-1] if detail else done.returncode}")
    return GitRun(done.returncode, done.stdout, done.stderr)


def _out(cwd: Path, *args: str) -> str:
    return run_git(cwd, *args).stdout.decode("utf-8", "surrogateescape").strip()


def git_path(cwd: Path, name: str) -> Path:
    """`git rev-parse --git-path NAME`: honours core.hooksPath and linked worktrees."""
    path = Path(_out(cwd, "rev-parse", "--git-path", name))
    return path if path.is_absolute() else (cwd / path).resolve()


def is_bare(cwd: Path) -> bool:
    return _out(cwd, "rev-parse", "--is-bare-repository") == "true"


def git_toplevel(cwd: Path) -> Path:
    """The work tree's top (NotAGitRepo outside one; GitError in a bare repository)."""
    done = run_git(cwd, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0:
        raise NotAGitRepo(f"not a git repository: {cwd}", hint="run git init first, or use -C PATH")
    return Path(done.stdout.decode("utf-8", "surrogateescape").strip())


def rebase_in_progress(cwd: Path) -> bool:
    """True while `git rebase` is under way (.git/rebase-merge or rebase-apply exists)."""
    return _first_present(cwd, ("rebase-merge", "rebase-apply")) is not None


# What git leaves while an operation waits for the user, and what to call it: during
# these git refuses `commit --only PATH` (a rebase stopped at `edit` or `-x` does not).
_UNFINISHED = {
    "MERGE_HEAD": "a merge",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
}


def unfinished_operation(cwd: Path) -> str | None:
    """'a merge' (cherry-pick, revert) while one waits to be finished, else None: git
    then refuses to commit some paths alone."""
    found = _first_present(cwd, tuple(_UNFINISHED))
    return None if found is None else _UNFINISHED[found]


def _first_present(cwd: Path, names: tuple[str, ...]) -> str | None:
    """The first of these files or folders under the git dir that exists (one git run)."""
    out = _out(cwd, "rev-parse", *(a for name in names for a in ("--git-path", name)))
    for name, line in zip(names, out.splitlines(), strict=False):
        p = Path(line)
        if (p if p.is_absolute() else cwd / p).exists():
            return name
    return None


def staged_paths(cwd: Path, under: str) -> list[str]:
    """Paths below `under` (from the top) added, copied, modified or renamed in the index."""
    out = run_git(
        cwd,
        "diff",
        "--cached",
        "--name-only",
        "-z",
        "--no-renames",
        "--diff-filter=ACMT",
        "--",
        f":(top,literal){under}",
    ).stdout.decode("utf-8", "surrogateescape")
    return [p for p in out.split("\0") if p]


def config_get(cwd: Path, key: str) -> str | None:
    done = run_git(cwd, "config", "--local", "--get", key, check=False)
    return done.stdout.decode().strip() if done.returncode == 0 else None


def config_set(cwd: Path, key: str, value: str) -> None:
    run_git(cwd, "config", "--local", key, value)


def config_remove_section(cwd: Path, section: str) -> bool:
    """Remove a local config section; False when it was not there."""
    return (
        run_git(cwd, "config", "--local", "--remove-section", section, check=False).returncode == 0
    )


def rev_list(cwd: Path, include: str, exclude: list[str]) -> list[str] | None:
    """`git rev-list INCLUDE --not EXCLUDE...`; None when git does not know a rev."""
    done = run_git(cwd, "rev-list", include, "--not", *exclude, check=False)
    if done.returncode != 0:
        return None
    return done.stdout.decode().split()


def blobs_changed_by(cwd: Path, commits: list[str], path: str) -> list[tuple[str, str, str]]:
    """(commit, path, blob sha) of every file below `path` that one of `commits` added or
    changed (merges against each parent), read by one `git diff-tree --stdin`."""
    if not commits:
        return []
    done = run_git(
        cwd,
        "diff-tree",
        "--stdin",
        "-r",
        "-m",
        "-z",
        "--no-abbrev",
        "--no-renames",
        "--root",
        "--",
        f":(top,literal){path}",
        input=("\n".join(commits) + "\n").encode(),
    )
    rows: list[tuple[str, str, str]] = []
    records = done.stdout.decode("utf-8", "surrogateescape").split("\0")
    commit = ""
    i = 0
    while i < len(records):
        meta = records[i].strip()
        i += 1
        if not meta.startswith(":"):
            commit = meta.split(" ")[0] or commit  # the commit the records below belong to
            continue
        name = records[i] if i < len(records) else ""
        i += 1
        fields = meta.split()
        if len(fields) >= 4 and set(fields[3]) != {"0"}:
            rows.append((commit, name, fields[3]))
    return rows


def merge_file_text(current: Path, base: Path, other: Path, labels: tuple[str, str, str]) -> int:
    """`git merge-file` (plain text three-way merge into `current`); the conflict count."""
    done = run_git(
        current.parent,
        "merge-file",
        "-L",
        labels[0],
        "-L",
        labels[1],
        "-L",
        labels[2],
        str(current),
        str(base),
        str(other),
        check=False,
    )
    return done.returncode


def staged_blob(cwd: Path, path: str) -> bytes | None:
    """The bytes of `path` as staged in the index (GIT_INDEX_FILE honoured); None if absent."""
    done = run_git(cwd, "cat-file", "blob", f":{path}", check=False)
    return done.stdout if done.returncode == 0 else None
