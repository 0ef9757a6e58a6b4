"""Git hooks: the shims `mreg hooks install` writes, and what each hook does when run.

Layer: registry level, above checkout/status/history/transfer; heavy modules are
imported inside the functions that need them. The fast path (pre-commit with no card
staged, MREG_SKIP_HOOKS=1) lives in `mreg.hookfast`, which imports only `os` and `sys`.
Functions return dataclasses; the CLI prints them. docs/hooks.md is the user's guide.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mreg.errors import (
    BareRepository,
    MregError,
    NotAGitRepo,
    NotInitialised,
    RemoteNotConfigured,
)
from mreg.gitrepo import (
    config_get,
    config_remove_section,
    config_set,
    git_path,
    git_toplevel,
    rebase_in_progress,
    run_git,
    staged_blob,
    staged_paths,
)
from mreg.hookfast import SKIP_ENV, fast_path, is_card_path, skipped

if TYPE_CHECKING:
    from mreg.card import Card
    from mreg.project import Project

HOOKS = ("pre-commit", "post-checkout", "post-merge", "pre-push")
# A missing mreg blocks these (they could let broken state through); post-* only warn.
BLOCKING = ("pre-commit", "pre-push")
MARKER = "# mreg-managed-hook v1"  # the line that says "mreg wrote this file"
CHAINED_SUFFIX = ".pre-mreg"  # where --chain moves a hook mreg did not write
MODELS_DIR = ".mreg/models"
ZERO_SHA = "0" * 40

MERGE_DRIVER = "mreg-card"
MERGE_DRIVER_NAME = "mreg card merge"
MERGE_DRIVER_CMD = "mreg merge-driver %O %A %B %P"
ATTR_COMMENT = "# mreg: merge model cards key by key (mreg hooks install; docs/hooks.md)"
ATTR_LINES = (
    f".mreg/models/*.yaml merge={MERGE_DRIVER}",
    f".mreg/models/**/*.yaml merge={MERGE_DRIVER}",
)


def card_name(path: str) -> str:
    return path[len(MODELS_DIR) + 1 : -len(".yaml")]


# ---------------------------------------------------------------------------------- shims


def shim(name: str, chained: bool = False) -> str:
    """The text of the shell shim for hook `name` (POSIX sh)."""
    blocking = name in BLOCKING
    orig = f'"$(dirname "$0")/{name}{CHAINED_SUFFIX}"'
    lines = [
        "#!/bin/sh",
        f"{MARKER}: {name}",
        "# Written by `mreg hooks install`; `mreg hooks uninstall` removes it (docs/hooks.md).",
        f"# {SKIP_ENV}=1 skips mreg here; a chained original hook still runs.",
    ]
    pipe = ""
    status = "0"
    if name == "pre-push" and chained:
        # git writes the refs being pushed on stdin: both hooks must read them.
        lines.append("input=$(cat)")
        pipe = "printf '%s\\n' \"$input\" | "
    if chained:
        lines.append(f"# mreg-chained: {name}{CHAINED_SUFFIX} (the hook that was here) runs first;")
        lines.append("# as git does, only while it is executable (chmod +x turns it on).")
        lines.append(f"orig={orig}")
        if blocking:
            lines.append(f'if [ -x "$orig" ]; then {pipe}"$orig" "$@" || exit $?')
        else:
            lines.append("status=0")
            lines.append('if [ -x "$orig" ]; then "$orig" "$@"; status=$?')
            status = "$status"
        # git's own words for a hook it skips (advice.ignoredHook turns them off).
        lines.append(
            'elif [ -e "$orig" ] && [ "$(git config --type=bool advice.ignoredHook'
            ' 2>/dev/null)" != false ]; then'
        )
        lines.append(
            "  echo >&2 \"hint: The '$orig' hook was ignored because it's not set as executable.\""
        )
        lines.append(
            '  echo >&2 "hint: You can disable this warning with'
            ' \\`git config advice.ignoredHook false\\`."'
        )
        lines.append("fi")
    lines.append(f'case "${{{SKIP_ENV}:-}}" in 1|true|yes) exit {status} ;; esac')
    if name == "pre-commit":
        # No card staged: nothing mreg checks, so nothing to start (or to miss).
        lines.append(
            "git diff --cached --quiet --diff-filter=ACMT -- ':(top).mreg/models/'"
            f" 2>/dev/null && exit {status}"
        )
    lines.append("if ! command -v mreg >/dev/null 2>&1; then")
    lines.append(
        f"  echo >&2 \"mreg: this repository uses the mreg {name} hook, but 'mreg'"
        ' is not on PATH."'
    )
    if blocking:
        what = "commit" if name == "pre-commit" else "push"
        why = (
            "the staged model cards cannot be checked"
            if name == "pre-commit"
            else "model blobs would not reach the remote"
        )
        lines.append(f'  echo >&2 "mreg: the {what} is stopped: {why}."')
        lines.append(
            '  echo >&2 "hint: install mreg or activate its virtualenv;'
            f" or {SKIP_ENV}=1 git {what} to go on without it;"
            ' or mreg hooks uninstall"'
        )
        lines.append("  exit 1")
    else:
        lines.append('  echo >&2 "mreg: model files in the work tree were not updated."')
        lines.append(
            '  echo >&2 "hint: install mreg or activate its virtualenv, then run: mreg checkout"'
        )
        lines.append(f"  exit {status}")
    lines.append("fi")
    if chained:
        lines.append(f'{pipe}mreg hook {name} "$@" || exit $?')
        lines.append(f"exit {status}")
    else:
        lines.append(f'exec mreg hook {name} "$@"')
    return "\n".join(lines) + "\n"


def is_mreg_hook(path: Path) -> bool:
    """True when the file at path is a shim mreg wrote (its marker line is there)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return any(line.startswith(MARKER.encode()) for line in head.splitlines()[:5])


