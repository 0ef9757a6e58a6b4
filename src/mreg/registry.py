"""Cards in a project: list them, load one, register a new version.

Layer: registry, above card/artifact/project/gitrepo. Functions here take a Project,
return dataclasses, and never print: progress goes through a callback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mreg import card as card_mod
from mreg import yamlio
from mreg.artifact import Progress, hash_artifact
from mreg.card import KIND_FILE, Artifact, Card, Registered
from mreg.config import merge
from mreg.errors import (
    GitError,
    InvalidArgument,
    InvalidCard,
    InvalidPath,
    ModelNotFound,
    MregError,
)
from mreg.fsutil import (
    atomic_write,
    gitignore_pattern,
    is_within,
    remove_stale_temps,
    remove_stale_temps_in,
)
from mreg.hashing import GitSegment, check_relpath, first_git_path, short
from mreg.names import check_name
from mreg.project import MREG_DIR, Project

# File suffix -> framework name, for `add` without --framework.
SUFFIX_FRAMEWORKS = {
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "sklearn",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".onnx": "onnx",
    ".safetensors": "safetensors",
    ".h5": "keras",
    ".keras": "keras",
    ".json": "xgboost",
    ".ubj": "xgboost",
    ".cbm": "catboost",
    ".lgb": "lightgbm",
    ".gguf": "gguf",
    ".tflite": "tflite",
    ".mlmodel": "coreml",
}
# Framework name -> the distribution whose installed version is recorded.
FRAMEWORK_DISTS = {
    "sklearn": "scikit-learn",
    "pytorch": "torch",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "keras": "keras",
    "tensorflow": "tensorflow",
    "onnx": "onnx",
    "safetensors": "safetensors",
}


@dataclass
class CardEntry:
    """A card file found in the work tree: the card, or why it could not be loaded."""

    name: str
    path: str
    card: Card | None = None
    error: str | None = None


@dataclass
class AddResult:
    """What `add` did. `status` is 'new', 'new-version', 'updated' or 'unchanged'."""

    name: str
    version: int
    status: str
    card: Card
    card_path: str
    artifact_path: str
    gitignore_changed: bool = False
    commit: str | None = None
    tag: str | None = None
    paths_to_commit: list[str] = field(default_factory=list)
    # What a folder held that was left out: each `.git` (a nested repository's folder, a
    # submodule's or linked worktree's file), as a work-tree path. Not stored, not ignored.
    skipped: list[str] = field(default_factory=list)

    @property
    def short_oid(self) -> str:
        return short(self.card.artifact.oid)


# ------------------------------------------------------------------------------ reading


def card_files(project: Project) -> list[tuple[str, Path]]:
    """(name, path) of every `*.yaml` below `.mreg/models/`, sorted by name."""
    base = project.models_dir
    found: list[tuple[str, Path]] = []
    if not base.is_dir():
        return found
    for here, dirs, files in os.walk(base):
        dirs.sort()
        for fname in files:
            if fname.endswith(".yaml") and not fname.startswith("."):
                path = Path(here) / fname
                found.append((path.relative_to(base).as_posix()[: -len(".yaml")], path))
    return sorted(found)


def read_card(project: Project, path: Path, name: str | None = None) -> Card:
    """Load and validate one card file (InvalidCard names the file)."""
    rel = project.relpath(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidCard(f"{rel}: cannot read: {exc.strerror}") from None
    return parse_card(project, data, rel, name)


def parse_card(project: Project, data: bytes, source: str, name: str | None = None) -> Card:
    """Validate card bytes, through the project's cache of parsed cards (InvalidCard
    names `source`)."""
    try:
        doc = yamlio.load_cached(data, project.state)
    except yamlio.YamlError as exc:
        raise InvalidCard(f"{source}: invalid YAML: {exc}") from None
    return card_mod.from_dict(doc, source=source, expected_name=name)


def list_cards(project: Project) -> list[CardEntry]:
    """Every card in the work tree; a broken one is listed with its error, not raised."""
    out = []
    for name, path in card_files(project):
        entry = CardEntry(name=name, path=project.relpath(path))
        try:
            entry.card = read_card(project, path, name)
        except MregError as exc:
            entry.error = exc.message
        out.append(entry)
    return out


def load_card(project: Project, name: str) -> Card:
    """The work-tree card of a model; ModelNotFound lists the models there are."""
    check_name(name)
    path = project.card_path(name)
    if not path.is_file():
        known = [n for n, _ in card_files(project)]
        raise ModelNotFound(
            f"no model named {name!r}",
            hint=f"models: {', '.join(known)}"
            if known
            else "register one with: mreg add NAME PATH",
        )
    return read_card(project, path, name)


# ------------------------------------------------------------------------------ parsing


def parse_time(value: str, what: str) -> dt.datetime:
    """ISO-8601 (a trailing Z allowed) to an aware UTC datetime."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(
            f"{what}: {value!r} is not an ISO-8601 time", hint="e.g. 2026-11-27T16:02:11Z"
        ) from None
    if when.tzinfo is None:
        when = when.astimezone()  # a naive time is the local time of this machine
    return when.astimezone(dt.timezone.utc)


