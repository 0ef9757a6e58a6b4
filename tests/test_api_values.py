"""The Python API stores what training code hands it: subclasses of the card's scalar types
(numpy.float64, numpy.str_, an IntEnum) as the plain type, numpy-like scalars through
their item(); anything else, and keys that an empty string or a dotted name would make
ambiguous, is an InvalidArgument naming the key, before any byte is stored (was a raw
yaml RepresenterError, and the blob stored)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mreg
from mreg.errors import InvalidArgument
from tests.helpers import assert_error, cache_blobs, run_mreg, write


class _Float(float):  # what sklearn's roc_auc_score returns: numpy.float64, a float subclass
    pass


class _Str(str):
    pass


class _Level(enum.IntEnum):
    HIGH = 3


class _Colour(str, enum.Enum):
    RED = "red"


class _Int64:
    """Like numpy.int64: not an int subclass, but item() gives the int."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def item(self) -> Any:
        return self.value


def _types(mapping: dict[str, Any]) -> dict[str, str]:
    return {k: type(v).__name__ for k, v in mapping.items()}


def test_subclasses_and_numpy_like_scalars_are_stored_plain(repo: Path) -> None:
    write(repo / "m.pkl", b"x")
    result = mreg.add(
        _Str("churn"),
        "m.pkl",
        params={_Str("depth"): _Level.HIGH, "loss": _Colour.RED, "n": _Int64(5)},
        metrics={"auc": _Float(0.5), "ok": _Int64(True), "curve": (_Float(0.1), _Int64(2))},
        labels={"team": _Str("growth")},
        description=_Str("a model"),
        framework=_Colour.RED,
        data=[_Str("m.pkl")],
        message=_Str("msg"),
    )
    assert result.status == "new"
    text = (repo / ".mreg" / "models" / "churn.yaml").read_text()
    assert "params:\n  depth: 3\n  loss: red\n  n: 5\n" in text
    assert "metrics:\n  auc: 0.5\n  ok: true\n  curve:\n  - 0.1\n  - 2\n" in text
    assert "labels:\n  team: growth\n" in text
    assert "description: a model\n" in text and "framework:\n  name: red\n" in text
    card = mreg.load_card("churn")
    assert _types(card.params) == {"depth": "int", "loss": "str", "n": "int"}
    assert _types(card.metrics) == {"auc": "float", "ok": "bool", "curve": "list"}


def test_real_numpy_scalars(repo: Path) -> None:
    np = pytest.importorskip("numpy")
    write(repo / "m.pkl", b"x")
    mreg.add(
        "churn",
        "m.pkl",
        metrics={"auc": np.float64(0.5), "f32": np.float32(0.25), "n": np.int64(7)},
        params={"on": np.bool_(True), "s": np.str_("x")},
    )
    card = mreg.load_card("churn")
    assert card.metrics == {"auc": 0.5, "f32": 0.25, "n": 7}
    assert _types(card.metrics) == {"auc": "float", "f32": "float", "n": "int"}
    assert card.params == {"on": True, "s": "x"}
    with pytest.raises(InvalidArgument, match=r"metrics\.v: unsupported value of type ndarray"):
        mreg.add("churn", "m.pkl", metrics={"v": np.array([1, 2])})


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("object", {"metrics": {"auc": object()}}, "metrics.auc: unsupported value of type object"),
    ("item list", {"metrics": {"a": {"b": _Int64([1])}}}, "metrics.a.b: unsupported value"),
    ("label list", {"labels": {"team": ["a"]}}, "labels.team: must be a number"),
    ("params set", {"params": {"s": {1, 2}}}, "params.s: unsupported value of type set"),
    ("empty key", {"metrics": {"": 0.5}}, r"metrics: a key is empty \(''\)"),
    ("empty nested", {"params": {"tree": {"": 1}}}, r"params.tree: a key is empty"),
    (
        "dotted twice",
        {"metrics": {"x.y": 2, "x": {"y": 1}}},
        r"metrics.x.y: given twice, as metrics\['x.y'\] and as metrics\['x'\]\['y'\]",
    ),
]