# ---------------------------------------------------------------------------- the repository


def repo_root(cwd: Path) -> Path:
    """The work tree's top; BareRepository (exit 3) for a bare one."""
    done = run_git(cwd, "rev-parse", "--is-bare-repository", check=False)
    if done.returncode != 0:
        raise NotAGitRepo(f"not a git repository: {cwd}", hint="run git init first, or use -C PATH")
    if done.stdout.strip() == b"true":
        raise BareRepository(
            f"{cwd} is a bare repository: it has no work tree for hooks to act on",
            hint="install the hooks in each clone: git clone ... && mreg hooks install",
        )
    return git_toplevel(cwd)


def hooks_dir(cwd: Path) -> Path:
    """Where git looks for hooks (core.hooksPath, or the common .git/hooks of worktrees)."""
    return git_path(cwd, "hooks")


@dataclass
class HookState:
    """One hook file. state: absent | mreg | chained | foreign | outdated."""

    name: str
    path: Path
    state: str
    chained_path: Path | None = None


@dataclass
class HooksStatus:
    """What `mreg hooks status` shows."""

    hooks_dir: Path
    hooks: list[HookState]
    merge_driver: bool
    gitattributes: bool
    skipped: bool


def _state(folder: Path, name: str) -> HookState:
    path = folder / name
    chained = folder / f"{name}{CHAINED_SUFFIX}"
    if not path.exists() and not path.is_symlink():
        return HookState(name, path, "absent")
    if not is_mreg_hook(path):
        return HookState(name, path, "foreign")
    has_chain = chained.exists()
    try:
        current = path.read_text(encoding="utf-8") == shim(name, has_chain)
    except (OSError, UnicodeDecodeError):
        current = False
    if not current:
        return HookState(name, path, "outdated", chained if has_chain else None)
    if has_chain:
        return HookState(name, path, "chained", chained)
    return HookState(name, path, "mreg")


def _attr_lines(root: Path) -> list[str]:
    try:
        return (root / ".gitattributes").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def status(cwd: Path) -> HooksStatus:
    root = repo_root(cwd)
    folder = hooks_dir(root)
    lines = _attr_lines(root)
    return HooksStatus(
        hooks_dir=folder,
        hooks=[_state(folder, n) for n in HOOKS],
        merge_driver=config_get(root, f"merge.{MERGE_DRIVER}.driver") == MERGE_DRIVER_CMD,
        gitattributes=all(line in lines for line in ATTR_LINES),
        skipped=skipped(),
    )