def _as_time(when: object, what: str) -> dt.datetime:
    """An ISO-8601 string or a datetime (naive: this machine's local time) as an aware
    UTC datetime, so that a naive one and an aware one can be compared."""
    if isinstance(when, str):
        return parse_time(when, what)
    if isinstance(when, dt.datetime):
        return when.astimezone(dt.timezone.utc)
    raise InvalidArgument(
        f"{what}: must be a datetime or an ISO-8601 string, not {type(when).__name__}",
        hint="e.g. datetime.now(timezone.utc) or '2026-11-27T16:02:11Z'",
    )


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def guess_framework(path: Path) -> str | None:
    """Guess a framework from the artifact's suffix (or, for a folder, its files)."""
    if path.is_dir():
        if (path / "saved_model.pb").exists():
            return "tensorflow"
        if (path / "MLmodel").exists():
            return "mlflow"
        if (path / "config.json").exists() and any(path.glob("*.safetensors")):
            return "transformers"
        return None
    return SUFFIX_FRAMEWORKS.get(path.suffix.lower())


def framework_info(name: str) -> dict[str, Any]:
    """{'name': ..., 'version': ...} with the installed version when we can tell."""
    from importlib import metadata

    info: dict[str, Any] = {"name": name}
    dist = FRAMEWORK_DISTS.get(name)
    if dist:
        with contextlib.suppress(metadata.PackageNotFoundError):
            info["version"] = metadata.version(dist)
    return info


# Nested option values merge key by key (`-p tree.depth=7` keeps the file's tree.*).
deep_merge = merge


# ------------------------------------------------------------------------------ adding


def resolve_artifact_path(
    project: Project, path: Path, what: str = "PATH", *, artifact: bool = True
) -> tuple[Path, str]:
    """(absolute path, POSIX path relative to the work tree) for a path a user gave.

    Refuses what is missing, outside the repository (also through a symlink), the
    repository itself, or inside `.mreg/` or a `.git` (at any depth). An `artifact`
    (not a --data path) must not lie beyond a symlinked folder, nor be a symlink to a
    folder: git never applies an ignore rule past a symlink, so .gitignore could not
    keep the bytes out of git.
    """
    root = project.root.resolve()
    absolute = Path(os.path.abspath(path))
    if not os.path.lexists(absolute):
        raise InvalidPath(f"{what} {path} does not exist")
    if not is_within(absolute, root):
        raise InvalidPath(f"{what} {path} is outside the repository {root}")
    # A symlink into the cache is what checkout's `symlink` link type leaves, also with
    # a cache.dir outside the repository.
    into_cache = (
        artifact
        and absolute.is_symlink()
        and is_within(absolute.resolve(), project.cache_dir.resolve())
    )
    if not is_within(absolute.resolve(), root) and not into_cache:
        raise InvalidPath(f"{what} {path} is a symlink leading outside the repository")
    rel = absolute.relative_to(root).as_posix()
    if rel == ".":
        raise InvalidPath(f"{what} {path} is the whole repository")
    try:
        check_relpath(rel, what)  # what a card may hold, or it could not be read back
        rel.encode("utf-8")  # undecodable bytes in a name: a card cannot hold it either
    except UnicodeEncodeError:
        raise InvalidPath(f"{what} {rel!r} is not valid UTF-8", hint="rename it") from None
    except GitSegment:
        raise _inside_git(what, path, rel) from None
    except ValueError as exc:
        raise InvalidPath(str(exc), hint="rename it") from None
    first = rel.split("/")[0]
    if first == MREG_DIR:
        raise InvalidPath(f"{what} {path} is inside {first}/", hint=f"keep models outside {first}/")
    if artifact and not into_cache:
        _refuse_symlinks(root, absolute, rel, what, path)
    return absolute, rel


