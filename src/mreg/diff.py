"""Pure comparison of two sets of cards: rows of changes, JSON shape, number formatting.

Layer: pure (no I/O). Inputs map a model name to its Card, or to a string saying why the
card is broken there. Follows `dvc metrics diff`: one row per changed key, nested keys
dotted, a missing side is None (shown as "-"), numeric change = new - old.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from mreg.card import Card, flatten, is_number

KINDS = ("model", "version", "artifact", "metric", "param", "data", "label")
_JSON_GROUP = {
    "metric": "metrics",
    "param": "params",
    "label": "labels",
    "data": "data",
}


@dataclass(frozen=True)
class Row:
    """One compared key. status: added | removed | modified | unchanged | error."""

    model: str
    kind: str
    key: str
    old: Any
    new: Any
    status: str

    @property
    def change(self) -> float | int | None:
        """new - old when both are real numbers (never for artifacts), see difference()."""
        return None if self.kind == "artifact" else difference(self.old, self.new)

    @property
    def relative(self) -> float | None:
        change = self.change
        if change is None or self.old == 0:
            return None
        try:
            rel = change / abs(self.old)
        except OverflowError:
            return None
        return rel if is_number(rel) else None


def exact_difference(old: float | int, new: float | int) -> Fraction:
    """new - old of two real numbers, exactly (an int too large for a float included)."""
    return Fraction(new) - Fraction(old)


def difference(old: Any, new: Any) -> float | int | None:
    """new - old when both are real, finite numbers (not bools), else None. As Python
    computes it when that is a finite number; otherwise (an int too large for a float
    against a float, 1e308 - -1e308) the exact difference: a float if one holds it, else
    a whole number (rounded; JSON holds it as an integer). `mreg check` compares the
    same exact difference (exact_difference)."""
    if not (is_number(old) and is_number(new)):
        return None
    try:
        change = new - old
    except OverflowError:  # int - float, the int too large for a float
        change = None
    if is_number(change):
        return change
    exact = exact_difference(old, new)
    try:
        return float(exact)
    except OverflowError:
        return round(exact)


def _data_map(card: Card) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, d in enumerate(card.data):
        key = str(d.get("role") or d.get("path") or d.get("uri") or i)
        if key in out:
            key = f"{key}[{i}]"
        out[key] = d.get("oid") or d.get("uri") or d.get("path")
    return out


def _sections(card: Card) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("version", {"": card.version}),
        ("artifact", {"": card.artifact.oid}),
        ("metric", flatten(card.metrics)),
        ("param", flatten(card.params)),
        ("data", _data_map(card)),
        ("label", flatten(card.labels)),
    ]


def _same(a: Any, b: Any) -> bool:
    # 1 == 1.0 == True in Python; a change of type is a change. NaN equals NaN here, also
    # inside a list (two parses of one card give two different NaN objects).
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) or (a != a and b != b)


def diff_cards(old: dict[str, Card | str], new: dict[str, Card | str]) -> list[Row]:
    """Every compared key of every model in either side, sorted by model."""
    rows: list[Row] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if isinstance(a, str) or isinstance(b, str):
            rows.append(
                Row(
                    name,
                    "model",
                    "",
                    a if isinstance(a, str) else None,
                    b if isinstance(b, str) else None,
                    "error",
                )
            )
            a = a if isinstance(a, Card) else None
            b = b if isinstance(b, Card) else None
            if a is None and b is None:
                continue
        if name not in old and b is not None:
            rows.append(Row(name, "model", "", None, f"v{b.version}", "added"))
        elif name not in new and a is not None:
            rows.append(Row(name, "model", "", f"v{a.version}", None, "removed"))
        sa = dict(_sections(a)) if a is not None else {}
        sb = dict(_sections(b)) if b is not None else {}
        for kind in ("version", "artifact", "metric", "param", "data", "label"):
            ka, kb = sa.get(kind, {}), sb.get(kind, {})
            for key in sorted(set(ka) | set(kb), key=str):
                va, vb = ka.get(key), kb.get(key)
                if key not in ka:
                    status = "added"
                elif key not in kb:
                    status = "removed"
                elif _same(va, vb):
                    status = "unchanged"
                else:
                    status = "modified"
                rows.append(Row(name, kind, key, va, vb, status))
    return rows


def changed(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.status != "unchanged"]


def jsonable(value: Any) -> Any:
    """A value strict JSON can hold: NaN and infinities become the strings "NaN",
    "Infinity", "-Infinity" (also inside lists and mappings)."""
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def to_json(rows: list[Row]) -> dict[str, Any]:
    """{"churn": {"metrics": {"auc": {"old", "new", "diff"}}, "version": {...}, ...}}."""
    out: dict[str, Any] = {}
    for r in rows:
        model = out.setdefault(r.model, {})
        entry: dict[str, Any] = {"old": jsonable(r.old), "new": jsonable(r.new)}
        if r.change is not None:
            entry["diff"] = r.change
        if r.kind == "model":
            model["model"] = {**entry, "status": r.status}
        elif r.kind in ("version", "artifact"):
            model[r.kind] = entry
        else:
            model.setdefault(_JSON_GROUP[r.kind], {})[r.key] = entry
    return out


def fmt_number(value: Any, precision: int) -> str:
    """Round like `dvc metrics diff --precision`: digits after the point, zeros trimmed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (int, float)):
        return "-" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    text = f"{value:.{precision}f}"
    if "." in text:  # trailing zeros of the fraction only: 250 must stay 250
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def fmt_change(row: Row, precision: int) -> str:
    change = row.change
    if change is None or row.status in ("added", "removed"):
        return ""
    sign = "+" if change > 0 else ""
    text = f"{sign}{fmt_number(change, precision)}"
    rel = row.relative
    if rel is not None:
        text += f" ({'+' if rel > 0 else ''}{rel * 100:.1f}%)"
    return text
