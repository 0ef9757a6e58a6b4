"""The model card (schema 1): validation, and YAML in and out in a fixed key order.

Layer: core data, above yamlio and names. `docs/card-spec.md` states these rules as MUST
rules. A card read from disk or from git is untrusted: every field is checked here, and
any problem is an InvalidCard naming the file, the key and the reason. Top-level keys
this mreg does not know are kept as they are, so newer cards survive a rewrite.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mreg import yamlio
from mreg.errors import UPGRADE_HINT, InvalidArgument, InvalidCard
from mreg.hashing import check_relpath, is_oid
from mreg.names import check_name

SCHEMA = 1
KIND_FILE = "file"
KIND_DIR = "dir"

# Top-level keys in the order they are written.
KEY_ORDER = (
    "schema",
    "name",
    "version",
    "description",
    "artifact",
    "registered",
    "training",
    "framework",
    "params",
    "metrics",
    "data",
    "features",
    "serving",
    "labels",
    "extra",
)
ARTIFACT_KEYS = ("path", "oid", "kind", "size", "files")
REGISTERED_KEYS = ("at", "by", "commit", "dirty")
DATA_KEYS = ("role", "path", "uri", "oid", "size")


@dataclass
class Artifact:
    """What the card points at: a file or a directory (tree) in the work tree."""

    path: str
    oid: str
    kind: str = KIND_FILE
    size: int = 0
    files: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ARTIFACT_KEYS}


@dataclass
class Registered:
    """Who registered this card, when, and from which code."""

    at: str | None = None
    by: str | None = None
    commit: str | None = None
    dirty: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in REGISTERED_KEYS if getattr(self, k) is not None}


@dataclass
class Card:
    """One model's card. `unknown` keeps top-level keys from newer mreg versions."""

    name: str
    version: int
    artifact: Artifact
    description: str | None = None
    registered: Registered = field(default_factory=Registered)
    training: dict[str, Any] = field(default_factory=dict)
    framework: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    data: list[dict[str, Any]] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)
    serving: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    unknown: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The card as an ordered mapping, empty optional keys left out."""
        out: dict[str, Any] = {"schema": self.schema, "name": self.name, "version": self.version}
        if self.description is not None:
            out["description"] = self.description
        out["artifact"] = self.artifact.to_dict()
        reg = self.registered.to_dict()
        if reg:
            out["registered"] = reg
        for key in ("training", "framework", "params", "metrics", "data", "features"):
            value = getattr(self, key)
            if value:
                out[key] = value
        for key in ("serving", "labels", "extra"):
            value = getattr(self, key)
            if value:
                out[key] = value
        out.update(self.unknown)
        return out

    def content(self) -> dict[str, Any]:
        """Everything but `registered`: what decides whether a re-add changes anything."""
        out = self.to_dict()
        out.pop("registered", None)
        return out


def dump(card: Card) -> str:
    """The card as YAML text, keys in KEY_ORDER."""
    return yamlio.dump(card.to_dict())


# ---------------------------------------------------------------------------- validation


class _Problem(Exception):
    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Problem(key, f"must be a mapping, not {type(value).__name__}")
    for k in value:
        if not isinstance(k, str):
            raise _Problem(key, f"key {k!r} must be a string")
    return value


# The scalars a card holds, exactly these types: a subclass (numpy.float64, an IntEnum, a
# str subclass) is not one, as the YAML writer cannot represent it. Writers turn values
# into these with plain_values first.
_SCALARS = (str, int, float, bool)


def _scalar_ok(value: Any) -> bool:
    return value is None or type(value) in _SCALARS


def _check_leaves(value: Any, key: str, allow_lists: bool, names: bool) -> None:
    """Nested plain dicts whose leaves are scalars (and plain lists of them where allowed);
    with `names`, no key may be empty."""
    if type(value) is dict:
        for k, v in value.items():
            if type(k) is not str:
                what = "a plain str" if isinstance(k, str) else "a string"
                raise _Problem(key, f"key {k!r} must be {what}")
            if names and not k:
                raise _Problem(key, "a key is empty ('')")
            _check_leaves(v, f"{key}.{k}", allow_lists, names)
    elif type(value) is list:
        if not allow_lists:
            raise _Problem(key, "must be a number, string, boolean or null, not a list")
        for i, item in enumerate(value):
            if not _scalar_ok(item):
                raise _Problem(f"{key}[{i}]", "lists may hold only scalars")
    elif not _scalar_ok(value):
        raise _Problem(key, f"unsupported value of type {type(value).__name__}")


def _spelling(key: str, path: tuple[str, ...]) -> str:
    return key + "".join(f"[{p!r}]" for p in path)


def _check_dotted(value: dict[str, Any], key: str) -> None:
    """No two values may have the same dotted name (`{'x.y': 2, 'x': {'y': 1}}`): diff, ls
    and check see the values by that name (flatten), and one would hide the other."""
    seen: dict[str, tuple[str, ...]] = {}
    stack: list[tuple[dict[str, Any], tuple[str, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        for k, v in node.items():
            here = (*path, k)
            if isinstance(v, dict) and v:
                stack.append((v, here))
                continue
            dotted = ".".join(here)
            other = seen.setdefault(dotted, here)
            if other != here:
                first, second = sorted((other, here), key=len)
                raise _Problem(
                    f"{key}.{dotted}",
                    f"given twice, as {_spelling(key, first)} and as {_spelling(key, second)}"
                    " (nested keys are read dotted): keep one",
                )


def check_values(value: Any, key: str, allow_lists: bool) -> None:
    """The rules for `params`, `metrics` and `labels` (card-spec rule 15): nested plain
    dicts of scalars (and lists of them where allowed), no empty key, and no two values of
    the same dotted name. Raises _Problem naming the key."""
    _check_leaves(value, key, allow_lists, names=True)
    if type(value) is dict:
        _check_dotted(value, key)


VALUES_HINT = (
    "values are str, int, float, bool or None (numpy scalars too), in nested dicts"
    " with non-empty str keys: docs/scripting.md#values-from-python"
)


def plain_value(value: Any) -> Any:
    """`value` as a plain str, int, float, bool or None, or `_UNSUPPORTED`.

    A subclass of one (numpy.float64, numpy.str_, an IntEnum) is stored as its base type's
    value: str.__str__ and friends, not str(), which an Enum overrides. A value with an
    `item()` method that returns such a scalar (numpy.int64, numpy.bool_, a one-element
    torch tensor) is stored as what item() returns; numpy is never imported.
    """
    if value is None or type(value) in _SCALARS:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):  # bool cannot be subclassed: an int subclass
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    item = getattr(type(value), "item", None)
    if callable(item):
        try:
            got = value.item()
        except Exception:  # a numpy array of more than one value: ValueError
            return _UNSUPPORTED
        if got is None or isinstance(got, _SCALARS):
            return plain_value(got)
    return _UNSUPPORTED


_UNSUPPORTED: Any = object()


def _plain(value: Any, key: str, allow_lists: bool, depth: int) -> Any:
    if depth > yamlio.MAX_DEPTH:
        raise _Problem(key, f"nested deeper than {yamlio.MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise _Problem(key, f"key {k!r} must be a string")
            k = str.__str__(k)
            out[k] = _plain(v, f"{key}.{k}", allow_lists, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        if not allow_lists:
            raise _Problem(key, "must be a number, string, boolean or null, not a list")
        items = []
        for i, item in enumerate(value):
            plain = plain_value(item)
            if plain is _UNSUPPORTED:
                raise _Problem(f"{key}[{i}]", "lists may hold only scalars")
            items.append(plain)
        return items
    plain = plain_value(value)
    if plain is _UNSUPPORTED:
        raise _Problem(key, f"unsupported value of type {type(value).__name__}")
    return plain


def plain_values(value: Any, key: str, allow_lists: bool) -> dict[str, Any]:
    """For writers: the mapping `value` (params, metrics or labels) with every mapping a
    plain dict, every list or tuple a plain list, every scalar of a plain type (see
    plain_value), checked by check_values. InvalidArgument names the key."""
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{key} must be a mapping, not {type(value).__name__}")
    try:
        out: dict[str, Any] = _plain(value, key, allow_lists, 0)
        check_values(out, key, allow_lists)
    except _Problem as p:
        raise InvalidArgument(str(p), hint=VALUES_HINT) from None
    return out


def _int(value: Any, key: str, minimum: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise _Problem(key, f"must be an integer >= {minimum}, not {value!r}")
    return value


def _str(value: Any, key: str, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _Problem(key, f"must be a string, not {type(value).__name__}")
    return value


def _from_dict(doc: Any, expected_name: str | None) -> Card:
    if not isinstance(doc, dict):
        raise _Problem("(top)", "a card must be a YAML mapping")
    for key in doc:
        if not isinstance(key, str):
            raise _Problem("(top)", f"key {key!r} must be a string")
    # The schema first: a newer schema may have dropped or renamed the other keys, and its
    # card is refused with the hint to upgrade, not for a key it no longer has.
    if "schema" not in doc:
        raise _Problem("schema", "missing")
    schema = doc["schema"]
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise _Problem("schema", f"must be a positive integer, not {schema!r}")
    if schema > SCHEMA:
        raise _Problem("schema", f"schema {schema} is newer than this mreg knows ({SCHEMA})")
    for key in ("name", "version", "artifact"):
        if key not in doc:
            raise _Problem(key, "missing")
    name = _str(doc["name"], "name", optional=False)
    assert name is not None
    try:
        check_name(name)
    except Exception as exc:
        raise _Problem("name", str(exc)) from None
    if expected_name is not None and name != expected_name:
        raise _Problem("name", f"is {name!r} but the file is for {expected_name!r}")
    version = _int(doc["version"], "version", minimum=1)

    art = _mapping(doc["artifact"], "artifact")
    for key in ("path", "oid", "kind"):
        if key not in art:
            raise _Problem(f"artifact.{key}", "missing")
    try:
        path = check_relpath(art["path"], "value")  # the message names the key
    except ValueError as exc:
        raise _Problem("artifact.path", str(exc)) from None
    if path == ".mreg" or path.startswith(".mreg/") or path == ".git" or path.startswith(".git/"):
        raise _Problem("artifact.path", f"{path!r} is inside .mreg/ or .git/")
    if not is_oid(art["oid"]):
        raise _Problem("artifact.oid", f"must be sha256:<64 hex>, not {art['oid']!r}")
    kind = art["kind"]
    if kind not in (KIND_FILE, KIND_DIR):
        raise _Problem("artifact.kind", f"must be 'file' or 'dir', not {kind!r}")
    artifact = Artifact(
        path=path,
        oid=art["oid"],
        kind=kind,
        size=_int(art.get("size", 0), "artifact.size"),
        files=_int(art.get("files", 1), "artifact.files"),
    )

    reg = _mapping(doc.get("registered"), "registered")
    dirty = reg.get("dirty")
    if dirty is not None and not isinstance(dirty, bool):
        raise _Problem("registered.dirty", "must be true or false")
    registered = Registered(
        at=_str(reg.get("at"), "registered.at"),
        by=_str(reg.get("by"), "registered.by"),
        commit=_str(reg.get("commit"), "registered.commit"),
        dirty=dirty,
    )

    params = _mapping(doc.get("params"), "params")
    check_values(params, "params", allow_lists=True)
    metrics = _mapping(doc.get("metrics"), "metrics")
    check_values(metrics, "metrics", allow_lists=True)
    labels = _mapping(doc.get("labels"), "labels")
    check_values(labels, "labels", allow_lists=False)

    data_list = doc.get("data") or []
    if not isinstance(data_list, list):
        raise _Problem("data", "must be a list")
    data: list[dict[str, Any]] = []
    for i, item in enumerate(data_list):
        entry = _mapping(item, f"data[{i}]")
        if "path" not in entry and "uri" not in entry:
            raise _Problem(f"data[{i}]", "needs a path or a uri")
        if "path" in entry:
            try:
                check_relpath(entry["path"], "value")
            except ValueError as exc:
                raise _Problem(f"data[{i}].path", str(exc)) from None
        _check_leaves(entry, f"data[{i}]", allow_lists=False, names=False)
        data.append(entry)

    known = set(KEY_ORDER)
    return Card(
        schema=schema,
        name=name,
        version=version,
        description=_str(doc.get("description"), "description"),
        artifact=artifact,
        registered=registered,
        training=_mapping(doc.get("training"), "training"),
        framework=_mapping(doc.get("framework"), "framework"),
        params=params,
        metrics=metrics,
        data=data,
        features=_mapping(doc.get("features"), "features"),
        serving=_mapping(doc.get("serving"), "serving"),
        labels=labels,
        extra=_mapping(doc.get("extra"), "extra"),
        unknown={k: v for k, v in doc.items() if k not in known},
    )


def from_dict(doc: Any, source: str = "card", expected_name: str | None = None) -> Card:
    """Validate a parsed card; InvalidCard names `source`, the key and the reason."""
    try:
        return _from_dict(doc, expected_name)
    except _Problem as p:
        hint = UPGRADE_HINT if "newer" in p.reason else None
        raise InvalidCard(f"{source}: {p.key}: {p.reason}", hint=hint) from None


# A line git writes into a file it could not merge (`<<<<<<< ours`, `>>>>>>> theirs`),
# for text given as str and as bytes (searched as given: no decoding twice).
_MARKER = r"^(<{7}|>{7})( |$)"
_CONFLICT_MARKER = re.compile(_MARKER, re.MULTILINE)
_CONFLICT_MARKER_BYTES = re.compile(_MARKER.encode(), re.MULTILINE)


def loads(text: str | bytes, source: str = "card", expected_name: str | None = None) -> Card:
    """Parse and validate card YAML text."""
    marker = _CONFLICT_MARKER if isinstance(text, str) else _CONFLICT_MARKER_BYTES
    if marker.search(text):  # type: ignore[arg-type]  # `<<<<<<< ours:` parses as a key
        raise InvalidCard(
            f"{source}: holds git conflict markers (<<<<<<< ... >>>>>>>)",
            hint="resolve the conflict in the card (keep one side, or mreg add again),"
            " then git add it",
        )
    try:
        doc = yamlio.load(text)
    except yamlio.YamlError as exc:
        raise InvalidCard(f"{source}: invalid YAML: {exc}") from None
    return from_dict(doc, source, expected_name)


def artifact_only(text: str | bytes, name: str, source: str = "card") -> Card:
    """What a refused card still tells about its blobs: its `artifact` section, for a card
    that `loads` refuses as a whole (one an older mreg wrote and committed, before a rule
    got stricter: a metric given dotted and nested, an empty key, a name holding `..`).

    The result names blobs only, so that gc and push keep what that version needs: `name`
    is the caller's (the card file's), the version is the card's when it is a positive
    integer (else 0), and a path this mreg would refuse is left empty; never write
    anything at its path. InvalidCard when the YAML or the artifact's oid or kind cannot
    be read: then nothing is known about the card's blobs.
    """
    try:
        doc = yamlio.load(text)
    except yamlio.YamlError as exc:
        raise InvalidCard(f"{source}: invalid YAML: {exc}") from None
    art = doc.get("artifact") if isinstance(doc, dict) else None
    if not isinstance(art, dict):
        raise InvalidCard(f"{source}: artifact: missing or not a mapping")
    oid = art.get("oid")
    if not is_oid(oid):
        raise InvalidCard(f"{source}: artifact.oid: must be sha256:<64 hex>, not {oid!r}")
    kind = art.get("kind")
    if kind not in (KIND_FILE, KIND_DIR):
        raise InvalidCard(f"{source}: artifact.kind: must be 'file' or 'dir', not {kind!r}")

    def count(value: Any, default: int) -> int:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return value if ok else default

    try:
        path = check_relpath(art.get("path"), "value")
    except ValueError:
        path = ""
    if path.split("/", 1)[0] in (".mreg", ".git"):
        path = ""
    return Card(
        name=name,
        version=count(doc.get("version"), 0),
        artifact=Artifact(
            path=path,
            oid=str(oid),
            kind=str(kind),
            size=count(art.get("size"), 0),
            files=count(art.get("files"), 1),
        ),
    )


def is_number(value: Any) -> bool:
    """A real, finite number (not a bool): what diff and checks compare."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not (isinstance(value, float) and not math.isfinite(value))
    )


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'loss': {'train': 1}} -> {'loss.train': 1}."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{full}."))
        else:
            out[full] = value
    return out
