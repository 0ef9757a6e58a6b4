"""Version tags and stage assignments as annotated git tags: tag, promote, demote, list.

Layer: registry level, above history/tags/gitrepo.
"""

from __future__ import annotations

from dataclasses import dataclass

from mreg.errors import GitError, InvalidArgument, ModelNotFound
from mreg.history import card_relpath, find_version, list_tags, require_model, resolve
from mreg.names import check_name, check_stage, check_unassigned_stage
from mreg.project import Project
from mreg.refs import parse_ref
from mreg.tags import (
    StageEvent,
    current_stages,
    next_counter,
    stage_events,
    stage_tag,
    version_tag,
)


@dataclass
class TagResult:
    """A tag mreg made (or found already in place). version is None only for a demote
    whose stage tag is on a commit without a readable card of the model."""

    tag: str
    name: str
    version: int | None
    commit: str
    created: bool
    stage: str | None = None


def _committed_version(project: Project, text: str) -> tuple[str, int, str]:
    """(name, version, commit of that version) for a ref; a plain name means the
    version in the work tree, which must be committed."""
    ref = parse_ref(text)
    if ref.is_worktree:
        card = resolve(project, ref).card
        commit, _ = find_version(project, ref.name, card.version)
        return ref.name, card.version, commit
    res = resolve(project, ref)
    commit, _ = find_version(project, ref.name, res.card.version)
    return ref.name, res.card.version, commit


def tag_version(project: Project, text: str) -> TagResult:
    """Create the annotated tag NAME@vN on the commit of that version."""
    with project.lock():  # two taggers at once: the second finds the tag in place
        project.tag_cache = None
        name, version, commit = _committed_version(project, text)
        return ensure_version_tag(project, name, version, commit)


def ensure_version_tag(project: Project, name: str, version: int, commit: str) -> TagResult:
    tag = version_tag(name, version)
    existing = {t.name: t for t in list_tags(project)}.get(tag)
    if existing is not None:
        if existing.commit != commit:
            raise GitError(
                f"tag {tag} already exists on commit {existing.commit[:12]}, not {commit[:12]}",
                hint=f"inspect it: git show {tag}; mreg never moves a tag",
            )
        return TagResult(tag, name, version, commit, created=False)
    project.git.create_tag(tag, commit, f"mreg: {name} v{version}")
    project.tag_cache = None
    return TagResult(tag, name, version, commit, created=True)


def promote(project: Project, text: str, stage: str, message: str | None = None) -> TagResult:
    """Assign `stage` to the version `text` names: tag NAME#STAGE#N (N one above the
    model's highest stage counter).

    When the stage's current tag is already on that version's commit, nothing would
    change: no tag is made (a second one would look like a new assignment to a deploy job
    on tag pushes), `message` is not recorded, and the result is that tag with created
    False.
    """
    check_stage(stage, new=True)
    # Under the lock, so that two promotions at once do not pick the same counter.
    with project.lock():
        project.tag_cache = None
        name, version, commit = _committed_version(project, text)
        tags = list_tags(project)
        live = current_stages(stage_events(tags, name)).get((name, stage))
        if live is not None and live.commit == commit:
            return TagResult(live.tag, name, version, commit, created=False, stage=stage)
        counter = next_counter(tags, name)
        tag = stage_tag(name, stage, counter)
        project.git.create_tag(
            tag, commit, message or f"mreg: promote {name} v{version} to {stage}"
        )
        project.tag_cache = None
    return TagResult(tag, name, version, commit, created=True, stage=stage)


def demote(project: Project, name: str, stage: str, message: str | None = None) -> TagResult:
    """Unassign `stage` from a model: tag NAME#STAGE!#N on the version that had it."""
    check_name(name)
    check_stage(stage)
    with project.lock():  # like promote: one counter per tag
        project.tag_cache = None
        tags = list_tags(project)
        live = current_stages(stage_events(tags, name)).get((name, stage))
        if live is None:
            require_model(project, name)
            check_unassigned_stage(stage)  # as which/show/checkout (history.resolve)
            raise ModelNotFound(
                f"{name} has no version in stage {stage!r}", hint=f"mreg stages {name}"
            )
        # The version is only reported: a card broken or gone at that commit does not
        # stop the stage from being cleared.
        version = _version_at(project, name, live.commit)
        tag = stage_tag(name, stage, next_counter(tags, name), demote=True)
        project.git.create_tag(tag, live.commit, message or f"mreg: demote {name} from {stage}")
        project.tag_cache = None
    return TagResult(tag, name, version, live.commit, created=True, stage=stage)


@dataclass
class StageRow:
    """A stage of a model: its version now (or each assignment, with history)."""

    name: str
    stage: str
    version: int | None
    commit: str
    tag: str
    by: str
    at: str
    assigned: bool
    message: str


def list_stages(project: Project, name: str | None = None, history: bool = False) -> list[StageRow]:
    """Current stage of each model (or every event with history), from one tag listing."""
    if name is not None:
        check_name(name)
    events = stage_events(list_tags(project), name)
    if name is not None and not events:
        require_model(project, name)
    chosen: list[StageEvent] = events if history else list(current_stages(events).values())
    chosen.sort(key=lambda e: (e.name, e.stage, e.counter))
    # Every card needed, read in one batch; each distinct card parsed once.
    keys = list(dict.fromkeys((ev.name, ev.commit) for ev in chosen))
    blobs = project.git.read_blobs([f"{commit}:{card_relpath(n)}" for n, commit in keys])
    parsed: dict[tuple[str, bytes], int | None] = {}
    versions: dict[tuple[str, str], int | None] = {}
    for (n, commit), data in zip(keys, blobs, strict=True):
        if data is not None and (n, data) not in parsed:
            parsed[(n, data)] = _version_in(data, n, commit)
        versions[(n, commit)] = None if data is None else parsed[(n, data)]
    rows = []
    for ev in chosen:
        key = (ev.name, ev.commit)
        rows.append(
            StageRow(
                ev.name,
                ev.stage,
                versions[key],
                ev.commit,
                ev.tag,
                ev.by,
                ev.at,
                ev.assigned,
                ev.message,
            )
        )
    return rows


def _version_at(project: Project, name: str, commit: str) -> int | None:
    data = project.git.read_blob(f"{commit}:{card_relpath(name)}")
    if data is None:
        return None
    return _version_in(data, name, commit)


def _version_in(data: bytes, name: str, commit: str) -> int | None:
    """The version of the card `data` (None when it is not a valid card of `name`)."""
    from mreg import card as card_mod
    from mreg.errors import MregError

    try:
        return card_mod.loads(data, source=commit, expected_name=name).version
    except MregError:
        return None


def check_message(message: str | None) -> str | None:
    if message is not None and not message.strip():
        raise InvalidArgument("the tag message is empty")
    return message
