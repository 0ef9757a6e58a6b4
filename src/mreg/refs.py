"""Model references: `NAME`, `NAME@vN`, `NAME@REV`, `NAME#STAGE`; parse and resolve.

Layer: registry level. Parsing is pure; resolving a ref other than a plain name reads git
history through `mreg.history`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mreg.card import Card
from mreg.errors import InvalidName
from mreg.names import NAME_RE, check_name, check_stage
from mreg.project import Project

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


def resolve_card(project: Project, text: str) -> Card:
    """The card a reference points to (work tree, a version, a revision or a stage)."""
    from mreg import registry
    from mreg.history import resolve

    ref = parse_ref(text)
    if ref.is_worktree:
        return registry.load_card(project, ref.name)
    return resolve(project, ref).card