def _inside_git(what: str, path: Path, rel: str) -> InvalidPath:
    """The error for a path in (or at) a segment git takes for `.git`."""
    parts = rel.split("/")
    at = next(i for i, part in enumerate(parts) if first_git_path([part]) is not None)
    git_dir = "/".join(parts[: at + 1])
    if at == 0:
        return InvalidPath(
            f"{what} {path} is inside {git_dir}/", hint=f"keep models outside {git_dir}/"
        )
    holder = shlex.quote("/".join(parts[:at]))
    where = "" if at == len(parts) - 1 else "inside "
    return InvalidPath(
        f"{what} {path} is {where}{git_dir}, git's own folder of a repository in the work tree",
        hint=f"register the folder that holds it, mreg add NAME {holder}: mreg leaves its"
        f" {parts[at]} out",
    )


def _refuse_symlinks(root: Path, absolute: Path, rel: str, what: str, path: Path) -> None:
    """Refuse an artifact path beyond a symlinked folder (`alias/m.bin`, alias -> real),
    or a symlink to a folder or to a file in the work tree, naming the real path: git
    does not look past a symlink (`git add alias/m.bin` is "beyond a symbolic link"), and
    .gitignore would cover the link, not the bytes. (A symlink into the cache, which the
    `symlink` link type leaves, is not passed here.)"""
    parts = rel.split("/")
    here = root
    for i, part in enumerate(parts):
        here = here / part
        last = i == len(parts) - 1
        if not here.is_symlink():
            continue
        real = here.resolve().joinpath(*parts[i + 1 :])
        shown = real.relative_to(root).as_posix() if is_within(real, root) else str(real)
        link = "/".join(parts[: i + 1])
        if not last:
            why = f"goes through the symlink {link}: git does not look past a symlink"
        elif here.is_dir():
            why = "is a symlink to a folder: git does not look past a symlink"
        else:
            why = f"is a symlink to {shown} in the work tree: .gitignore would name the link"
        raise InvalidPath(
            f"{what} {path} {why}, so .gitignore could not keep the model's bytes out of git",
            hint=f"give the real path: {shlex.quote(shown)}",
        )


def paths_overlap(a: str, b: str) -> bool:
    """True when two artifact paths overlap (equal, or one inside the other)."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def _data_entries(
    project: Project, specs: Sequence[str | os.PathLike[str]]
) -> list[dict[str, Any]]:
    """`[ROLE=]PATH|URI` -> data entries; local paths are hashed. A path object (the
    Python API) is a path, without a role."""
    out: list[dict[str, Any]] = []
    for given in specs:
        role = None
        if isinstance(given, os.PathLike):
            spec, is_uri = os.fspath(given), False
        else:
            spec = given
            m = re.match(r"^([A-Za-z0-9_-]+)=(.+)$", spec)
            if m and "://" not in m.group(1):
                role, spec = m.group(1), m.group(2)
            is_uri = bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", spec))
        entry: dict[str, Any] = {}
        if role:
            entry["role"] = role
        if is_uri:
            entry["uri"] = spec
        else:
            absolute, rel = resolve_artifact_path(project, Path(spec), "--data", artifact=False)
            info = hash_artifact(absolute, rel, project.state, entries=False)
            entry.update(path=rel, oid=info.oid, size=info.size)
        out.append(entry)
    return out


def _check_gitignore(project: Project, rel: str) -> None:
    """Refuse, before anything is written, what _add_to_gitignore could not do."""
    if "\n" in rel or "\r" in rel:
        raise InvalidPath(
            f"{rel!r} holds a line break: .gitignore cannot name it, so its bytes could go"
            " into git",
            hint="rename it",
        )
    path = project.root / ".gitignore"
    if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
        raise InvalidPath(
            ".gitignore is not a regular file (git does not follow a symlinked one), so"
            " mreg cannot keep the model's bytes out of git",
            hint="make .gitignore a plain file",
        )


def _add_to_gitignore(project: Project, rel: str) -> bool:
    """Append `/rel` (escaped) to the work tree's .gitignore unless already there."""
    path = project.root / ".gitignore"
    line = gitignore_pattern(rel)  # checked: no backslash, no line break
    remove_stale_temps(path)  # an interrupted rewrite's temp file, even if none is due now
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if line in text.splitlines():
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    atomic_write(path, (text + line + "\n").encode("utf-8"))
    return True