@dataclass
class InstallResult:
    """Per hook: installed | updated | unchanged | chained | foreign (left alone)."""

    hooks_dir: Path
    actions: dict[str, str] = field(default_factory=dict)
    gitattributes_changed: bool = False
    merge_driver_changed: bool = False
    # Foreign hooks that --chain cannot move aside: NAME.pre-mreg holds an earlier one.
    chain_taken: list[str] = field(default_factory=list)
    # Chained originals git would not run (not executable): the shims skip them too.
    not_executable: list[str] = field(default_factory=list)

    @property
    def foreign(self) -> list[str]:
        return [n for n, a in self.actions.items() if a == "foreign"]


def _write_exec(path: Path, text: str) -> None:
    from mreg.fsutil import atomic_write

    atomic_write(path, text.encode("utf-8"), fsync=False)
    os.chmod(path, 0o755)


def is_executable(path: Path) -> bool:
    """What the shim's `[ -x FILE ]` (and git, for a hook) asks."""
    return os.access(path, os.X_OK)


def check_names(names: list[str] | None) -> list[str]:
    from mreg.errors import InvalidArgument

    if not names:
        return list(HOOKS)
    for n in names:
        if n not in HOOKS:
            raise InvalidArgument(f"unknown hook {n!r}", hint=f"hooks: {', '.join(HOOKS)}")
    return [n for n in HOOKS if n in names]


def install(cwd: Path, names: list[str] | None = None, chain: bool = False) -> InstallResult:
    """Write mreg's shims (never over a hook mreg did not write, unless chaining it) and
    register the card merge driver."""
    wanted = check_names(names)
    from mreg.project import check_initialised

    root = repo_root(cwd)
    check_initialised(root)
    folder = hooks_dir(root)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from mreg.errors import StorageError

        raise StorageError(f"cannot create the hooks folder {folder}: {exc.strerror}") from None
    result = InstallResult(folder)
    for name in wanted:
        st = _state(folder, name)
        chained = folder / f"{name}{CHAINED_SUFFIX}"
        taken = chained.exists() or chained.is_symlink()
        if st.state == "foreign":
            if taken:
                # Never overwrite the original chained earlier: the person merges the two.
                result.chain_taken.append(name)
            if not chain or taken:
                result.actions[name] = "foreign"
                continue
            os.replace(st.path, chained)
            _write_exec(st.path, shim(name, chained=True))
            result.actions[name] = "chained"
        elif st.state == "absent":
            # A NAME.pre-mreg left from an earlier --chain is still run first (and is
            # what `status` expects): the shim was removed, not the chaining.
            _write_exec(st.path, shim(name, chained.exists()))
            result.actions[name] = "chained" if chained.exists() else "installed"
        elif st.state == "outdated":
            _write_exec(st.path, shim(name, st.chained_path is not None))
            result.actions[name] = "updated"
        else:
            result.actions[name] = "unchanged"
        if result.actions[name] != "foreign" and chained.exists() and not is_executable(chained):
            result.not_executable.append(name)
    result.merge_driver_changed, result.gitattributes_changed = _install_merge_driver(root)
    return result


def _install_merge_driver(root: Path) -> tuple[bool, bool]:
    from mreg.fsutil import atomic_write

    config_changed = False
    for key, value in (("name", MERGE_DRIVER_NAME), ("driver", MERGE_DRIVER_CMD)):
        full = f"merge.{MERGE_DRIVER}.{key}"
        if config_get(root, full) != value:
            config_set(root, full, value)
            config_changed = True
    lines = _attr_lines(root)
    missing = [line for line in ATTR_LINES if line not in lines]
    if not missing:
        return config_changed, False
    text = "\n".join(lines)
    if text:
        text += "\n"
    if ATTR_COMMENT not in lines:
        text += ATTR_COMMENT + "\n"
    text += "\n".join(missing) + "\n"
    atomic_write(root / ".gitattributes", text.encode("utf-8"))
    return config_changed, True


@dataclass
class UninstallResult:
    """Per hook: removed | restored | foreign | absent."""

    hooks_dir: Path
    actions: dict[str, str] = field(default_factory=dict)
    merge_driver_removed: bool = False
    gitattributes_changed: bool = False
    # Foreign hooks with a NAME.pre-mreg beside them: both are left for the person.
    chain_left: list[str] = field(default_factory=list)


