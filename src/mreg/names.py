"""Model and stage names: what is allowed, checked in one place.

Layer: bottom. Names become file paths (`.mreg/models/<name>.yaml`) and git tag names, so
they are kept to lower-case ASCII segments that are safe in both.
"""

from __future__ import annotations

import re

from mreg.errors import InvalidName

SEGMENT = r"[a-z0-9][a-z0-9._-]*"
NAME_RE = re.compile(rf"^{SEGMENT}(/{SEGMENT})*\Z")  # \Z: `$` lets a final newline in
STAGE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*\Z")
MAX_NAME = 200
# A stage tag is one file name, `<last name segment>#<stage>!#<N>.lock` while git writes
# it, and file names stop at 255 bytes: 200 + 3 + 32 + 5 leaves N 15 digits.
MAX_STAGE = 32
STAGE_HINT = f"stage names match [a-z0-9][a-z0-9_-]*, at most {MAX_STAGE} characters"


def check_name(name: str) -> str:
    """Return name if it is a valid model name, else raise InvalidName saying why."""
    hint = "model names are lower-case segments [a-z0-9][a-z0-9._-]* joined by '/'"
    if not name:
        raise InvalidName("model name is empty", hint=hint)
    if len(name) > MAX_NAME:
        raise InvalidName(f"model name is longer than {MAX_NAME} characters", hint=hint)
    if name.startswith("/"):
        raise InvalidName(f"model name {name!r} is absolute", hint=hint)
    segments = name.split("/")
    if "" in segments:
        raise InvalidName(f"model name {name!r} has an empty segment", hint=hint)
    if ".." in segments or "." in segments:
        raise InvalidName(f"model name {name!r} has a '.' or '..' segment", hint=hint)
    # git refuses tag names with these, and versions are tagged NAME@vN.
    if any(seg.endswith((".", ".lock")) for seg in segments):
        raise InvalidName(f"model name {name!r} may not end a segment in '.' or '.lock'", hint=hint)
    if ".." in name:
        raise InvalidName(f"model name {name!r} may not hold '..'", hint=hint)
    if not NAME_RE.match(name):
        bad = list(dict.fromkeys(c for c in name if not re.match(r"[a-z0-9._/-]", c)))
        if not bad:
            why = "must start each segment with a-z or 0-9"
        elif all(c.isupper() for c in bad) and NAME_RE.match(name.lower()):
            why = f"upper case is not allowed (perhaps {name.lower()!r})"
        else:
            why = "may not hold " + ", ".join(repr(c) for c in bad)
        raise InvalidName(f"invalid model name {name!r}: {why}", hint=hint)
    return name


def check_stage(stage: str, *, new: bool = False) -> str:
    """Return stage if valid (`[a-z0-9][a-z0-9_-]*`), else raise InvalidName. A `new`
    stage, about to be assigned, also has at most MAX_STAGE characters: a longer one
    that a tag already holds (made by hand, or by GTO) can still be read and cleared."""
    hint = STAGE_HINT
    if not STAGE_RE.match(stage or ""):
        raise InvalidName(f"invalid stage name {stage!r}", hint=hint)
    if new and len(stage) > MAX_STAGE:
        raise InvalidName(f"stage name is longer than {MAX_STAGE} characters", hint=hint)
    return stage


def check_unassigned_stage(stage: str) -> None:
    """For a stage no tag assigns now: one longer than MAX_STAGE is an invalid name, not
    an empty stage (promote could never assign it, so a hint to promote would be refused;
    a longer one is read only while a tag made outside mreg holds it)."""
    if len(stage) > MAX_STAGE:
        raise InvalidName(
            f"invalid stage name: {len(stage)} characters, and no tag assigns it", hint=STAGE_HINT
        )
