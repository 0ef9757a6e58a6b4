"""`mreg check` and `mreg diff` with metrics too large for a float: compared exactly, the
same way by both (they crashed with OverflowError, exit 70, or dropped "diff"). End to
end through the installed console script, and apply_rule directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from mreg.checks import apply_rule
from tests.helpers import git
from tests.hooks.conftest import add_churn, append_gates, mreg

BIG = 10**400  # no float holds it: float(BIG) raises OverflowError


def short_id(value: object) -> str | None:
    """Test ids without 400 digits: BIG+2, -BIG."""
    if isinstance(value, int) and abs(value) > 10**300:
        rest = abs(value) - BIG
        return ("-" if value < 0 else "") + "BIG" + (f"+{rest}" if 0 < rest < 10**300 else "")
    return None


@pytest.mark.parametrize(
    ("rule", "bound", "value", "baseline", "status", "message"),
    [
        ("max_drop", 1, BIG, 0.5, "pass", ""),
        ("max_rise", 1, BIG, 0.5, "fail", "rose by 1e+400 (at most 1)"),
        ("max_drop", 1, 0.5, BIG, "fail", "dropped by 1e+400 (at most 1)"),
        ("max_drop", 1, BIG, BIG + 1, "pass", ""),
        ("max_drop", 1, BIG, BIG + 2, "fail", "dropped by 2 (at most 1)"),
        ("max_rise_pct", 1, BIG, 0.5, "fail", "rose by 2e+402% (at most 1%)"),
        ("max_drop_pct", 1, BIG, 0.5, "pass", ""),
        ("max_rise_pct", 1, BIG + BIG // 200, BIG, "pass", ""),  # +0.5 %
        ("max_rise_pct", 1, BIG + BIG // 50, BIG, "fail", "rose by 2% (at most 1%)"),
        ("max_rise_pct", 1, BIG, 0, "fail", "rose by inf% (at most 1%)"),
        ("max", 1, BIG, None, "fail", "above the maximum 1"),
        ("max", 1, -BIG, None, "pass", ""),
        ("min", 1, BIG, None, "pass", ""),
        ("min", 1, -BIG, None, "fail", "below the minimum 1"),
        ("max_drop", 1, 1e308, -1e308, "pass", ""),
        ("max_rise", 1, 1e308, -1e308, "fail", "rose by 2e+308 (at most 1)"),
    ],
    ids=short_id,
)
def test_numbers_too_large_for_a_float_are_compared_exactly(
    rule: str, bound: float, value: object, baseline: object, status: str, message: str
) -> None:
    got = apply_rule(rule, bound, value, baseline)
    assert got[0] == status, got
    if message:
        assert got[1] == message


def test_float_noise_is_still_not_a_breach_with_exact_arithmetic() -> None:
    assert apply_rule("max_drop", 0.01, 0.89, 0.90) == ("pass", "")
    assert apply_rule("max_rise_pct", 10, 1.1, 1.0) == ("pass", "")
    assert apply_rule("max_drop", 0.01, 0.88, 0.90)[0] == "fail"


def test_check_and_diff_agree_on_a_metric_too_large_for_a_float(repo: Path) -> None:
    add_churn(repo, "auc=0.5")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v1")
    add_churn(repo, f"auc={BIG}")
    git(repo, "commit", "-q", "-am", "big")
    append_gates(repo, "checks:\n  churn:\n    auc: {max_drop: 1, max_rise: 1, max: 2}\n")
    res = mreg(repo, "check", "--baseline", "HEAD~1", "--json")
    assert res.exit_code == 1, res.stderr
    got = {r["rule"]: r for r in res.json["results"]}
    assert got["max_drop"]["status"] == "pass"
    assert got["max_rise"]["message"] == "rose by 1e+400 (at most 1)"
    assert got["max"]["message"] == "above the maximum 2"
    assert got["max"]["value"] == BIG and got["max_drop"]["baseline"] == 0.5
    table = mreg(repo, "check", "--baseline", "HEAD~1")
    assert table.exit_code == 1 and "Traceback" not in table.stderr
    diff = mreg(repo, "diff", "HEAD~1", "HEAD", "--json")
    assert diff.exit_code == 0, diff.stderr
    auc = diff.json["churn"]["metrics"]["auc"]
    assert auc == {"old": 0.5, "new": BIG, "diff": BIG}  # BIG - 0.5, rounded to a whole number
    shown = mreg(repo, "diff", "HEAD~1", "HEAD")
    assert shown.exit_code == 0 and f"+{BIG}" in shown.stdout