def uninstall(cwd: Path, names: list[str] | None = None) -> UninstallResult:
    """Remove mreg's own shims (putting a chained original back); with every hook, the
    merge driver too. Hooks mreg did not write are left alone."""
    wanted = check_names(names)
    root = repo_root(cwd)
    folder = hooks_dir(root)
    result = UninstallResult(folder)
    for name in wanted:
        st = _state(folder, name)
        chained = folder / f"{name}{CHAINED_SUFFIX}"
        if st.state in ("absent", "foreign"):
            result.actions[name] = st.state
            if st.state == "foreign" and (chained.exists() or chained.is_symlink()):
                result.chain_left.append(name)
            continue
        if chained.exists() or chained.is_symlink():
            os.replace(chained, st.path)
            result.actions[name] = "restored"
        else:
            st.path.unlink()
            result.actions[name] = "removed"
    if names is None or set(wanted) == set(HOOKS):
        result.merge_driver_removed = config_remove_section(root, f"merge.{MERGE_DRIVER}")
        lines = _attr_lines(root)
        kept = [line for line in lines if line not in (*ATTR_LINES, ATTR_COMMENT)]
        if kept != lines:
            from mreg.fsutil import atomic_write

            path = root / ".gitattributes"
            if any(line.strip() for line in kept):
                atomic_write(path, ("\n".join(kept) + "\n").encode("utf-8"))
            else:
                path.unlink()
            result.gitattributes_changed = True
    return result


# ------------------------------------------------------------------------- running hooks


@dataclass
class Problem:
    """Why a hook blocks: the model, what is wrong, and the command that fixes it."""

    model: str
    message: str
    fix: str


@dataclass
class HookReport:
    """What a hook run found. exit_code 0 lets git go on."""

    hook: str
    exit_code: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)


def _open(root: Path, report: HookReport) -> Project | None:
    from mreg.project import Project

    try:
        return Project.open(root)
    except NotInitialised:
        report.notes.append(f"no .mreg/ in {root}: the mreg {report.hook} hook has nothing to do")
        return None


def run(name: str, args: list[str], stdin: str = "", cwd: Path | None = None) -> HookReport:
    """Run hook `name` with git's arguments (and, for pre-push, git's stdin)."""
    name = check_names([name])[0]
    report = HookReport(name)
    if skipped():
        return report
    here = cwd or Path.cwd()
    root = git_toplevel(here)
    if name == "post-checkout" and len(args) >= 3 and args[2] != "1":
        return report
    if name in ("post-checkout", "post-merge") and rebase_in_progress(root):
        return report  # the rebase checks out commit after commit: wait for its end
    proj = _open(root, report)
    if proj is None:
        return report
    with proj:
        if name == "pre-commit":
            _pre_commit(proj, report)
        elif name == "pre-push":
            _pre_push(proj, args, stdin, report)
        else:
            _sync_worktree(proj, report, args[0] if name == "post-checkout" else None)
    return report


# pre-commit


def _pre_commit(proj: Project, report: HookReport) -> None:
    from mreg import card as card_mod
    from mreg.hashing import short
    from mreg.status import cache_state, worktree_state

    for path in staged_paths(proj.root, MODELS_DIR):
        if not is_card_path(path):
            continue
        name = card_name(path)
        data = staged_blob(proj.root, path)
        if data is None:
            continue
        try:
            card = card_mod.loads(data, source=f"{path} (staged)", expected_name=name)
        except MregError as exc:
            report.problems.append(
                Problem(name, exc.message, f"fix the card, then: git add {path}")
            )
            continue
        label = f"{name} v{card.version}"
        oid = card.artifact.oid
        if cache_state(proj, card) != "ok":
            where = blob_on_remote(proj, card)
            if where is not True:
                on = f" nor on remote {where}" if where else ""  # "": no remote to ask
                report.problems.append(
                    Problem(
                        label,
                        f"its artifact {short(oid)} is not in the cache{on}",
                        f"mreg add {name} {card.artifact.path} (from the machine that has it),"
                        f" or mreg pull {name}",
                    )
                )
                continue
        if worktree_state(proj, card) == "modified":
            report.problems.append(
                Problem(
                    label,
                    f"{card.artifact.path} in the work tree no longer matches the staged card",
                    f"register it again: mreg add {name} {card.artifact.path} && git add {path};"
                    f" or restore it: mreg checkout {name} --force",
                )
            )
    if report.problems:
        report.exit_code = 1
        report.hints.append(
            "commit anyway (not recommended): git commit --no-verify, or MREG_SKIP_HOOKS=1"
        )


