"""mreg.diff (pure): rows of changes between two sets of cards, the JSON shape, and the
number formatting of `mreg diff` (dvc metrics diff conventions)."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mreg.card import Artifact, Card, dump, loads
from mreg.diff import Row, changed, diff_cards, fmt_change, fmt_number, to_json
from tests.helpers import sha

OID_A = sha(b"a")
OID_B = sha(b"b")


def card(version: int = 1, oid: str = OID_A, **kw: Any) -> Card:
    return Card(name="churn", version=version, artifact=Artifact("out/m.pkl", oid), **kw)


def rows_of(old: Card | str | None, new: Card | str | None) -> list[Row]:
    return diff_cards({} if old is None else {"churn": old}, {} if new is None else {"churn": new})


def by_key(rows: list[Row]) -> dict[tuple[str, str], Row]:
    return {(r.kind, r.key): r for r in rows}


# ---------------------------------------------------------------------- hypothesis

_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
_leaf = st.one_of(_scalar, st.lists(_scalar, max_size=3))
_keys = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)
_nested = st.recursive(
    st.dictionaries(_keys, _leaf, max_size=4),
    lambda inner: st.dictionaries(_keys, st.one_of(_leaf, inner), max_size=3),
    max_leaves=10,
)
_labels = st.dictionaries(_keys, _scalar, max_size=3)
_data = st.lists(
    st.one_of(
        st.builds(
            lambda role, oid: {"role": role, "path": "data/x.csv", "oid": oid},
            st.sampled_from(["train", "test", "eval"]),
            st.binary(max_size=4).map(sha),
        ),
        st.builds(lambda u: {"uri": f"s3://bucket/{u}"}, _keys),
    ),
    max_size=3,
)
cards = st.builds(
    lambda version, oid, metrics, params, labels, data: card(
        version, oid, metrics=metrics, params=params, labels=labels, data=data
    ),
    st.integers(1, 10**6),
    st.binary(max_size=4).map(sha),
    _nested,
    _nested,
    _labels,
    _data,
)


@given(cards)
def test_diff_of_a_card_with_itself_has_no_changed_rows(c: Card) -> None:
    rows = rows_of(c, c)
    assert changed(rows) == []
    assert {r.status for r in rows} <= {"unchanged"}
    assert not changed(diff_cards({"a": c, "b": c}, {"a": c, "b": c}))


@given(cards)
def test_a_card_read_back_from_yaml_is_unchanged(c: Card) -> None:
    # What `mreg diff HEAD~1 HEAD` sees when a card was committed twice unchanged: two
    # separate parses, so NaN is a different object on each side (also inside lists).
    assert changed(rows_of(loads(dump(c)), loads(dump(c)))) == []


@given(cards, cards)
def test_any_two_cards_diff_without_crashing_and_json_is_strict(a: Card, b: Card) -> None:
    rows = rows_of(a, b)
    for r in rows:
        fmt_number(r.old, 5)
        fmt_number(r.new, 5)
        fmt_change(r, 5)
        if r.change is not None:
            assert not isinstance(r.old, bool) and not isinstance(r.new, bool)
            assert math.isfinite(r.old) and math.isfinite(r.new)
    doc = to_json(rows)
    json.loads(json.dumps(doc, allow_nan=False))  # no NaN/Infinity tokens anywhere


@given(cards, cards)
def test_diff_is_symmetric_in_what_it_reports(a: Card, b: Card) -> None:
    forward = {(r.kind, r.key): r.status for r in changed(rows_of(a, b))}
    backward = {(r.kind, r.key): r.status for r in changed(rows_of(b, a))}
    swap = {"added": "removed", "removed": "added", "modified": "modified"}
    assert backward == {k: swap[v] for k, v in forward.items()}


# ------------------------------------------------------------------- rows by example


def test_numbers_change_by_new_minus_old_with_relative_percent() -> None:
    rows = rows_of(
        card(1, metrics={"auc": 0.8, "loss": {"train": 0.5}}, params={"depth": 4}),
        card(3, OID_B, metrics={"auc": 0.9, "loss": {"train": 0.25}}, params={"depth": 6}),
    )
    got = by_key(rows)
    assert got[("metric", "auc")].change == pytest.approx(0.1)
    assert got[("metric", "auc")].relative == pytest.approx(0.125)
    assert got[("metric", "loss.train")].status == "modified"  # nested keys are dotted
    assert fmt_change(got[("metric", "loss.train")], 5) == "-0.25 (-50.0%)"
    assert fmt_change(got[("param", "depth")], 5) == "+2 (+50.0%)"
    assert got[("version", "")].old == 1 and got[("version", "")].new == 3
    art = got[("artifact", "")]
    assert (art.old, art.new, art.status, art.change) == (OID_A, OID_B, "modified", None)


def test_unchanged_added_and_removed_keys() -> None:
    rows = rows_of(
        card(metrics={"auc": 0.8, "old": 1}, labels={"team": "growth"}),
        card(metrics={"auc": 0.8, "new": 2}, labels={"team": "growth"}),
    )
    got = by_key(rows)
    assert got[("metric", "auc")].status == "unchanged"
    assert got[("label", "team")].status == "unchanged"
    assert (got[("metric", "old")].status, got[("metric", "old")].new) == ("removed", None)
    assert (got[("metric", "new")].status, got[("metric", "new")].old) == ("added", None)
    assert fmt_change(got[("metric", "new")], 5) == ""
    assert {(r.kind, r.key) for r in changed(rows)} == {("metric", "old"), ("metric", "new")}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("fast", "slow"),
        (True, False),
        (1, True),  # 1 == True in Python: a change of type is still a change
        ([1, 2], [1, 3]),
        (float("nan"), 0.5),
        (0.5, float("nan")),
        (float("inf"), 1.0),
        (1.0, float("-inf")),
        (float("inf"), float("-inf")),
        (0.9, "0.9"),  # a number in A, a string in B
        ("0.9", 0.9),
        (None, 1.0),
    ],
)
def test_values_that_are_not_two_finite_numbers_have_no_change(old: Any, new: Any) -> None:
    (row,) = [
        r for r in rows_of(card(metrics={"x": old}), card(metrics={"x": new})) if r.kind == "metric"
    ]
    assert row.status == "modified"
    assert row.change is None and row.relative is None
    assert fmt_change(row, 5) == ""
    assert fmt_number(row.old, 3) and fmt_number(row.new, 3)
    doc = to_json([row])
    json.loads(json.dumps(doc, allow_nan=False))
    assert "diff" not in doc["churn"]["metrics"]["x"]


@pytest.mark.parametrize(
    ("old", "new", "change"),
    [
        (1e308, -1e308, -int(2 * Fraction(1e308))),  # as floats, the change is -inf
        (1.5, 10**400, 10**400 - 2),  # 10**400 - 1.5 rounded to a whole number (even)
        (10**400, 1.5, 2 - 10**400),
        (10**400, 10**400 + 7, 7),
        (-(10**400), 10**400, 2 * 10**400),
        (2**1024, 1e308, float(Fraction(1e308) - 2**1024)),  # a float holds it: a float
    ],
    ids=["floats", "int-vs-float", "float-vs-int", "ints", "signs", "back-in-range"],
)
def test_a_change_too_large_for_a_float_is_exact(old: Any, new: Any, change: Any) -> None:
    (row,) = [
        r for r in rows_of(card(metrics={"x": old}), card(metrics={"x": new})) if r.kind == "metric"
    ]
    got = row.change
    assert got is not None and got == change and type(got) is type(change)
    assert row.relative is None or math.isfinite(row.relative)
    assert fmt_change(row, 5).startswith("+" if got > 0 else "-")
    doc = json.loads(json.dumps(to_json([row]), allow_nan=False))
    assert doc["churn"]["metrics"]["x"]["diff"] == change


def test_non_numbers_have_no_change_in_table_or_json() -> None:
    rows = rows_of(
        card(metrics={"a": "fast", "b": True, "c": [1, 2], "d": float("nan"), "e": 0.9}),
        card(metrics={"a": "slow", "b": False, "c": [1, 3], "d": 1.0, "e": "high"}),
    )
    doc = to_json(rows)["churn"]["metrics"]
    for key in "abcde":
        assert "diff" not in doc[key], key
    assert doc["d"] == {"old": "NaN", "new": 1.0}
    assert doc["e"] == {"old": 0.9, "new": "high"}


def test_nan_and_infinities_equal_themselves() -> None:
    values = {"n": float("nan"), "i": float("inf"), "m": float("-inf"), "l": [float("nan")]}
    assert changed(rows_of(card(metrics=values), card(metrics=dict(values)))) == []
    assert changed(rows_of(loads(dump(card(metrics=values))), card(metrics=values))) == []


def test_int_and_float_of_the_same_value() -> None:
    (row,) = [
        r for r in rows_of(card(metrics={"x": 1}), card(metrics={"x": 1.0})) if r.kind == "metric"
    ]
    # YAML 1 and 1.0 are different text in the card: shown, with a change of 0.
    assert row.status == "modified"
    assert row.change == 0


def test_a_mapping_that_becomes_a_value() -> None:
    rows = by_key(rows_of(card(metrics={"loss": {"train": 0.5}}), card(metrics={"loss": 0.4})))
    assert rows[("metric", "loss.train")].status == "removed"
    assert rows[("metric", "loss")].status == "added"


def test_data_lineage_rows_by_role() -> None:
    old = card(data=[{"role": "train", "path": "d/t.csv", "oid": OID_A}, {"uri": "s3://b/x"}])
    new = card(data=[{"role": "train", "path": "d/t.csv", "oid": OID_B}, {"uri": "s3://b/y"}])
    got = by_key(changed(rows_of(old, new)))
    assert got[("data", "train")].old == OID_A and got[("data", "train")].new == OID_B
    assert got[("data", "s3://b/x")].status == "removed"
    assert got[("data", "s3://b/y")].status == "added"
    assert to_json(list(got.values()))["churn"]["data"]["train"] == {"old": OID_A, "new": OID_B}


def test_models_added_and_removed() -> None:
    rows = diff_cards({"old": card()}, {"new": Card("new", 2, Artifact("m", OID_B))})
    model_rows = [(r.model, r.status, r.old, r.new) for r in rows if r.kind == "model"]
    assert model_rows == [("new", "added", None, "v2"), ("old", "removed", "v1", None)]
    assert all(r.status == "added" for r in rows if r.model == "new")
    assert all(r.status == "removed" for r in rows if r.model == "old")
    doc = to_json(rows)
    assert doc["new"]["model"]["status"] == "added"
    assert doc["old"]["model"]["status"] == "removed"


def test_a_broken_card_is_reported_and_the_rest_still_compared() -> None:
    rows = diff_cards(
        {"churn": "churn.yaml at HEAD~1: version: must be an integer", "other": card()},
        {"churn": card(metrics={"auc": 0.9}), "other": card(metrics={"auc": 0.5})},
    )
    churn = [r for r in rows if r.model == "churn"]
    assert churn[0].kind == "model" and churn[0].status == "error"
    assert "must be an integer" in churn[0].old
    # the broken side is not "added": the model existed, it could not be read
    assert not any(r.kind == "model" and r.status == "added" for r in churn)
    assert ("metric", "auc") in by_key(churn)
    assert by_key([r for r in rows if r.model == "other"])[("metric", "auc")].status == "added"
    doc = to_json(rows)
    assert doc["churn"]["model"]["status"] == "error"
    assert "must be an integer" in doc["churn"]["model"]["old"]
    assert doc["churn"]["metrics"]["auc"]["new"] == 0.9


def test_a_card_broken_on_both_sides_alike_is_still_reported() -> None:
    rows = diff_cards({"churn": "bad"}, {"churn": "bad"})
    assert [(r.kind, r.status) for r in rows] == [("model", "error")]


def test_json_shape() -> None:
    rows = changed(
        rows_of(
            card(1, metrics={"auc": 0.8}, params={"lr": 0.1}, labels={"team": "a"}),
            card(2, OID_B, metrics={"auc": 0.9}, params={"lr": 0.1}, labels={"team": "b"}),
        )
    )
    doc = to_json(rows)
    assert set(doc) == {"churn"}
    assert set(doc["churn"]) == {"version", "artifact", "metrics", "labels"}
    assert doc["churn"]["version"] == {"old": 1, "new": 2, "diff": 1}
    assert doc["churn"]["artifact"] == {"old": OID_A, "new": OID_B}
    assert doc["churn"]["metrics"]["auc"]["old"] == 0.8
    assert doc["churn"]["metrics"]["auc"]["diff"] == pytest.approx(0.1)
    assert doc["churn"]["labels"]["team"] == {"old": "a", "new": "b"}


# ---------------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("value", "precision", "text"),
    [
        (None, 5, "-"),
        (3, 5, "3"),
        (-3, 0, "-3"),
        (10**40, 5, str(10**40)),
        (0.1 + 0.2, 5, "0.3"),
        (0.123456789, 5, "0.12346"),
        (0.123456789, 2, "0.12"),
        (2.0, 5, "2"),
        (1.5, 0, "2"),
        (-0.000001, 3, "0"),
        (1e-7, 5, "0"),
        (float("nan"), 5, "nan"),
        (float("inf"), 5, "inf"),
        (float("-inf"), 5, "-inf"),
        (True, 5, "true"),
        (False, 5, "false"),
        ("fast", 5, "fast"),
        ([1, 2], 5, "[1, 2]"),
    ],
)
def test_fmt_number(value: Any, precision: int, text: str) -> None:
    assert fmt_number(value, precision) == text


@pytest.mark.parametrize(
    ("old", "new", "precision", "text"),
    [
        (0.8, 0.9, 5, "+0.1 (+12.5%)"),
        (0.9, 0.8, 5, "-0.1 (-11.1%)"),
        (2, 5, 5, "+3 (+150.0%)"),
        (0, 5, 5, "+5"),  # no relative change from zero
        (-2.0, -1.0, 5, "+1 (+50.0%)"),
        (0.8, 0.9, 0, "+0 (+12.5%)"),
        ("a", "b", 5, ""),
        (None, 0.9, 5, ""),
        (0.9, None, 5, ""),
    ],
)
def test_fmt_change(old: Any, new: Any, precision: int, text: str) -> None:
    status = "added" if old is None else "removed" if new is None else "modified"
    row = Row("churn", "metric", "x", old, new, status)
    assert fmt_change(row, precision) == text


def test_artifact_rows_never_have_a_numeric_change() -> None:
    row = Row("churn", "artifact", "", 1, 2, "modified")
    assert row.change is None and fmt_change(row, 5) == ""
