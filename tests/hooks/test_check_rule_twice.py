"""`mreg check`: a rule written twice under one metric (dotted and nested) is refused
naming both spellings, never one bound silently dropped. End to end through the
installed console script."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_error
from tests.hooks.conftest import add_churn, append_gates, mreg


@pytest.mark.parametrize(
    ("section", "key", "first", "second"),
    [
        (
            "    loss.train: {max: 0.4}\n    loss:\n      train: {max: 0.6}\n",
            "checks.churn.loss.train.max: given twice",
            "`loss.train: {max: 0.4}`",
            "`loss: {train: {max: 0.6}}`",
        ),
        (
            "    loss:\n      train: {max: 0.6}\n    loss.train: {max: 0.4}\n",
            "checks.churn.loss.train.max: given twice",
            "`loss.train: {max: 0.4}`",
            "`loss: {train: {max: 0.6}}`",
        ),
        (
            "    a:\n      b.c: {min: 1}\n    a.b:\n      c: {min: 2}\n",
            "checks.churn.a.b.c.min: given twice",
            "`a.b: {c: {min: 2}}`",
            "`a: {b.c: {min: 1}}`",
        ),
    ],
)
def test_a_rule_written_twice_is_refused_naming_both(
    repo: Path, section: str, key: str, first: str, second: str
) -> None:
    add_churn(repo, "loss.train=0.5", "a.b.c=1")
    before = (repo / ".mreg" / "config.yaml").read_text(encoding="utf-8")
    append_gates(repo, "checks:\n  churn:\n" + section)
    res = mreg(repo, "check")
    assert_error(res, 3, key, hint="keep one of them")
    assert first in res.lines[0] and second in res.lines[0]
    assert mreg(repo, "check", "--json").error_json["error"]["code"] == "invalid-config"
    # Different rules of one metric, spelled both ways, are all kept.
    (repo / ".mreg" / "config.yaml").write_text(before, encoding="utf-8")
    append_gates(
        repo, "checks:\n  churn:\n    loss.train: {max: 0.4}\n    loss:\n      train: {min: 0}\n"
    )
    res = mreg(repo, "check", "--json")
    assert res.exit_code == 1, res.stderr
    got = {(r["metric"], r["rule"]): r["status"] for r in res.json["results"]}
    assert got == {("loss.train", "max"): "fail", ("loss.train", "min"): "pass"}