def blob_on_remote(proj: Project, card: Card) -> bool | str:
    """True when every blob of card is on the default remote; else the remote's name
    (or "" when no remote is configured or it cannot be reached)."""
    from mreg import transfer

    try:
        states = transfer.remote_states(proj, [card], None)
    except MregError:
        return ""
    return True if states.get(card.name) == "ok" else (proj.config.default_remote or "")


# post-checkout, post-merge


def _sync_worktree(proj: Project, report: HookReport, previous: str | None = None) -> None:
    """Check every model out; after a branch switch from `previous`, also warn of the
    artifacts it had that no card here names and git would take in (_left_behind)."""
    from mreg.errors import LockTimeout

    try:
        with proj.lock():
            _checkout_all(proj, report)
            if previous:
                _left_behind(proj, previous, report)
    except LockTimeout as exc:
        report.warnings.append(f"work-tree models not updated: {exc.message}")


def _left_behind(proj: Project, previous: str, report: HookReport) -> None:
    """Warn of the artifacts of the commit git switched from that no card here names and
    that git would take in: not ignored by this branch's .gitignore, not tracked, not
    beyond a symlink. `git add -A` would commit their bytes. Nothing is removed: the
    commit switched from may be one only the reflog still knows, whose blobs gc drops."""
    from mreg.history import cards_at
    from mreg.registry import list_cards, paths_overlap

    if set(previous) == {"0"}:  # a clone's first checkout: there was nothing before
        return
    try:
        before = cards_at(proj, previous)
    except MregError:
        return  # not a commit mreg can read (gone, or before mreg): nothing to compare
    entries = list_cards(proj)
    here = [e.card.artifact.path for e in entries if e.card is not None]
    broken = {e.name for e in entries if e.card is None}  # where they are is not known
    for card in before.values():
        if isinstance(card, str) or card.name in broken:
            continue
        rel = card.artifact.path
        if any(paths_overlap(rel, p) for p in here) or not _git_would_take(proj.root, rel):
            continue
        have = (
            ""
            if not proj.store.has(card.artifact.oid)
            else (f"; {card.name} v{card.version}'s bytes are in the cache")
        )
        report.warnings.append(
            f"{rel}: {card.name}'s artifact at the commit before is no model here, and"
            f" .gitignore here does not cover it: git add -A would commit it (move it away"
            f" or delete it{have})"
        )


def _git_would_take(root: Path, rel: str) -> bool:
    """True when `git add -A` would add something at rel: a file there (or below it)
    that git neither tracks nor ignores. Nothing beyond a symlink (git does not look)."""
    here = root
    parts = rel.split("/")
    for i, part in enumerate(parts):
        here = here / part
        if not os.path.lexists(here):
            return False
        if here.is_symlink() and i < len(parts) - 1:
            return False
    others = ["ls-files", "-z", "--others", "--exclude-standard", "--", f":(literal){rel}"]
    return bool(run_git(root, *others, check=False).stdout)


def _checkout_all(proj: Project, report: HookReport) -> None:
    from mreg.checkout import checkout_card
    from mreg.errors import BlobMissing
    from mreg.registry import list_cards

    missing: list[str] = []
    for entry in list_cards(proj):
        if entry.card is None:
            report.warnings.append(f"{entry.name}: skipped, the card is broken: {entry.error}")
            continue
        card = entry.card
        try:
            res = checkout_card(proj, card, force=False)
        except BlobMissing:
            missing.append(card.name)
            continue
        except MregError as exc:
            report.warnings.append(f"{card.name}: not checked out: {exc.message}")
            continue
        if res.action == "conflict":
            report.warnings.append(
                f"{card.name}: {', '.join(res.conflicts)} has local changes; left alone"
                f" (mreg checkout {card.name} --force replaces it)"
            )
        elif res.action in ("created", "updated"):
            report.notes.append(f"{card.name} v{card.version} -> {card.artifact.path}")
    if missing:
        report.warnings.append(f"not in the cache, so not checked out: {', '.join(missing)}")
        report.hints.append(f"mreg pull {' '.join(missing)}")