@pytest.mark.parametrize(("kwargs", "match"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_values_a_card_cannot_hold_are_invalid_argument(
    repo: Path, kwargs: dict[str, Any], match: str
) -> None:
    write(repo / "m.pkl", b"x")
    with pytest.raises(InvalidArgument, match=f"^{match}") as info:
        mreg.add("churn", "m.pkl", **kwargs)
    assert info.value.hint
    assert mreg.list_models() == []
    assert cache_blobs(repo) == []  # refused before the bytes were stored


def test_a_dotted_name_the_card_holds_already_is_refused(repo: Path) -> None:
    write(repo / "m.pkl", b"x")
    mreg.add("churn", "m.pkl", metrics={"x": {"y": 1}})
    before = (repo / ".mreg" / "models" / "churn.yaml").read_bytes()
    with pytest.raises(InvalidArgument, match=r"metrics.x.y: given twice"):
        mreg.add("churn", "m.pkl", metrics={"x.y": 2})
    assert (repo / ".mreg" / "models" / "churn.yaml").read_bytes() == before


def test_track_and_run_log_store_plain_values(repo: Path) -> None:
    write(repo / "m.pkl", b"x")
    with mreg.track(_Str("churn"), params={"lr": _Float(0.1)}, labels={"team": _Colour.RED}) as run:
        run.log_params({"depth": _Int64(6)}, layers=_Level.HIGH)
        run.log_metrics(auc=_Float(0.91))
        run.log_metrics({"loss": {"train": _Float(0.2)}})
        run.log_artifact("m.pkl")
    assert run.result is not None
    card = mreg.load_card("churn")
    assert card.params == {"lr": 0.1, "depth": 6, "layers": 3}
    assert _types(card.params) == {"lr": "float", "depth": "int", "layers": "int"}
    assert card.metrics == {"auc": 0.91, "loss": {"train": 0.2}}
    assert type(card.metrics["auc"]) is float and card.labels == {"team": "red"}


CALLS: list[tuple[str, Callable[[mreg.Run], None], str]] = [
    ("metric", lambda run: run.log_metrics(auc=object()), "metrics.auc: unsupported value"),
    ("param", lambda run: run.log_params({"p": {"q": {1}}}), "params.p.q: unsupported value"),
    ("empty", lambda run: run.log_metrics({"": 1}), "metrics: a key is empty"),
    ("dotted", lambda run: run.log_metrics({"x.y": 2}), "metrics.x.y: given twice"),
]


@pytest.mark.parametrize(("call", "match"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_run_log_refuses_a_value_at_once(
    repo: Path, call: Callable[[mreg.Run], None], match: str
) -> None:
    write(repo / "m.pkl", b"x")
    with mreg.track("churn") as run:
        run.log_metrics({"x": {"y": 1}})
        with pytest.raises(InvalidArgument, match=f"^{match}") as info:
            call(run)
        assert info.value.hint
        run.log_artifact("m.pkl")
    assert mreg.load_card("churn").metrics == {"x": {"y": 1}}  # the refused call left none


def test_track_refuses_a_value_before_the_block(repo: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"^params\.lr: unsupported value of type object"):
        mreg.track("churn", params={"lr": object()}).__enter__()
    with pytest.raises(InvalidArgument, match=r"^labels: a key is empty"):
        mreg.track("churn", labels={"": "x"}).__enter__()


def test_command_line_metrics_file_with_one_name_twice(repo: Path) -> None:
    write(repo / "m.bin", b"1")
    write(repo / "metrics.json", '{"x.y": 2, "x": {"y": 1}}')
    result = run_mreg(repo, "add", "churn", "m.bin", "--metrics", "metrics.json")
    assert_error(result, 3, "metrics.x.y: given twice")
    assert not (repo / ".mreg" / "models" / "churn.yaml").exists()
    # A dotted file and a nested -m option name the same metric too.
    write(repo / "metrics.json", '{"loss.train": 0.4}')
    result = run_mreg(
        repo, "add", "churn", "m.bin", "--metrics", "metrics.json", "-m", "loss.train=0.5"
    )
    assert_error(result, 3, "metrics.loss.train: given twice")
