"""Version tags (`NAME@vN`) and stage tags (`NAME#STAGE#N`, `NAME#STAGE!#N`).

Layer: registry level, pure parsing plus a view over `GitRepo.tags()`. The stage-tag
convention is iterative GTO's, so its users and its CI action read ours: each assignment
or unassignment is a new annotated tag with a counter one above the model's highest, and
the newest counter of a stage wins. Lightweight tags are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mreg.gitrepo import TagInfo
from mreg.names import NAME_RE, STAGE_RE

_VERSION_TAG = re.compile(r"^(?P<name>.+)@v(?P<version>[1-9][0-9]*)\Z")
_STAGE_TAG = re.compile(r"^(?P<name>.+)#(?P<stage>[^#!]+)(?P<demote>!?)#(?P<n>[1-9][0-9]*)\Z")


@dataclass(frozen=True)
class TagEvent:
    """What an mreg tag means. kind: registration | assignment | unassignment."""

    kind: str
    name: str
    version: int | None = None
    stage: str | None = None
    counter: int | None = None


def version_tag(name: str, version: int) -> str:
    return f"{name}@v{version}"


def stage_tag(name: str, stage: str, counter: int, demote: bool = False) -> str:
    return f"{name}#{stage}{'!' if demote else ''}#{counter}"


def parse_tag(tag: str) -> TagEvent | None:
    """Parse a tag name (or `refs/tags/...`); None when it is not an mreg tag.

    Any other full ref (`refs/heads/...`, `refs/remotes/...`) is a branch, never a tag,
    even when its last part looks like one.
    """
    if tag.startswith("refs/tags/"):
        tag = tag[len("refs/tags/") :]
    elif tag.startswith("refs/"):
        return None
    m = _STAGE_TAG.match(tag)
    if m and NAME_RE.match(m["name"]) and STAGE_RE.match(m["stage"]):
        kind = "unassignment" if m["demote"] else "assignment"
        return TagEvent(kind, m["name"], stage=m["stage"], counter=int(m["n"]))
    m = _VERSION_TAG.match(tag)
    if m and NAME_RE.match(m["name"]):
        return TagEvent("registration", m["name"], version=int(m["version"]))
    return None


@dataclass(frozen=True)
class StageEvent:
    """One stage assignment or unassignment, from its annotated tag."""

    name: str
    stage: str
    counter: int
    assigned: bool
    commit: str
    tag: str
    by: str
    at: str
    message: str


def stage_events(tags: list[TagInfo], name: str | None = None) -> list[StageEvent]:
    """Every stage event (of one model, or all), oldest counter first."""
    out = []
    for t in tags:
        if not t.annotated:
            continue
        ev = parse_tag(t.name)
        if ev is None or ev.kind == "registration" or (name is not None and ev.name != name):
            continue
        assert ev.stage is not None and ev.counter is not None  # set for stage events
        out.append(
            StageEvent(
                name=ev.name,
                stage=ev.stage,
                counter=ev.counter,
                assigned=ev.kind == "assignment",
                commit=t.commit,
                tag=t.name,
                by=t.tagger,
                at=t.date,
                message=t.message,
            )
        )
    return sorted(out, key=lambda e: (e.name, e.counter))


def next_counter(tags: list[TagInfo], name: str) -> int:
    """One above the highest stage counter among this model's tags (GTO's rule).

    A lightweight tag is no assignment, but its name is taken: the counter steps past
    it rather than failing to create a tag that exists.
    """
    counter = max((e.counter for e in stage_events(tags, name)), default=0) + 1
    taken = set()
    for t in tags:
        ev = parse_tag(t.name)
        if ev is not None and ev.name == name and ev.counter is not None:
            taken.add(ev.counter)
    while counter in taken:
        counter += 1
    return counter


def current_stages(events: list[StageEvent]) -> dict[tuple[str, str], StageEvent]:
    """(name, stage) -> the newest event of that stage that is an assignment."""
    latest: dict[tuple[str, str], StageEvent] = {}
    for e in events:
        key = (e.name, e.stage)
        if key not in latest or e.counter > latest[key].counter:
            latest[key] = e
    return {k: e for k, e in latest.items() if e.assigned}


def version_tags(tags: list[TagInfo]) -> dict[str, TagInfo]:
    """`NAME@vN` tag name -> tag (annotated or not: a user may tag by hand)."""
    return {t.name: t for t in tags if _VERSION_TAG.match(t.name)}
