"""`mreg add` checks params, metrics and labels as card-spec rule 15 says, with a hint:
an empty key, one value given dotted and nested in one file, and a value given the other
way from how the card already holds it (which the merge would have made twice)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import assert_error, run_mreg, write

pytestmark = pytest.mark.e2e


@pytest.fixture
def model(repo: Path) -> Path:
    write(repo / "m.bin", b"model")
    assert run_mreg(repo, "add", "m", "m.bin", "-m", "x.y=1").exit_code == 0
    return repo / ".mreg" / "models" / "m.yaml"


@pytest.mark.parametrize(
    ("values", "message", "hint"),
    [
        ({"": 2}, "metrics: a key is empty ('')", "non-empty str keys"),
        (
            {"a.b": 2, "a": {"b": 3}},
            "metrics.a.b: given twice, as metrics['a.b'] and as metrics['a']['b']",
            "non-empty str keys",
        ),
        (
            {"x.y": 2},  # the card holds x: {y: 1}
            "metrics.x.y: given twice",
            "the card already holds that value spelled the other way",
        ),
    ],
)
def test_bad_metrics_are_refused_with_a_hint(
    model: Path, values: dict[str, object], message: str, hint: str
) -> None:
    repo = model.parents[2]
    before = model.read_bytes()
    write(repo / "f.json", json.dumps(values))
    assert_error(run_mreg(repo, "add", "m", "m.bin", "--metrics", "f.json"), 3, message, hint)
    assert model.read_bytes() == before


def test_the_cards_own_spelling_updates_it(model: Path) -> None:
    repo = model.parents[2]
    write(repo / "f.json", json.dumps({"x": {"y": 2}}))
    res = run_mreg(repo, "add", "m", "m.bin", "--metrics", "f.json", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["status"] == "updated"
    assert "y: 2" in model.read_text()
