"""The Python API reads refs as the CLI does: a bare model name beside a model ref in
`mreg.diff`, and a stage name mreg could never assign in `mreg.resolve`."""

from __future__ import annotations

import pytest

import mreg
from mreg.diff import Row
from mreg.errors import InvalidName
from mreg.names import MAX_STAGE
from tests.history.conftest import History


def _version(rows: list[Row]) -> tuple[object, object]:
    (row,) = [r for r in rows if r.model == "churn" and r.kind == "version"]
    return row.old, row.new


def test_api_diff_reads_a_bare_name_beside_a_ref_as_the_work_tree_card(three: History) -> None:
    # Was: InvalidArgument "cannot compare revision 'churn' with model reference".
    assert _version(mreg.diff("churn", "churn@v1", repo=three.root)) == (3, 1)
    assert _version(mreg.diff("churn@v1", "churn", repo=three.root)) == (1, 3)


def test_api_resolve_refuses_a_stage_too_long_to_assign(three: History) -> None:
    stage = "a" * (MAX_STAGE + 1)
    with pytest.raises(InvalidName) as err:
        mreg.resolve(f"churn#{stage}", repo=three.root)
    assert f"invalid stage name: {len(stage)} characters" in err.value.message
    assert "promote" not in (err.value.hint or "")
