"""Model history from git: cards at any revision, log, versions, stages, resolving refs.

Layer: registry level, above card/gitrepo/tags. Cards are read from git objects through
one `git cat-file --batch` process (never by checking anything out), and tags are listed
once per command.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from mreg import card as card_mod
from mreg import registry
from mreg.card import Card
from mreg.errors import GitError, InvalidArgument, ModelNotFound, MregError
from mreg.gitrepo import CommitInfo, TagInfo
from mreg.names import check_name
from mreg.project import Project
from mreg.refs import Ref
from mreg.tags import current_stages, stage_events, version_tag, version_tags

MODELS_DIR = ".mreg/models"
UNSHALLOW_HINT = "the history or tags may be missing: git fetch --unshallow --tags"


def card_relpath(name: str) -> str:
    return f"{MODELS_DIR}/{name}.yaml"


@dataclass
class Resolved:
    """A reference resolved to a card. commit is None for the work tree."""

    ref: str
    card: Card
    commit: str | None = None
    stage: str | None = None


@dataclass
class LogEntry:
    """One commit that changed a model's card."""

    commit: CommitInfo
    card: Card | None = None
    error: str | None = None
    deleted: bool = False
    metadata_only: bool = False
    tags: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)


def list_tags(project: Project) -> list[TagInfo]:
    if project.tag_cache is None:
        project.tag_cache = project.git.tags()
    return project.tag_cache


def require_rev(project: Project, rev: str) -> str:
    """The commit sha of `rev`, or exit 3 naming it (with a hint in shallow clones)."""
    if project.git.head_commit() is None:
        raise GitError(
            f"unknown revision {rev!r}: the repository has no commits yet",
            hint="commit first: git commit",
        )
    sha = project.git.rev_parse(rev)
    if sha is None:
        hint = UNSHALLOW_HINT if project.git.is_shallow() else "see: git log --oneline"
        raise GitError(f"unknown revision {rev!r}", hint=hint)
    return sha


def _load(data: bytes, source: str, name: str) -> Card:
    return card_mod.loads(data, source=source, expected_name=name)


def card_at(project: Project, name: str, rev: str) -> Card:
    """The card of `name` as committed at `rev`."""
    check_name(name)
    sha = require_rev(project, rev)
    data = project.git.read_blob(f"{sha}:{card_relpath(name)}")
    if data is None:
        known = [p[len(MODELS_DIR) + 1 : -5] for p, _ in project.git.ls_tree(sha, MODELS_DIR)]
        raise ModelNotFound(
            f"no model named {name!r} at {rev}",
            hint=f"models at {rev}: {', '.join(known)}" if known else None,
        )
    return _load(data, f"{card_relpath(name)} at {rev}", name)


def cards_at(project: Project, rev: str | None) -> dict[str, Card | str]:
    """name -> card (or the reason it is broken) at `rev`; None means the work tree."""
    out: dict[str, Card | str] = {}
    if rev is None:
        for entry in registry.list_cards(project):
            out[entry.name] = entry.card if entry.card is not None else str(entry.error)
        return out
    sha = require_rev(project, rev)
    for path, blob in project.git.ls_tree(sha, MODELS_DIR):
        if not path.endswith(".yaml") or path.rsplit("/", 1)[-1].startswith("."):
            continue
        name = path[len(MODELS_DIR) + 1 : -len(".yaml")]
        data = project.git.read_blob(blob)
        try:
            out[name] = _load(data or b"", f"{path} at {rev}", name)
        except MregError as exc:
            out[name] = exc.message
    return out


def log(
    project: Project, name: str, limit: int | None = None, all_refs: bool = False
) -> list[LogEntry]:
    """Every commit that changed the card, newest first, with tags and stages beside."""
    check_name(name)
    path = card_relpath(name)
    commits = project.git.log_path(path, all_refs=all_refs)
    if not commits:
        if not project.card_path(name).exists():
            raise ModelNotFound(f"no model named {name!r} in the history", hint="mreg ls")
        return []
    entries = []
    for c in commits:
        entry = LogEntry(commit=c)
        data = project.git.read_blob(f"{c.sha}:{path}")
        if data is None:
            entry.deleted = True
        else:
            try:
                entry.card = _load(data, f"{path} at {c.sha[:12]}", name)
            except MregError as exc:
                entry.error = exc.message
        entries.append(entry)
    # Same version as the commit before it: a metadata-only update.
    for newer, older in itertools.pairwise(entries):
        if newer.card and older.card and newer.card.version == older.card.version:
            newer.metadata_only = True
    tags = list_tags(project)
    by_commit: dict[str, list[str]] = {}
    for t in tags:
        by_commit.setdefault(t.commit, []).append(t.name)
    live = current_stages(stage_events(tags, name))
    stage_by_commit: dict[str, list[str]] = {}
    for (_, stage), ev in live.items():
        stage_by_commit.setdefault(ev.commit, []).append(stage)
    for e in entries:
        e.tags = sorted(t for t in by_commit.get(e.commit.sha, []) if t.startswith(f"{name}@"))
        e.stages = sorted(stage_by_commit.get(e.commit.sha, []))
    return entries[:limit] if limit else entries