def add(
    project: Project,
    name: str,
    path: Path,
    *,
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    data: Sequence[str | os.PathLike[str]] | None = None,
    description: str | None = None,
    labels: dict[str, Any] | None = None,
    framework: str | None = None,
    started: str | dt.datetime | None = None,
    finished: str | dt.datetime | None = None,
    commit: bool = False,
    message: str | None = None,
    progress: Progress | None = None,
) -> AddResult:
    """Register the artifact at `path` as model `name` (see docs/getting-started.md)."""
    check_name(name)
    # Plain values, checked (card-spec rule 15): InvalidArgument naming the key.
    if params is not None:
        params = card_mod.plain_values(params, "params", allow_lists=True)
    if metrics is not None:
        metrics = card_mod.plain_values(metrics, "metrics", allow_lists=True)
    if labels is not None:
        labels = card_mod.plain_values(labels, "labels", allow_lists=False)
    absolute, rel = resolve_artifact_path(project, path)
    _check_gitignore(project, rel)
    if commit:
        _refuse_commit_mid_operation(project)
    times = {}
    for what, when in (("started", started), ("finished", finished)):
        if when is not None:
            times[what] = _as_time(when, f"--{what}")
    if "started" in times and "finished" in times and times["finished"] < times["started"]:
        raise InvalidArgument("--finished is before --started")

    with project.lock():
        card_path = project.card_path(name)
        old: Card | None = None
        if card_path.exists():
            try:
                old = read_card(project, card_path, name)
            except InvalidCard as exc:
                if exc.hint is None:  # keep "upgrade mreg" for a newer schema
                    exc.hint = "fix or delete the card by hand; mreg will not overwrite it"
                raise
        for other in project_cards_claiming(project, name, rel):
            raise InvalidPath(
                f"{rel} is already the artifact of model {other!r}",
                hint=f"mreg show {other}",
            )
        if project.git.tracked_under(rel):
            raise InvalidPath(
                f"{rel} is tracked by git; mreg keeps model bytes out of git",
                hint=f"git rm {'-r ' if absolute.is_dir() else ''}--cached {shlex.quote(rel)}",
            )
        # Lineage first: a bad --data must fail before the artifact goes into the cache.
        data_entries = _data_entries(project, data) if data else None
        if absolute.is_dir() and not absolute.is_symlink():
            # A killed checkout's temp files are not part of the model.
            remove_stale_temps_in(absolute)
        # A folder checked out with cache.link: symlink holds links into the cache.
        add_started = time.time_ns()
        info = hash_artifact(
            absolute,
            rel,
            project.state,
            project.store,
            progress,
            project.store.root.resolve(),
            entries=False,
        )
        if info.kind == KIND_FILE:
            _remember_written_blob(project, info.oid, add_started)

        new = _next_card(old, name, rel, info)
        if old is None:  # a model deleted and registered again: its versions stay its own
            new.version = _last_version(project, name) + 1
        if description is not None:
            new.description = description
        for what, given in (("params", params), ("metrics", metrics), ("labels", labels)):
            if given:
                merged = deep_merge(getattr(new, what), given)
                _check_merged(merged, what, allow_lists=what != "labels")
                setattr(new, what, merged)
        if data_entries is not None:
            new.data = data_entries
        fw = framework or (None if new.framework else guess_framework(absolute))
        if fw:
            new.framework = framework_info(fw)
        if times:
            training = dict(new.training)
            training.update({k: iso(v) for k, v in times.items()})
            if "started" in times and "finished" in times:
                secs = (times["finished"] - times["started"]).total_seconds()
                training["duration_s"] = round(secs, 3)
            new.training = training

        if old is not None and old.content() == new.content():
            status = "unchanged"
            new = old
        else:
            status = (
                "new"
                if old is None
                else ("new-version" if new.version != old.version else "updated")
            )
            # Asked only now: an unchanged re-add needs neither (two git runs fewer).
            new.registered = Registered(
                at=iso(dt.datetime.now(dt.timezone.utc)),
                by=project.git.identity(),
                commit=project.git.head_commit(),
                dirty=project.git.is_dirty(exclude=(".mreg/models", ".gitignore")),
            )
            text = card_mod.dump(new)
            try:  # never write a card that mreg would then refuse to read
                # (through the parsed-card cache: the next command need not parse it)
                parse_card(project, text.encode("utf-8"), project.relpath(card_path), name)
            except InvalidCard as exc:
                raise InvalidArgument(
                    f"not registered, the card would be unreadable: {exc.message}",
                    hint="flatten deeply nested params or metrics, or shorten long lists",
                ) from None
            if commit and status in ("new", "new-version"):
                _refuse_taken_tag(project, name, new.version)
            atomic_write(card_path, text.encode("utf-8"))
        ignored = _add_to_gitignore(project, rel)
        card_rel = project.relpath(card_path)
        to_commit = [card_rel]
        setup_files = (".mreg/config.yaml", ".mreg/.gitignore", ".mreg/models/.gitkeep")
        states = project.git.path_states([".gitignore", *setup_files])  # one git status
        if ignored or ".gitignore" in states:
            to_commit.append(".gitignore")
        to_commit += [f for f in setup_files if states.get(f) == "new"]
        result = AddResult(
            name=name,
            version=new.version,
            status=status,
            card=new,
            card_path=card_rel,
            artifact_path=rel,
            gitignore_changed=ignored,
            paths_to_commit=to_commit,
            skipped=list(info.skipped),
        )
        if commit and project.git.path_states(to_commit):
            # Tag the version where it is first committed: also when an earlier add
            # wrote the card but never committed it (an add --commit killed mid-way).
            first = status in ("new", "new-version") or _untagged_new_version(
                project, card_rel, name, new.version
            )
            msg = message or f"mreg: {name} v{new.version}"
            result.commit = project.git.commit_paths(to_commit, msg)
            if first:
                from mreg.stages import ensure_version_tag

                result.tag = ensure_version_tag(project, name, new.version, result.commit).tag
        elif commit and status == "unchanged":
            # Nothing to commit: an earlier add --commit may have been killed between
            # its commit and its tag.
            result.tag = _tag_committed_version(project, card_rel, name, new.version)
    return result


