"""mreg.card: schema 1 validation, fixed key order, round trips, malformed cards."""

from __future__ import annotations

import copy
import enum
import json
import math
import re
from collections import OrderedDict
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mreg import card as card_mod
from mreg.card import KEY_ORDER, Artifact, Card, Registered, dump, flatten, is_number, loads
from mreg.errors import InvalidArgument, InvalidCard
from tests.helpers import ZERO_OID, assert_error, run_mreg, sha, write

OID = sha(b"model")

# The card of DESIGN.md, written the way mreg writes it.
FULL_CARD = f"""\
schema: 1
name: churn
version: 3
description: Gradient boosted churn model
artifact:
  path: out/model.pkl
  oid: {OID}
  kind: file
  size: 12345678
  files: 1
registered:
  at: 2026-11-27T16:02:11Z
  by: Jane Doe <jane@example.com>
  commit: 3e1f0000
  dirty: false
training:
  started: 2026-11-27T15:00:00Z
  finished: 2026-11-27T16:00:00Z
  duration_s: 3600.0
framework:
  name: sklearn
  version: 1.5.2
params:
  lr: 0.01
  tree:
    depth: 6
metrics:
  auc: 0.912
  f1: 0.81
data:
- role: train
  path: data/train.csv
  oid: {OID}
  size: 10
- role: test
  uri: s3://bucket/test.parquet
features:
  importance:
    age: 0.31
    tenure: 0.22
serving:
  runtime: sklearn
  resources:
    cpu: '1'
    memory: 2Gi
labels:
  team: growth
extra:
  note: kept
"""


def test_full_card_round_trips_byte_for_byte() -> None:
    card = loads(FULL_CARD)
    assert card.name == "churn"
    assert card.version == 3
    assert card.artifact == Artifact("out/model.pkl", OID, "file", 12345678, 1)
    assert card.registered == Registered(
        "2026-11-27T16:02:11Z", "Jane Doe <jane@example.com>", "3e1f0000", False
    )
    assert card.params == {"lr": 0.01, "tree": {"depth": 6}}
    assert card.data[1] == {"role": "test", "uri": "s3://bucket/test.parquet"}
    assert dump(card) == FULL_CARD


def test_keys_are_written_in_design_order() -> None:
    card = loads(FULL_CARD)
    keys = [line.split(":")[0] for line in dump(card).splitlines() if not line[0].isspace()]
    keys = [k for k in keys if not k.startswith("-")]
    assert keys == list(KEY_ORDER)


def test_minimal_card_leaves_out_empty_keys() -> None:
    card = Card(name="a", version=1, artifact=Artifact("m.bin", OID))
    assert dump(card) == (
        f"schema: 1\nname: a\nversion: 1\nartifact:\n  path: m.bin\n  oid: {OID}\n"
        "  kind: file\n  size: 0\n  files: 1\n"
    )


def test_unknown_top_level_keys_are_kept_at_the_end() -> None:
    text = FULL_CARD + "plots:\n  roc: plots/roc.json\n"
    card = loads(text)
    assert card.unknown == {"plots": {"roc": "plots/roc.json"}}
    assert dump(card) == text


def test_content_ignores_registered() -> None:
    a = loads(FULL_CARD)
    b = copy.deepcopy(a)
    b.registered = Registered(at="2030-01-01T00:00:00Z")
    assert a.content() == b.content()
    b.metrics["auc"] = 0.5
    assert a.content() != b.content()


def test_expected_name_must_match_the_file() -> None:
    with pytest.raises(InvalidCard, match="name: is 'churn' but the file is for 'other'"):
        loads(FULL_CARD, source="x.yaml", expected_name="other")


def test_newer_schema_hints_to_upgrade() -> None:
    with pytest.raises(InvalidCard) as info:
        loads(FULL_CARD.replace("schema: 1", "schema: 2"), source="c.yaml")
    assert info.value.message == "c.yaml: schema: schema 2 is newer than this mreg knows (1)"
    assert info.value.hint == "upgrade mreg: pip install -U mreg"