def find_version(project: Project, name: str, version: int) -> tuple[str, Card]:
    """(commit, card) where `version` of `name` was first committed.

    The version tag wins when it exists; else the first-parent line of HEAD is searched,
    then every branch (two branches that each made a version N: the first-parent one).
    """
    check_name(name)
    path = card_relpath(name)
    tag = version_tags(list_tags(project)).get(version_tag(name, version))
    if tag is not None:
        data = project.git.read_blob(f"{tag.commit}:{path}")
        if data is not None:
            card = _load(data, f"{path} at {tag.name}", name)
            if card.version == version:
                return tag.commit, card
    seen_versions: set[int] = set()
    for all_refs in (False, True):
        commits = project.git.log_path(path, first_parent=not all_refs, all_refs=all_refs)
        for c in reversed(commits):  # oldest first
            data = project.git.read_blob(f"{c.sha}:{path}")
            if data is None:
                continue
            try:
                card = _load(data, path, name)
            except MregError:
                continue
            seen_versions.add(card.version)
            if card.version == version:
                return c.sha, card
    if not seen_versions and not project.card_path(name).exists():
        raise ModelNotFound(f"no model named {name!r}", hint="mreg ls")
    known = ", ".join(f"v{v}" for v in sorted(seen_versions)) or "none committed"
    hint = UNSHALLOW_HINT if project.git.is_shallow() else f"versions of {name}: {known}"
    raise ModelNotFound(f"{name} has no committed version {version}", hint=hint)


def resolve(project: Project, ref: Ref) -> Resolved:
    """Resolve a parsed reference to its card (and the commit it comes from)."""
    if ref.version is not None:
        commit, card = find_version(project, ref.name, ref.version)
        return Resolved(str(ref), card, commit)
    if ref.rev is not None:
        card = card_at(project, ref.name, ref.rev)
        return Resolved(str(ref), card, require_rev(project, ref.rev))
    if ref.stage is not None:
        events = stage_events(list_tags(project), ref.name)
        live = current_stages(events)
        ev = live.get((ref.name, ref.stage))
        if ev is None:
            stages = sorted({s for (_, s) in live})
            if stages:
                hint = f"stages of {ref.name}: {', '.join(stages)}"
            elif project.git.is_shallow() or not list_tags(project):
                hint = UNSHALLOW_HINT
            else:
                hint = f"assign one: mreg promote {ref.name}@vN {ref.stage}"
            raise ModelNotFound(f"{ref.name} has no version in stage {ref.stage!r}", hint=hint)
        data = project.git.read_blob(f"{ev.commit}:{card_relpath(ref.name)}")
        if data is None:
            raise ModelNotFound(f"stage tag {ev.tag} points at a commit without {ref.name}'s card")
        card = _load(data, f"{card_relpath(ref.name)} at {ev.tag}", ref.name)
        return Resolved(str(ref), card, ev.commit, ref.stage)
    return Resolved(str(ref), registry.load_card(project, ref.name))


def referenced_cards(project: Project, scope: str) -> list[Card]:
    """Cards that something still refers to.

    scope "worktree": the work-tree cards; "branch": plus every card version committed
    in the history of HEAD; "all": plus every commit reachable from any branch, tag or
    stash, and the index. Broken cards are skipped.
    """
    cards: list[Card] = [e.card for e in registry.list_cards(project) if e.card is not None]
    if scope == "worktree":
        return cards
    blobs = project.git.changed_blobs(MODELS_DIR, all_refs=scope == "all")
    if scope == "all":
        blobs += project.git.index_files(MODELS_DIR)
    seen: set[str] = set()
    for path, blob in blobs:
        if blob in seen or not path.endswith(".yaml"):
            continue
        seen.add(blob)
        data = project.git.read_blob(blob)
        if data is None:
            continue
        try:
            cards.append(card_mod.loads(data, source=path))
        except MregError:
            continue
    return cards


@dataclass
class Comparison:
    """Two sides of a diff: labels as the user typed them, and the cards on each side."""

    label_a: str
    label_b: str
    old: dict[str, Card | str]
    new: dict[str, Card | str]


def _is_model_ref(text: str) -> bool:
    return "@" in text or "#" in text


def compare(
    project: Project, a: str | None = None, b: str | None = None, names: list[str] | None = None
) -> Comparison:
    """The cards to compare for `mreg diff [A [B]]`: two git revisions (default HEAD and
    the work tree) or two model refs (B defaults to the work-tree card of A's model)."""
    from mreg.refs import parse_ref

    if a is not None and _is_model_ref(a):
        ra = resolve(project, parse_ref(a))
        rb = resolve(project, parse_ref(b if b is not None else ra.card.name))
        label_b = b if b is not None else "workspace"
        old: dict[str, Card | str] = {ra.card.name: ra.card}
        new: dict[str, Card | str] = {rb.card.name: rb.card}
        return Comparison(a, label_b, old, new)
    if b is not None and _is_model_ref(b):
        raise InvalidArgument(
            f"cannot compare revision {a!r} with model reference {b!r}",
            hint="two revisions (mreg diff main HEAD) or two refs (mreg diff churn@v1 churn@v2)",
        )
    rev_a = a or "HEAD"
    if rev_a == "HEAD" and project.git.head_commit() is None:
        old = {}  # no commits yet: everything in the work tree is new
    else:
        old = cards_at(project, rev_a)
    new = cards_at(project, b)
    if names:
        for n in names:
            check_name(n)
        old = {k: v for k, v in old.items() if k in names}
        new = {k: v for k, v in new.items() if k in names}
    return Comparison(rev_a, b or "workspace", old, new)