def _check_merged(values: dict[str, Any], what: str, allow_lists: bool) -> None:
    """The card's values with the new ones merged in still follow card-spec rule 15: a
    value the card holds nested (`loss: {train: ..}`) given dotted (`loss.train`), or the
    other way round, would be there twice."""
    try:
        card_mod.check_values(values, what, allow_lists)
    except Exception as exc:  # card._Problem (private to card.py)
        raise InvalidArgument(
            str(exc),
            hint="the card already holds that value spelled the other way (dotted or"
            " nested): give it the card's way, as mreg show NAME prints it",
        ) from None


def _tag_committed_version(project: Project, card_rel: str, name: str, version: int) -> str | None:
    """Tag NAME@vVERSION on the commit that last changed the card, when that commit's
    card is of this version and no such tag exists yet; the tag made, or None."""
    from mreg.stages import ensure_version_tag

    last = project.git.log_path(card_rel, limit=1)
    if not last or _version_tag(project, name, version) is not None:
        return None
    if _card_version(project, f"{last[0].sha}:{card_rel}", name) != version:
        return None
    return ensure_version_tag(project, name, version, last[0].sha).tag


def _untagged_new_version(project: Project, card_rel: str, name: str, version: int) -> bool:
    """True when HEAD's card (if any) is of another version and NAME@vVERSION is free."""
    if project.git.head_commit() and _card_version(project, f"HEAD:{card_rel}", name) == version:
        return False
    return _version_tag(project, name, version) is None


def _refuse_commit_mid_operation(project: Project) -> None:
    """`add --commit` during a merge (cherry-pick, revert): git would refuse the commit
    of the card alone after the card was written, so say so before anything is."""
    from mreg.gitrepo import unfinished_operation

    operation = unfinished_operation(project.root)
    if operation is not None:
        raise GitError(
            f"{operation} is in progress: git cannot commit the card alone; nothing was registered",
            hint="finish it first (git commit, or --abort it), or add without --commit",
        )


def _refuse_taken_tag(project: Project, name: str, version: int) -> None:
    """`add --commit` tags the new version: check before anything is written or
    committed that the tag is free (mreg never moves a tag)."""
    taken = _version_tag(project, name, version)
    if taken is not None:
        tag = taken.name
        raise GitError(
            f"tag {tag} already exists (on commit {taken.commit[:12]}); nothing was registered",
            hint=f"inspect it: git show {tag}; delete it (git tag -d {tag}) if it is stale",
        )


