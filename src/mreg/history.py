"""Model history from git: cards at any revision, log, versions, stages, resolving refs.

Layer: registry level, above card/gitrepo/tags. Cards are read from git objects through
one `git cat-file --batch` process (never by checking anything out), and tags are listed
once per command.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from mreg import card as card_mod
from mreg import registry
from mreg.card import Card
from mreg.errors import (
    GitError,
    InvalidArgument,
    InvalidCard,
    ModelNotFound,
    MregError,
)
from mreg.gitrepo import CommitInfo, TagInfo
from mreg.names import check_name, check_unassigned_stage
from mreg.project import Project
from mreg.refs import Ref
from mreg.tags import current_stages, stage_events, version_tag, version_tags

MODELS_DIR = ".mreg/models"
UNSHALLOW_FIX = "git fetch --unshallow --tags"
UNSHALLOW_HINT = f"the history or tags may be missing: {UNSHALLOW_FIX}"


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


def _no_such_model(project: Project, name: str, where: str = "") -> ModelNotFound:
    """The error for a model that does not exist, naming the models that do."""
    known = [n for n, _ in registry.card_files(project)]
    hint = f"models: {', '.join(known)}" if known else "register one with: mreg add NAME PATH"
    return ModelNotFound(f"no model named {name!r}{where}", hint=hint)


def require_model(project: Project, name: str) -> None:
    """Refuse a model that is neither in the work tree nor in any commit."""
    if project.card_path(name).exists():
        return
    if project.git.log_path(card_relpath(name), all_refs=True, limit=1):
        return
    raise _no_such_model(project, name)


def _model_names(paths: list[str]) -> list[str]:
    """Model names of the card files among `paths` (below MODELS_DIR)."""
    out = []
    for path in paths:
        if path.endswith(".yaml") and not path.rsplit("/", 1)[-1].startswith("."):
            out.append(path[len(MODELS_DIR) + 1 : -len(".yaml")])
    return out


class _Blobs:
    """The blobs of `specs`, read in order a chunk at a time through one batched
    `git cat-file` (GitRepo.read_blobs): a round trip per chunk, not one per blob."""

    def __init__(self, project: Project, specs: list[str], chunk: int) -> None:
        self._git = project.git
        self._specs = list(dict.fromkeys(specs))
        self._index = {s: i for i, s in enumerate(self._specs)}
        self._done = 0
        self._chunk = max(chunk, 1)
        self._got: dict[str, bytes | None] = {}

    def get(self, spec: str) -> bytes | None:
        if spec not in self._got:
            i = self._index.get(spec)
            if i is None:
                return self._git.read_blob(spec)
            end = max(i + 1, self._done + self._chunk)
            batch = self._specs[self._done : end]
            self._got.update(zip(batch, self._git.read_blobs(batch), strict=True))
            self._done = end
        return self._got[spec]


def _load(data: bytes, source: str, name: str) -> Card:
    return card_mod.loads(data, source=source, expected_name=name)


def card_at(project: Project, name: str, rev: str) -> Card:
    """The card of `name` as committed at `rev`."""
    check_name(name)
    sha = require_rev(project, rev)
    data = project.git.read_blob(f"{sha}:{card_relpath(name)}")
    if data is None:
        known = _model_names([p for p, _ in project.git.ls_tree(sha, MODELS_DIR)])
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
    return _cards_at_rev(project, rev, {})


def _cards_at_rev(
    project: Project, rev: str, parsed: dict[tuple[str, str], Card]
) -> dict[str, Card | str]:
    """cards_at for a revision. `parsed` maps (blob sha, name) to the card already read
    from that blob, so that the two sides of a diff read and parse the files they share
    once (the cards are not changed by anyone who reads them)."""
    sha = require_rev(project, rev)
    rows = []
    for path, blob in project.git.ls_tree(sha, MODELS_DIR):
        names = _model_names([path])
        if names:
            rows.append((path, blob, names[0]))
    need = list(dict.fromkeys(blob for _, blob, name in rows if (blob, name) not in parsed))
    data_of = dict(zip(need, project.git.read_blobs(need), strict=True))
    out: dict[str, Card | str] = {}
    for path, blob, name in rows:
        card = parsed.get((blob, name))
        if card is None:
            try:
                card = _load(data_of[blob] or b"", f"{path} at {rev}", name)
            except MregError as exc:
                out[name] = exc.message
                continue
            parsed[(blob, name)] = card
        out[name] = card
    return out


def log(
    project: Project, name: str, limit: int | None = None, all_refs: bool = False
) -> list[LogEntry]:
    """Every commit that changed the card, newest first, with tags and stages beside.

    Merged branches are followed (two branches that each made a version both show); a
    merge that kept its first parent's card changed nothing and is left out. An entry
    is a metadata-only update when its first parent's card had the same artifact oid:
    not the same version, which two branches may each have made with other bytes.
    """
    check_name(name)
    path = card_relpath(name)
    commits = project.git.log_path(path, all_refs=all_refs)
    if not commits:
        require_model(project, name)
        return []
    specs = []
    for c in commits:
        specs.append(f"{c.sha}:{path}")
        if c.parents:
            specs.append(f"{c.parents[0]}:{path}")
    # Read in batches; with a limit, a little more than it needs (merges may be skipped).
    blobs = _Blobs(project, specs, len(specs) if limit is None else 2 * limit + 16)
    parsed: dict[bytes, Card | str] = {}

    def load(data: bytes, sha: str) -> Card | str:
        if data not in parsed:
            try:
                parsed[data] = _load(data, f"{path} at {sha[:12]}", name)
            except MregError as exc:
                parsed[data] = exc.message
        return parsed[data]

    entries: list[LogEntry] = []
    for c in commits:
        if limit is not None and len(entries) >= limit:
            break
        data = blobs.get(f"{c.sha}:{path}")
        before = blobs.get(f"{c.parents[0]}:{path}") if c.parents else None
        if len(c.parents) > 1 and data == before:
            continue  # a merge that kept the card of its first parent
        entry = LogEntry(commit=c)
        if data is None:
            entry.deleted = True
        else:
            got = load(data, c.sha)
            if isinstance(got, str):
                entry.error = got
            else:
                entry.card = got
                prev = load(before, c.parents[0]) if before is not None else None
                entry.metadata_only = (
                    isinstance(prev, Card) and prev.artifact.oid == got.artifact.oid
                )
        entries.append(entry)
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
    return entries


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
    if not seen_versions:
        require_model(project, name)
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
            check_unassigned_stage(ref.stage)
            stages = sorted({s for (_, s) in live})
            if stages:
                hint = f"stages of {ref.name}: {', '.join(stages)}"
                if project.git.is_shallow():  # the tag may not have been fetched
                    hint += f"; or, in this shallow clone: {UNSHALLOW_FIX}"
            else:
                require_model(project, ref.name)
                hint = (
                    f"assign one: mreg promote {ref.name}@vN {ref.stage}; "
                    f"or, if the tags were not fetched: {UNSHALLOW_FIX}"
                )
            raise ModelNotFound(f"{ref.name} has no version in stage {ref.stage!r}", hint=hint)
        data = project.git.read_blob(f"{ev.commit}:{card_relpath(ref.name)}")
        if data is None:
            raise ModelNotFound(f"stage tag {ev.tag} points at a commit without {ref.name}'s card")
        card = _load(data, f"{card_relpath(ref.name)} at {ev.tag}", ref.name)
        return Resolved(str(ref), card, ev.commit, ref.stage)
    return Resolved(str(ref), registry.load_card(project, ref.name))


def referenced_cards(
    project: Project,
    scope: str,
    strict: bool = False,
    worktree: list[registry.CardEntry] | None = None,
) -> list[Card]:
    """Cards that something still refers to.

    scope "worktree": the work-tree cards; "branch": plus every card version committed
    in the history of HEAD; "all": plus every commit reachable from any branch, tag or
    stash, and the index. A work-tree card that does not parse is skipped; with
    `strict`, a work-tree or staged card that does not parse raises InvalidCard instead
    (it is likely being mended, and gc must not drop the blobs it names). A committed
    card that does not parse (one an older mreg wrote, before a rule got stricter)
    counts by its artifact alone when that can be read (card.artifact_only: a card with
    only name, version and artifact), so that gc keeps the blobs of that version; one
    whose artifact cannot be read either is skipped, as nothing tells its blobs.
    `worktree`: the work tree's entries (registry.list_cards) when the caller has them
    already.
    """
    cards: list[Card] = []
    for entry in registry.list_cards(project) if worktree is None else worktree:
        if entry.card is not None:
            cards.append(entry.card)
        elif strict:
            raise _unreadable(entry.error or entry.path)
    if scope == "worktree":
        return cards
    blobs = project.git.changed_blobs(MODELS_DIR, all_refs=scope == "all")
    staged = project.git.index_files(MODELS_DIR) if scope == "all" else []
    seen: set[str] = set()
    for path, blob in staged + blobs:
        if blob in seen or not path.endswith(".yaml"):
            continue
        seen.add(blob)
        data = project.git.read_blob(blob)
        if data is None:
            continue
        try:
            cards.append(card_mod.loads(data, source=path))
        except MregError as exc:
            if strict and (path, blob) in staged:
                raise _unreadable(f"{exc.message} (the staged card)") from None
            name = path[len(MODELS_DIR) + 1 : -len(".yaml")]  # the file's, for labels
            with contextlib.suppress(MregError):
                cards.append(card_mod.artifact_only(data, name, source=path))
    return cards


def _unreadable(problem: str) -> InvalidCard:
    return InvalidCard(
        f"cannot tell which blobs a card needs: {problem}",
        hint="mend the card (mreg status lists it), or delete it if the model is gone",
    )


@dataclass
class Comparison:
    """Two sides of a diff: labels as the user typed them, the cards on each side, and
    notes for the user about how A or B was read."""

    label_a: str
    label_b: str
    old: dict[str, Card | str]
    new: dict[str, Card | str]
    notes: list[str] = field(default_factory=list)


def compare(
    project: Project, a: str | None = None, b: str | None = None, names: list[str] | None = None
) -> Comparison:
    """The cards to compare for `mreg diff [A [B]]`: two git revisions (default HEAD and
    the work tree) or model refs (B defaults to the work-tree card of A's model).

    Beside a model ref, a bare model name on either side is that model's work-tree card,
    as everywhere a ref is taken, even when a branch or tag has that name too: a revision
    cannot be compared with a model ref, so the card is the only reading that answers
    (`NAME@NAME` is the card at that revision; a note says so). With no model ref on
    either side, A and B are git revisions, as in `git diff`.
    """
    from mreg.refs import is_model_ref, parse_ref

    hint = "two revisions (mreg diff main HEAD) or two refs (mreg diff churn@v1 churn@v2)"
    a_ref = a is not None and is_model_ref(a)
    if a_ref or (b is not None and is_model_ref(b)):
        if a is None:
            raise InvalidArgument(
                f"cannot compare revision 'HEAD' with model reference {b!r}", hint=hint
            )
        if names:
            raise InvalidArgument(
                "--name picks models between two revisions; model references name theirs",
                hint=hint,
            )
        notes = [
            note
            for side, ref, left in ((a, b, True), (b, a, False))
            if side is not None and ref is not None and not is_model_ref(side)
            for note in _bare_side(project, side, ref, left)
        ]
        ra = resolve(project, parse_ref(a))
        rb = resolve(project, parse_ref(b if b is not None else ra.card.name))
        old: dict[str, Card | str] = {ra.card.name: ra.card}
        new: dict[str, Card | str] = {rb.card.name: rb.card}
        return Comparison(a, b if b is not None else "workspace", old, new, notes)
    for side in (a, b):
        if side is not None:
            _model_is_no_revision(project, side)
    rev_a = a or "HEAD"
    parsed: dict[tuple[str, str], Card] = {}
    if rev_a == "HEAD" and project.git.head_commit() is None:
        old = {}  # no commits yet: everything in the work tree is new
    else:
        old = _cards_at_rev(project, rev_a, parsed)
    new = _cards_at_rev(project, b, parsed) if b is not None else cards_at(project, None)
    if names:
        for n in names:
            check_name(n)
        missing = [n for n in names if n not in old and n not in new]
        if missing:
            known = sorted(set(old) | set(new))
            raise ModelNotFound(
                f"no model named {missing[0]!r} at {rev_a} or {b or 'the work tree'}",
                hint=f"models: {', '.join(known)}" if known else None,
            )
        old = {k: v for k, v in old.items() if k in names}
        new = {k: v for k, v in new.items() if k in names}
    return Comparison(rev_a, b or "workspace", old, new)


def _bare_side(project: Project, text: str, ref: str, left: bool) -> list[str]:
    """Check one side of `mreg diff` that is no model ref, beside the model ref `ref`:
    a bare model name is read as its work-tree card (a note when it is also a revision);
    a revision that is no model here is refused, naming both sides in the user's order."""
    from mreg.refs import is_bare_name, parse_ref

    if is_bare_name(text):
        is_rev = project.git.rev_parse(text) is not None
        if project.card_path(text).exists():
            if not is_rev:
                return []
            return [
                f"note: {text!r} is also a git revision; beside a model ref it is {text}'s "
                f"work-tree card (for the card at that revision: {text}@{text})"
            ]
        if not is_rev:
            return []  # neither: resolving it says there is no such model
    name = parse_ref(ref).name
    pair = [f"revision {text!r}", f"model reference {ref!r}"]
    sides = [f"{name}@{text}", ref]
    if not left:
        pair.reverse()
        sides.reverse()
    raise InvalidArgument(
        f"cannot compare {pair[0]} with {pair[1]}",
        hint=f"for {name}'s card at {text}: mreg diff {sides[0]} {sides[1]}",
    )


def _model_is_no_revision(project: Project, side: str) -> None:
    """A model name where only git revisions are taken (`mreg diff churn`) that is no
    revision: say how to compare its card, rather than "see: git log"."""
    from mreg.refs import is_bare_name

    if not is_bare_name(side) or not project.card_path(side).exists():
        return
    if project.git.head_commit() is None or project.git.rev_parse(side) is not None:
        return  # no commits yet (compare says so), or a revision after all
    raise GitError(
        f"unknown revision {side!r}",
        hint=f"{side} is a model, not a git revision: mreg diff {side}@HEAD {side} compares"
        " its committed card with the work tree",
    )