# pre-push


@dataclass(frozen=True)
class PushLine:
    """One line of git's pre-push stdin (githooks(5)):
    `<local ref> SP <local sha> SP <remote ref> SP <remote sha> LF`.
    A deletion has an all-zero local sha; a new remote branch an all-zero remote sha."""

    local_ref: str
    local_sha: str
    remote_ref: str
    remote_sha: str

    @property
    def deletion(self) -> bool:
        return set(self.local_sha) == {"0"}

    @property
    def new_ref(self) -> bool:
        return set(self.remote_sha) == {"0"}


def parse_push_lines(text: str) -> list[PushLine]:
    """git's pre-push stdin; blank or malformed lines are skipped."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4:
            out.append(PushLine(*parts))
    return out


def _framework_push_line() -> str:
    """The pre-commit framework gives pre-push hooks no stdin, but these variables."""
    to_ref = os.environ.get("PRE_COMMIT_TO_REF")
    if not to_ref:
        return ""
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF") or ZERO_SHA
    local = os.environ.get("PRE_COMMIT_LOCAL_BRANCH", "HEAD")
    remote = os.environ.get("PRE_COMMIT_REMOTE_BRANCH", "HEAD")
    return f"{local} {to_ref} {remote} {from_ref}\n"


def pushed_card_refs(root: Path, remote: str, lines: list[PushLine]) -> list[str]:
    """`name@commit` for each card version the pushed commits add, one per card blob."""
    from mreg.gitrepo import blobs_changed_by, rev_list

    commits: list[str] = []
    seen_commits: set[str] = set()
    for line in lines:
        if line.deletion:
            continue
        found = None
        if not line.new_ref:
            found = rev_list(root, line.local_sha, [line.remote_sha])
        if found is None:  # a new branch, or the remote's tip is not known here
            found = rev_list(root, line.local_sha, [f"--remotes={remote}"])
        for sha in found or []:
            if sha not in seen_commits:
                seen_commits.add(sha)
                commits.append(sha)
    refs: list[str] = []
    seen_blobs: set[str] = set()
    for commit, path, blob in blobs_changed_by(root, commits, MODELS_DIR):
        if is_card_path(path) and blob not in seen_blobs:
            seen_blobs.add(blob)
            refs.append(f"{card_name(path)}@{commit}")
    return refs


def _pre_push(proj: Project, args: list[str], stdin: str, report: HookReport) -> None:
    remote = args[0] if args else "origin"
    lines = parse_push_lines(stdin or _framework_push_line())
    refs = pushed_card_refs(proj.root, remote, lines)
    if not refs:
        return
    if not proj.config.remotes:
        report.notes.append(
            "no mreg remote is configured: model blobs were not pushed (the git push goes on)"
        )
        report.hints.append("mreg remote add NAME URL -d")
        return
    try:
        result = push_blobs(proj, refs)
    except RemoteNotConfigured as exc:
        report.notes.append(f"{exc.message}: model blobs were not pushed (the git push goes on)")
        if exc.hint:
            report.hints.append(exc.hint)
        return
    if result:
        report.notes.append(result)


def push_blobs(proj: Project, refs: list[str]) -> str:
    """Upload the blobs of these card versions to the default remote: the pre-push hook's
    one call into the remotes layer. Raises (and so stops the push) when one is missing
    or an upload fails; returns a line saying what was sent."""
    from mreg import transfer

    result = transfer.push(proj, refs, None)
    transfer.raise_for(result, "push")
    if not result.transferred:
        return ""
    return (
        f"pushed {result.transferred} blob(s) of {', '.join(result.models)}"
        f" to remote {result.remote}"
    )


__all__ = [
    "HOOKS",
    "HookReport",
    "fast_path",
    "install",
    "run",
    "status",
    "uninstall",
]