def _last_version(project: Project, name: str) -> int:
    """The highest version `name` has had (0 for none), for a card registered anew.

    Every version its card held in any commit of any branch, tag or remote branch (and
    the stash), as `git log --all` of the card finds them, whether tagged or not, and
    the N of every NAME@vN tag. A model with no such history costs one git run: a tag
    can only add a version when some commit of its has the card, and then the log finds
    that commit too (a NAME@vN tag on a commit without the card is not looked at;
    `add --commit` refuses to take it over).
    """
    from mreg.gitrepo import run_git
    from mreg.history import card_relpath, list_tags
    from mreg.tags import parse_tag

    path = card_relpath(name)
    log = run_git(
        project.root,
        "log",
        "--all",
        "--full-history",
        "--no-renames",
        "--format=%H",
        "--",
        f":(literal){path}",
    )
    commits = log.stdout.decode("ascii").split()
    if not commits:
        return 0
    found: set[bytes] = set()  # each card's bytes once: a metadata update shares them
    for data in project.git.read_blobs([f"{sha}:{path}" for sha in commits]):
        if data is not None:
            found.add(data)
    versions = [_version_of(data, path, name) for data in found]
    events = (parse_tag(t.name) for t in list_tags(project))
    versions += [
        e.version or 0 for e in events if e and e.kind == "registration" and e.name == name
    ]
    return max(versions, default=0)


# A card's top-level `version: N` line, as mreg writes it.
_VERSION_LINE = re.compile(rb"^version:[ \t]*([0-9]{1,30})[ \t]*(?:#[^\r\n]*)?\r?$", re.MULTILINE)


def _version_of(data: bytes, source: str, name: str) -> int:
    """The version of card bytes from git's history; of one that does not parse (a newer
    schema, conflict markers, hand-edited), the highest `version:` line in it, so that
    no number it may hold is given out again; 0 when it has none."""
    try:
        return card_mod.loads(data, source=source, expected_name=name).version
    except MregError:
        return max((int(m.group(1)) for m in _VERSION_LINE.finditer(data)), default=0)


def _version_tag(project: Project, name: str, version: int) -> Any:
    """The TagInfo of NAME@vVERSION, or None when there is no such tag."""
    from mreg.history import list_tags
    from mreg.tags import version_tag

    tag = version_tag(name, version)
    return next((t for t in list_tags(project) if t.name == tag), None)


def _card_version(project: Project, spec: str, name: str) -> int | None:
    """The version of the card git holds at `spec` (REV:PATH); None when there is none
    or it does not parse."""
    data = project.git.read_blob(spec)
    if data is None:
        return None
    try:
        return card_mod.loads(data, expected_name=name).version
    except MregError:
        return None


def project_cards_claiming(project: Project, name: str, rel: str) -> list[str]:
    """Names of other models whose artifact path overlaps rel."""
    out = []
    for entry in list_cards(project):
        if (
            entry.card is not None
            and entry.name != name
            and paths_overlap(entry.card.artifact.path, rel)
        ):
            out.append(entry.name)
    return out


def _remember_written_blob(project: Project, oid: str, started_ns: int) -> None:
    """A blob written during this add holds bytes mreg hashed while writing them: record
    it as known-good, so that checking it out later need not hash it again."""
    try:
        st = os.stat(project.store.blob_path(oid))
    except OSError:
        return
    if st.st_mtime_ns >= started_ns:  # written now; an older blob was not checked here
        project.state.record_blobs([(oid, st)])


def _next_card(old: Card | None, name: str, rel: str, info: Any) -> Card:
    """The card to build on: same version when the bytes are the same, else +1.

    A new version starts its per-version metadata (params, metrics, data, training,
    framework, features) afresh, so one model's numbers never describe another's
    bytes; model-level keys (description, labels, serving, extra, unknown) carry over.
    """
    artifact = Artifact(path=rel, oid=info.oid, kind=info.kind, size=info.size, files=info.files)
    if old is None:
        return Card(name=name, version=1, artifact=artifact)
    if old.artifact.oid == info.oid and old.artifact.kind == info.kind:
        import copy

        same = copy.deepcopy(old)
        same.artifact = artifact
        return same
    return Card(
        name=name,
        version=old.version + 1,
        artifact=artifact,
        description=old.description,
        serving=old.serving,
        labels=old.labels,
        extra=old.extra,
        unknown=old.unknown,
    )