@pytest.mark.parametrize(
    "doc",
    [
        # A newer schema may drop or rename keys: it is refused for being newer, not for
        # the key it lacks (was "artifact: missing").
        {"schema": 2, "name": "future", "version": 1, "weights": {"uri": "hf://x"}},
        {"schema": 3},
        {"schema": 2, "name": "Not A Name", "artifact": "x"},
    ],
)
def test_newer_schema_is_checked_before_other_keys(doc: dict[str, Any]) -> None:
    with pytest.raises(InvalidCard) as info:
        card_mod.from_dict(doc, source="c.yaml", expected_name="future")
    assert info.value.message.startswith(f"c.yaml: schema: schema {doc['schema']} is newer")
    assert info.value.hint == "upgrade mreg: pip install -U mreg"


def test_newer_schema_without_artifact_from_the_command_line(repo: Path) -> None:
    write(
        repo / ".mreg" / "models" / "future.yaml",
        'schema: 2\nname: future\nversion: 1\nweights: {uri: "hf://x"}\n',
    )
    result = run_mreg(repo, "show", "future")
    assert_error(
        result,
        3,
        ".mreg/models/future.yaml: schema: schema 2 is newer than this mreg knows (1)",
        hint="upgrade mreg: pip install -U mreg",
    )
    listed = run_mreg(repo, "ls", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert "newer than this mreg knows" in json.dumps(listed.json)


def _edit(**changes: Any) -> dict[Any, Any]:
    """The full card as a mapping with top-level (or dotted) keys changed or deleted."""
    from mreg import yamlio

    doc: dict[Any, Any] = yamlio.load(FULL_CARD)
    for key, value in changes.items():
        parts = key.split("__")
        node = doc
        for p in parts[:-1]:
            node = node[p]
        if value is _DELETE:
            del node[parts[-1]]
        elif value is _INT_KEY:
            node[int(parts[-1])] = "x"
        else:
            node[parts[-1]] = value
    return doc


_DELETE = object()
_INT_KEY = object()  # the key becomes the integer 1, as `1: x` in YAML would

MALFORMED = [
    ("(top)", "a card must be a YAML mapping", ["a", "list"]),
    ("schema", "missing", _edit(schema=_DELETE)),
    ("name", "missing", _edit(name=_DELETE)),
    ("version", "missing", _edit(version=_DELETE)),
    ("artifact", "missing", _edit(artifact=_DELETE)),
    ("schema", "must be a positive integer", _edit(schema="one")),
    ("schema", "must be a positive integer", _edit(schema=True)),
    ("schema", "must be a positive integer", _edit(schema=0)),
    ("name", "must be a string", _edit(name=5)),
    ("name", "invalid model name 'Churn'", _edit(name="Churn")),
    ("version", "must be an integer >= 1", _edit(version=0)),
    ("version", "must be an integer >= 1", _edit(version="3")),
    ("version", "must be an integer >= 1", _edit(version=2.0)),
    ("artifact", "must be a mapping", _edit(artifact="out/model.pkl")),
    ("artifact.path", "missing", _edit(artifact__path=_DELETE)),
    ("artifact.oid", "missing", _edit(artifact__oid=_DELETE)),
    ("artifact.kind", "missing", _edit(artifact__kind=_DELETE)),
    ("artifact.path", "is absolute", _edit(artifact__path="/etc/passwd")),
    ("artifact.path", "'..' segment", _edit(artifact__path="../outside.pkl")),
    ("artifact.path", "'..' segment", _edit(artifact__path="out/../../x")),
    ("artifact.path", "backslash", _edit(artifact__path="out\\model.pkl")),
    ("artifact.path", "inside .mreg/ or .git/", _edit(artifact__path=".mreg/config.yaml")),
    ("artifact.path", "a segment that git takes for '.git'", _edit(artifact__path=".git/config")),
    ("artifact.oid", "must be sha256:<64 hex>", _edit(artifact__oid="sha256:abc")),
    ("artifact.kind", "must be 'file' or 'dir'", _edit(artifact__kind="link")),
    ("artifact.size", "must be an integer >= 0", _edit(artifact__size=-1)),
    ("artifact.files", "must be an integer >= 0", _edit(artifact__files="1")),
    ("registered", "must be a mapping", _edit(registered=["x"])),
    ("registered.dirty", "must be true or false", _edit(registered__dirty="no")),
    ("registered.at", "must be a string", _edit(registered__at=5)),
    ("params", "must be a mapping", _edit(params=[1, 2])),
    ("params.tree.x", "unsupported value", _edit(params__tree={"x": {1, 2}})),
    ("metrics", "must be a mapping", _edit(metrics="auc")),
    ("metrics.auc[0]", "lists may hold only scalars", _edit(metrics__auc=[[1]])),
    ("metrics", "key 1 must be a string", _edit(metrics={1: 0.5})),
    ("labels.team", "not a list", _edit(labels__team=["a"])),
    ("data", "must be a list", _edit(data={"role": "train"})),
    ("data[0]", "needs a path or a uri", _edit(data=[{"role": "train"}])),
    ("data[0].path", "is absolute", _edit(data=[{"path": "/data/x.csv"}])),
    ("data[0]", "must be a mapping", _edit(data=["data/x.csv"])),
    ("description", "must be a string", _edit(description=["x"])),
    ("training", "must be a mapping", _edit(training="long")),
    ("(top)", "key 1 must be a string", _edit(**{"1": _INT_KEY})),
    # One dotted name for two values: diff, ls and check would show only one of them.
    (
        "metrics.x.y",
        "given twice, as metrics['x.y'] and as metrics['x']['y']",
        _edit(metrics={"x.y": 2, "x": {"y": 1}}),
    ),
    ("params.a.b.c", "given twice", _edit(params={"a.b": {"c": 1}, "a": {"b.c": 2}})),
    ("labels.a.b", "given twice", _edit(labels={"a": {"b": "x"}, "a.b": "y"})),
    ("metrics", "a key is empty ('')", _edit(metrics={"": 0.5})),
    ("params.tree", "a key is empty ('')", _edit(params__tree={"": 1})),
]


@pytest.mark.parametrize(("key", "reason", "doc"), MALFORMED)
def test_malformed_cards_name_source_key_and_reason(key: str, reason: str, doc: Any) -> None:
    with pytest.raises(InvalidCard) as info:
        card_mod.from_dict(doc, source=".mreg/models/churn.yaml")
    message = info.value.message
    assert message.startswith(f".mreg/models/churn.yaml: {key}: "), message
    assert reason in message
    assert info.value.exit_code == 3


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("schema: 1\nname: [\n", "invalid YAML"),
        ("schema: 1\nschema: 1\n", "duplicate key 'schema'"),
        ("!!python/object:os.system {}\n", "python/object"),
        ("", "a card must be a YAML mapping"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_unreadable_card_text(text: str | bytes, reason: str) -> None:
    with pytest.raises(InvalidCard, match=re.escape(reason)) as info:
        loads(text, source="c.yaml")
    assert info.value.message.startswith("c.yaml: ")


def test_flatten_and_is_number() -> None:
    assert flatten({"loss": {"train": 1, "val": {"x": 2}}, "auc": 0.9, "e": {}}) == {
        "loss.train": 1,
        "loss.val.x": 2,
        "auc": 0.9,
        "e": {},
    }
    assert is_number(1) and is_number(0.5)
    assert not is_number(True) and not is_number(math.nan) and not is_number("1")


# ---------------------------------------------------------------------------- round trip

_segment = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True).filter(
    lambda s: not s.endswith((".", ".lock")) and ".." not in s
)
_names = st.lists(_segment, min_size=1, max_size=3).map("/".join)
_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_keys = st.text(min_size=1, max_size=10)
_nested = st.recursive(
    st.dictionaries(_keys, _scalar, max_size=4),
    lambda inner: st.dictionaries(_keys, st.one_of(_scalar, inner), max_size=4),
    max_leaves=12,
)
_relpath = st.lists(
    st.from_regex(r"[A-Za-z0-9_ü-][A-Za-z0-9._ü -]{0,8}", fullmatch=True).filter(
        lambda s: s not in (".", "..")
    ),
    min_size=1,
    max_size=3,
).map("/".join)
_oids = st.binary(max_size=8).map(sha)
_artifacts = st.builds(
    Artifact,
    path=_relpath.filter(lambda p: p.split("/")[0] not in (".mreg", ".git")),
    oid=_oids,
    kind=st.sampled_from(["file", "dir"]),
    size=st.integers(0, 2**40),
    files=st.integers(0, 10_000),
)
_registered = st.builds(
    Registered,
    at=st.one_of(st.none(), st.just("2026-11-27T16:02:11Z")),
    by=st.one_of(st.none(), st.text(max_size=30)),
    commit=st.one_of(st.none(), st.from_regex(r"[0-9a-f]{40}", fullmatch=True)),
    dirty=st.one_of(st.none(), st.booleans()),
)
_data = st.lists(
    st.one_of(
        st.fixed_dictionaries({"role": st.sampled_from(["train", "test"]), "uri": st.text()}),
        st.fixed_dictionaries({"path": _relpath, "oid": _oids, "size": st.integers(0, 99)}),
    ),
    max_size=3,
)


def _one_name_each(values: dict[str, Any]) -> bool:
    """No two values of one dotted name (`{'a.b': 1, 'a': {'b': 2}}`), which a card
    may not hold (card-spec rule 15)."""
    try:
        card_mod.check_values(values, "x", allow_lists=True)
    except Exception:
        return False
    return True


_cards = st.builds(
    Card,
    name=_names,
    version=st.integers(1, 10**6),
    artifact=_artifacts,
    description=st.one_of(st.none(), st.text()),
    registered=_registered,
    params=_nested.filter(_one_name_each),
    metrics=_nested.filter(_one_name_each),
    labels=st.dictionaries(_keys, _scalar, max_size=3),
    data=_data,
    extra=_nested,
)


@given(_cards)
def test_card_round_trip(card: Card) -> None:
    text = dump(card)
    again = loads(text)
    assert again == card
    assert dump(again) == text


def test_a_zero_oid_card_is_valid() -> None:
    assert loads(dump(Card("a", 1, Artifact("a", ZERO_OID)))).artifact.oid == ZERO_OID


@pytest.mark.parametrize("as_bytes", [False, True])
def test_a_card_left_with_conflict_markers_says_so(as_bytes: bool) -> None:
    good = dump(Card(name="churn", version=2, artifact=Artifact("m.bin", OID)))
    ours, theirs = (
        good.replace("version: 2", "version: 3"),
        good.replace("version: 2", "version: 4"),
    )
    text = f"<<<<<<< ours:.mreg/models/churn.yaml\n{ours}=======\n{theirs}>>>>>>> theirs\n"
    with pytest.raises(InvalidCard) as info:
        loads(text.encode() if as_bytes else text, source="churn.yaml")
    assert info.value.message == "churn.yaml: holds git conflict markers (<<<<<<< ... >>>>>>>)"
    assert info.value.hint is not None and "then git add" in info.value.hint
    # A value that merely holds the characters is no marker.
    fine = good.replace("version: 2", "version: 2\ndescription: '<<<<<<< not a marker'")
    assert loads(fine).description == "<<<<<<< not a marker"


# ------------------------------------------------------------- values from the Python API


class _Float(float):  # numpy.float64 is a float subclass
    pass


class _Str(str):  # numpy.str_ is a str subclass
    def __str__(self) -> str:
        return "not the value"


class _Level(enum.IntEnum):
    HIGH = 3


class _Colour(str, enum.Enum):
    RED = "red"


class _Scalar:
    """Like numpy.int64 or numpy.bool_: no subclass of int or bool, but item() gives one."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def item(self) -> Any:
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


def _exact(value: Any) -> Any:
    """value with each leaf as (type name, value): equality that sees the types."""
    if isinstance(value, dict):
        return {k: (type(k).__name__, _exact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return (type(value).__name__, value)


def test_plain_values_stores_subclasses_and_item_scalars_as_plain_types() -> None:
    given = OrderedDict(
        auc=_Float(0.5),
        level=_Level.HIGH,
        colour=_Colour.RED,
        name=_Str("x"),
        n=_Scalar(7),
        ok=_Scalar(True),
        f=_Scalar(_Float(0.25)),
        none=None,
        seq=(_Float(1.0), _Scalar(2), "s"),
        nested=MappingProxyType({_Str("k"): {"deep": _Float(2.0)}}),
    )
    out = card_mod.plain_values(given, "metrics", allow_lists=True)
    want = {
        "auc": 0.5,
        "level": 3,
        "colour": "red",
        "name": "x",
        "n": 7,
        "ok": True,
        "f": 0.25,
        "none": None,
        "seq": [1.0, 2, "s"],
        "nested": {"k": {"deep": 2.0}},
    }
    assert _exact(out) == _exact(want)
    assert type(out) is dict and type(out["nested"]) is dict
    # ... and a card holding them dumps and reads back as it was.
    card = Card("m", 1, Artifact("m.bin", ZERO_OID), metrics=out)
    assert loads(dump(card)).metrics == want


@pytest.mark.parametrize(
    ("values", "allow_lists", "message"),
    [
        ({"auc": object()}, True, "metrics.auc: unsupported value of type object"),
        ({"a": {"b": _Scalar([1, 2])}}, True, "metrics.a.b: unsupported value of type _Scalar"),
        ({"a": _Scalar(ValueError("size 2"))}, True, "metrics.a: unsupported value"),
        ({"a": [object()]}, True, r"metrics.a\[0\]: lists may hold only scalars"),
        ({"a": [1]}, False, "metrics.a: must be a number, string, boolean or null, not a list"),
        ({"a": {1: 2}}, True, "metrics.a: key 1 must be a string"),
        ({"": 1}, True, r"metrics: a key is empty \(''\)"),
        ({"x.y": 2, "x": {"y": 1}}, True, r"metrics.x.y: given twice, as metrics\['x.y'\]"),
        ({"x": {"y": 1}, "x.y": _Float(2)}, True, "metrics.x.y: given twice"),
    ],
)
def test_plain_values_refuses_what_a_card_cannot_hold(
    values: dict[Any, Any], allow_lists: bool, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=f"^{message}") as info:
        card_mod.plain_values(values, "metrics", allow_lists=allow_lists)
    assert info.value.hint and "numpy" in info.value.hint


def test_plain_values_refuses_a_mapping_that_holds_itself() -> None:
    loop: dict[str, Any] = {}
    loop["again"] = loop
    with pytest.raises(InvalidArgument, match="nested deeper than 64 levels"):
        card_mod.plain_values(loop, "params", allow_lists=True)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"auc": _Float(0.5)}, "metrics.auc: unsupported value of type _Float"),
        ({"k": _Str("v")}, "metrics.k: unsupported value of type _Str"),
        ({_Str("k"): 1}, "metrics: key 'k' must be a plain str"),
        ({"l": [_Level.HIGH]}, r"metrics.l\[0\]: lists may hold only scalars"),
        (OrderedDict(a=1), "metrics: unsupported value of type OrderedDict"),
    ],
)
def test_check_values_refuses_subclasses(bad: dict[str, Any], message: str) -> None:
    # What registry.add checks: a float subclass passed, and then the YAML writer raised
    # RepresenterError (the card cannot hold it).
    with pytest.raises(Exception, match=f"^{message}"):
        card_mod.check_values(bad, "metrics", allow_lists=True)
