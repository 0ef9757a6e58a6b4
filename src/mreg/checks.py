"""Quality gates: the `checks:` rules of .mreg/config.yaml applied to the work-tree cards.

Layer: registry level, above config/history. `min`/`max` bound the work-tree card's
metric; `max_drop`/`max_rise` (absolute) and `max_drop_pct`/`max_rise_pct` (relative, in
per cent of the baseline's magnitude) compare it with the card at a baseline revision
(default HEAD; in CI `origin/main`). Every rule gives one row; a missing or non-numeric
metric is a breach that says so; a relative rule without a baseline value is skipped
(a new model or a new metric has nothing to fall from), but a baseline card that exists
and cannot be read stops the check (InvalidCard): such a gate cannot be evaluated, and
must not pass. Numbers are compared exactly (an int too large for a float included).
docs/ci.md documents this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from mreg.card import Card, flatten, is_number
from mreg.diff import exact_difference
from mreg.errors import UPGRADE_HINT, InvalidCard, ModelNotFound, MregError
from mreg.names import check_name
from mreg.project import Project

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass(frozen=True)
class CheckRow:
    """One rule applied to one model. status: pass | fail | skip."""

    model: str
    metric: str
    rule: str
    bound: float
    value: Any
    baseline: Any
    status: str
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "metric": self.metric,
            "rule": self.rule,
            "bound": self.bound,
            "value": self.value,
            "baseline": self.baseline,
            "status": self.status,
            "message": self.message,
        }


@dataclass
class CheckReport:
    """Every row, and the baseline they were compared with."""

    baseline: str
    baseline_commit: str | None
    rows: list[CheckRow]

    @property
    def passed(self) -> bool:
        return all(r.status != FAIL for r in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "baseline_commit": self.baseline_commit,
            "passed": self.passed,
            "results": [r.to_dict() for r in self.rows],
        }


RELATIVE_RULES = ("max_drop", "max_rise", "max_drop_pct", "max_rise_pct")


def _exceeds(amount: float | Fraction, bound: float | Fraction) -> bool:
    """amount > bound, not counting float noise (0.86 - 0.85 is 0.01000000000000001).
    Either side may be an int or Fraction beyond a float's range: compared exactly."""
    if not amount > bound:
        return False
    try:
        near = math.isclose(float(amount), float(bound), rel_tol=1e-9, abs_tol=1e-12)
    except OverflowError:  # no float holds one side: far apart from the other
        near = False
    return not near


def _fmt(amount: float | Fraction) -> str:
    """Four significant digits, like f"{x:.4g}", also for a number no float can hold."""
    try:
        return f"{float(amount):.4g}"
    except OverflowError:
        mantissa, _, exponent = format(Decimal(round(amount)), ".4g").partition("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{exponent}" if exponent else mantissa


def apply_rule(rule: str, bound: float, value: Any, baseline: Any) -> tuple[str, str]:
    """(status, message) of one rule; value/baseline are MISSING-free metric values."""
    if value is _ABSENT:
        return FAIL, "metric missing from the card"
    if not is_number(value):
        return FAIL, f"not a number: {value!r}"
    if rule == "min":
        ok = not _exceeds(bound, value)
        return (PASS, "") if ok else (FAIL, f"below the minimum {bound:g}")
    if rule == "max":
        ok = not _exceeds(value, bound)
        return (PASS, "") if ok else (FAIL, f"above the maximum {bound:g}")
    if baseline is _ABSENT:
        return SKIP, "no baseline value"
    if not is_number(baseline):
        return SKIP, f"baseline is not a number: {baseline!r}"
    change = exact_difference(baseline, value)  # exact, as `mreg diff` shows it
    amount: float | Fraction
    if rule.endswith("_pct"):
        if baseline == 0:
            pct: float | Fraction = 0.0 if change == 0 else math.inf if change > 0 else -math.inf
        else:
            pct = change / abs(Fraction(baseline)) * 100
        amount = -pct if rule == "max_drop_pct" else pct
        unit = "%"
    else:
        amount = -change if rule == "max_drop" else change
        unit = ""
    if not _exceeds(amount, bound):
        return PASS, ""
    what = "dropped" if rule.startswith("max_drop") else "rose"
    return FAIL, f"{what} by {_fmt(amount)}{unit} (at most {bound:g}{unit})"


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def _metric(card: Card | str | None, metric: str) -> Any:
    if not isinstance(card, Card):
        return _ABSENT
    flat = flatten(card.metrics)
    return flat.get(metric, _ABSENT)


def _unreadable_baseline(project: Project, model: str, baseline: str, reason: str) -> None:
    """Raise InvalidCard: the relative rules of `model` need its card at `baseline`,
    which exists and cannot be read (a newer mreg's schema, invalid YAML, ...)."""
    from mreg.history import card_at

    upgrade = None
    try:  # read it again for the error's own hint: a newer schema says to upgrade mreg
        card_at(project, model, baseline)
    except MregError as exc:
        reason = exc.message
        upgrade = exc.hint if exc.hint == UPGRADE_HINT else None
    raise InvalidCard(
        f"cannot check {model!r} against {baseline}: the baseline card is unreadable: {reason}",
        hint=upgrade
        or f"fix the card in a commit on {baseline}, or compare with another revision: "
        "mreg check --baseline REV",
    )


def check(project: Project, names: list[str] | None = None, baseline: str = "HEAD") -> CheckReport:
    """Apply the configured rules to the work-tree cards (all models with rules, or
    `names`), comparing with the cards at `baseline`."""
    from mreg.history import cards_at, require_rev

    rules = project.config.checks
    for n in names or []:
        check_name(n)
        if n not in rules:
            hint = f"models with checks: {', '.join(sorted(rules))}" if rules else None
            raise ModelNotFound(
                f"no checks are configured for {n!r} (checks.{n} in .mreg/config.yaml)",
                hint=hint or "add a checks: section to .mreg/config.yaml (docs/ci.md)",
            )
    selected = [n for n in rules if not names or n in names]
    current = cards_at(project, None)
    if baseline == "HEAD" and project.git.head_commit() is None:
        base_cards: dict[str, Card | str] = {}
        base_commit = None
    else:
        base_commit = require_rev(project, baseline)
        base_cards = cards_at(project, base_commit)
    for model in selected:
        base = base_cards.get(model)
        if isinstance(base, str) and any(
            rule in RELATIVE_RULES for spec in rules[model].values() for rule in spec
        ):
            _unreadable_baseline(project, model, baseline, base)
    rows: list[CheckRow] = []
    for model in selected:
        card = current.get(model)
        base = base_cards.get(model)
        for metric, metric_rules in rules[model].items():
            for rule, bound in metric_rules.items():
                if card is None:
                    status, message = FAIL, "no card for this model in the work tree"
                    value: Any = None
                elif isinstance(card, str):
                    status, message, value = FAIL, f"card is broken: {card}", None
                else:
                    value = _metric(card, metric)
                    status, message = apply_rule(rule, bound, value, _metric(base, metric))
                base_value = _metric(base, metric)
                rows.append(
                    CheckRow(
                        model=model,
                        metric=metric,
                        rule=rule,
                        bound=bound,
                        value=None if value is _ABSENT else value,
                        baseline=None if base_value is _ABSENT else base_value,
                        status=status,
                        message=message,
                    )
                )
    return CheckReport(baseline, base_commit, rows)
