"""`mreg check`: quality gates from the checks: section of .mreg/config.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from mreg.checks import apply_rule
from tests.helpers import Cli, assert_error, git, write

CONFIG = """\
checks:
  churn:
    auc: {min: 0.85, max_drop: 0.01}
    latency_ms: {max: 50, max_rise_pct: 10}
    loss.train: {max: 0.5}
"""


def add(cli: Cli, *metrics: str, data: str = "bytes-1") -> None:
    write(Path("out/model.pkl"), data)
    args = ["add", "churn", "out/model.pkl"]
    for m in metrics:
        args += ["-m", m]
    res = cli(*args)
    assert res.exit_code == 0, res.stderr


@pytest.fixture
def gated(repo: Path, cli: Cli) -> Path:
    with open(repo / ".mreg" / "config.yaml", "a", encoding="utf-8") as f:
        f.write(CONFIG)
    add(cli, "auc=0.90", "latency_ms=40", "loss.train=0.3")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "baseline")
    return repo


def rows(res: object) -> dict[tuple[str, str], dict[str, object]]:
    doc = res.json  # type: ignore[attr-defined]
    return {(r["metric"], r["rule"]): r for r in doc["results"]}


def test_unchanged_card_passes_its_absolute_rules(gated: Path, cli: Cli) -> None:
    res = cli("check", "--json")
    assert res.exit_code == 0, res.stdout
    got = rows(res)
    assert set(got) == {
        ("auc", "min"),
        ("auc", "max_drop"),
        ("latency_ms", "max"),
        ("latency_ms", "max_rise_pct"),
        ("loss.train", "max"),
    }
    assert all(r["status"] == "pass" for r in got.values())
    assert got[("auc", "max_drop")]["baseline"] == 0.9
    assert res.json["baseline"] == "HEAD" and res.json["passed"] is True
    assert len(res.json["baseline_commit"]) == 40


def test_breaches_exit_1_and_say_why(gated: Path, cli: Cli) -> None:
    add(cli, "auc=0.88", "latency_ms=45", "loss.train=0.6", data="bytes-2")
    res = cli("check", "--json")
    assert res.exit_code == 1
    got = rows(res)
    assert got[("auc", "min")]["status"] == "pass"
    assert got[("auc", "max_drop")]["status"] == "fail"
    assert "dropped by 0.02" in str(got[("auc", "max_drop")]["message"])
    assert got[("latency_ms", "max_rise_pct")]["status"] == "fail"  # +12.5 %
    assert got[("loss.train", "max")]["status"] == "fail"
    table = cli("check")
    assert table.exit_code == 1
    assert "churn" in table.stdout and "max_drop" in table.stdout and "fail" in table.stdout
    assert "3 breach(es)" in table.stderr
    md = cli("check", "--md")
    assert md.stdout.startswith("| Model | Metric | Rule | Value | Baseline | Bound | Result |")


def test_float_noise_is_not_a_breach(gated: Path, cli: Cli) -> None:
    add(cli, "auc=0.89", "latency_ms=44", "loss.train=0.3", data="bytes-2")
    res = cli("check", "--json")
    assert res.exit_code == 0, res.stdout  # 0.90 - 0.89 == 0.010000000000000009


def test_missing_metric_is_a_breach(gated: Path, cli: Cli) -> None:
    add(cli, "auc=0.9", data="bytes-2")  # a new version starts its metrics afresh
    res = cli("check", "--json")
    assert res.exit_code == 1
    got = rows(res)
    assert got[("latency_ms", "max")]["message"] == "metric missing from the card"
    assert got[("auc", "min")]["status"] == "pass"


def test_baseline_option_and_names(gated: Path, cli: Cli) -> None:
    add(cli, "auc=0.95", "latency_ms=40", "loss.train=0.3", data="bytes-2")
    git(gated, "commit", "-q", "-am", "better")
    add(cli, "auc=0.935", "latency_ms=40", "loss.train=0.3", data="bytes-3")
    assert cli("check", "churn").exit_code == 1  # dropped 0.015 against HEAD
    assert cli("check", "churn", "--baseline", "HEAD~1").exit_code == 0
    res = cli("check", "--baseline", "nope")
    assert_error(res, 3, "unknown revision 'nope'")
    res = cli("check", "other")
    assert_error(res, 3, "no checks are configured for 'other'", hint="churn")


def test_new_model_has_no_baseline_for_relative_rules(repo: Path, cli: Cli) -> None:
    with open(repo / ".mreg" / "config.yaml", "a", encoding="utf-8") as f:
        f.write(CONFIG)
    add(cli, "auc=0.9", "latency_ms=40", "loss.train=0.3")
    res = cli("check", "--json")  # no commits yet
    assert res.exit_code == 0, res.stdout
    assert rows(res)[("auc", "max_drop")]["status"] == "skip"


def test_configured_model_without_card_is_a_breach(repo: Path, cli: Cli) -> None:
    with open(repo / ".mreg" / "config.yaml", "a", encoding="utf-8") as f:
        f.write("checks:\n  chrun:\n    auc: {min: 0.8}\n")
    res = cli("check", "--json")
    assert res.exit_code == 1
    assert res.json["results"][0]["message"] == "no card for this model in the work tree"


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("checks: [1]", "checks: must be a mapping"),
        ("checks:\n  Churn:\n    auc: {min: 1}", "checks.Churn: not a model name"),
        ("checks:\n  churn: 3", "checks.churn: must be a mapping of metrics"),
        ("checks:\n  churn:\n    auc: 0.8", "checks.churn.auc: must be a mapping of rules"),
        ("checks:\n  churn:\n    auc: {mni: 0.8}", "checks.churn.auc.mni: unknown rule"),
        ("checks:\n  churn:\n    auc: {min: high}", "checks.churn.auc.min: must be a number"),
        ("checks:\n  churn:\n    auc: {min: true}", "checks.churn.auc.min: must be a number"),
        ("checks:\n  churn:\n    auc: {max_drop: -1}", "checks.churn.auc.max_drop: must not"),
        ("checks:\n  churn:\n    loss: {train: {maxx: 1}}", "checks.churn.loss.train.maxx"),
    ],
)
def test_malformed_checks_section_is_exit_3_naming_the_key(
    repo: Path, cli: Cli, section: str, key: str
) -> None:
    with open(repo / ".mreg" / "config.yaml", "a", encoding="utf-8") as f:
        f.write(section + "\n")
    res = cli("check")
    assert_error(res, 3, key)


def test_nested_metric_rules_are_dotted(gated: Path, cli: Cli) -> None:
    with open(gated / ".mreg" / "config.yaml", "a", encoding="utf-8") as f:
        f.write("    loss:\n      test: {max: 0.1}\n")
    res = cli("check", "--json")
    assert rows(res)[("loss.test", "max")]["message"] == "metric missing from the card"


@pytest.mark.parametrize(
    ("rule", "bound", "value", "baseline", "status"),
    [
        ("min", 0.5, 0.5, None, "pass"),
        ("max", 1, 2, None, "fail"),
        ("max_rise", 1, 3, 2, "pass"),
        ("max_rise", 1, 3.5, 2, "fail"),
        ("max_drop_pct", 10, 0.9, 1.0, "pass"),
        ("max_drop_pct", 10, 0.89, 1.0, "fail"),
        ("max_rise_pct", 10, 1, 0, "fail"),
        ("max_rise_pct", 10, 0, 0, "pass"),
        ("max_drop", 1, "high", 1, "fail"),
        ("max_drop", 1, 1, "low", "skip"),
    ],
)
def test_apply_rule(rule: str, bound: float, value: object, baseline: object, status: str) -> None:
    assert apply_rule(rule, bound, value, baseline)[0] == status
