"""Model references: `NAME`, `NAME@vN`, `NAME@REV`, `NAME#STAGE`; parse and resolve.

Layer: registry level. Parsing is pure; resolving a ref other than a plain name reads git
history through `mreg.history` (`resolve` here first refuses a stage name mreg could never
have assigned, unless a tag made outside mreg holds it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mreg.card import Card
from mreg.errors import InvalidName
from mreg.names import MAX_STAGE, NAME_RE, check_name, check_stage
from mreg.project import Project

if TYPE_CHECKING:
    from mreg.history import Resolved

VERSION_RE = re.compile(r"^v([1-9][0-9]*)\Z")


@dataclass(frozen=True)
class Ref:
    """A parsed model reference. Exactly one of version, rev, stage may be set."""

    name: str
    version: int | None = None
    rev: str | None = None
    stage: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@v{self.version}"
        if self.rev is not None:
            return f"{self.name}@{self.rev}"
        if self.stage is not None:
            return f"{self.name}#{self.stage}"
        return self.name

    @property
    def is_worktree(self) -> bool:
        return self.version is None and self.rev is None and self.stage is None


def parse_ref(text: str) -> Ref:
    """Parse a model reference; InvalidName says what is wrong."""
    if "#" in text:
        name, _, stage = text.partition("#")
        return Ref(check_name(name), stage=check_stage(stage))
    if "@" in text:
        name, _, rest = text.partition("@")
        check_name(name)
        if not rest:
            raise InvalidName(f"reference {text!r} has nothing after '@'", hint="e.g. churn@v3")
        m = VERSION_RE.match(rest)
        if m:
            return Ref(name, version=int(m.group(1)))
        return Ref(name, rev=rest)
    return Ref(check_name(text))


def is_model_ref(text: str) -> bool:
    """`churn@v3`, `churn@main`, `churn#production`: a model ref with a version, revision or
    stage. A git revision may hold an `@` too (`HEAD@{1}`, `main@{upstream}`, `@`); those
    are not model refs."""
    if "#" in text:
        return True
    name, at, rest = text.partition("@")
    if not at or rest.startswith("{"):
        return False
    return is_bare_name(name)


def is_bare_name(text: str) -> bool:
    """A plain model name, `churn`: the model's work-tree card when read as a ref (and a
    git revision where only revisions are taken)."""
    return bool(NAME_RE.match(text))


def check_stage_ref(project: Project, ref: Ref) -> None:
    """Refuse `NAME#STAGE` with a stage longer than MAX_STAGE unless a tag assigns it now.

    `promote` never assigns such a stage, so it is read only while a tag made outside mreg
    (by hand, by GTO) holds it; else it is an invalid name rather than an unassigned stage,
    whose hint would suggest a promote that is refused.
    """
    if ref.stage is None or len(ref.stage) <= MAX_STAGE:
        return
    from mreg.history import list_tags
    from mreg.tags import current_stages, stage_events

    if (ref.name, ref.stage) in current_stages(stage_events(list_tags(project), ref.name)):
        return
    raise InvalidName(
        f"invalid stage name: {len(ref.stage)} characters, and no tag assigns it",
        hint=f"stage names match [a-z0-9][a-z0-9_-]*, at most {MAX_STAGE} characters",
    )


def resolve(project: Project, ref: Ref) -> Resolved:
    """A parsed reference resolved to its card (mreg.history.resolve), once its stage
    name, if any, passes `check_stage_ref`."""
    from mreg import history

    check_stage_ref(project, ref)
    return history.resolve(project, ref)


def resolve_card(project: Project, text: str) -> Card:
    """The card a reference points to (work tree, a version, a revision or a stage)."""
    from mreg import registry

    ref = parse_ref(text)
    if ref.is_worktree:
        return registry.load_card(project, ref.name)
    return resolve(project, ref).card
