"""`mreg diff --precision N`: rounding never changes a number's magnitude."""

from __future__ import annotations

import pytest

from mreg.diff import fmt_number


@pytest.mark.parametrize(
    ("value", "precision", "shown"),
    [
        (10.0, 0, "10"),
        (250.0, 0, "250"),
        (300.0, 0, "300"),
        (50.0, 0, "50"),
        (-0.3, 0, "0"),  # rounds to zero, never to "-" (which means absent)
        (0.7, 0, "1"),
        (100.0, 2, "100"),
        (0.5, 3, "0.5"),
        (1.25, 1, "1.2"),
        (-2.0, 0, "-2"),
    ],
)
def test_rounding_keeps_the_integer_digits(value: float, precision: int, shown: str) -> None:
    assert fmt_number(value, precision) == shown
