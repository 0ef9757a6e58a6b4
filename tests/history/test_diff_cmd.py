"""`mreg diff` and `mreg.diff`: two revisions or two model refs, read from git objects."""

from __future__ import annotations

import json

import pytest

import mreg
from mreg import api
from mreg.diff import Row
from tests.helpers import Cli, assert_error, snapshot
from tests.history.conftest import History


def _table(stdout: str) -> list[list[str]]:
    """Rows of a markdown table, without header and rule."""
    lines = stdout.splitlines()
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]


def test_diff_two_revisions_markdown(three: History, cli: Cli) -> None:
    res = cli("diff", "HEAD~3", "HEAD", "--md")
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "| Model | Kind | Key | HEAD~3 | HEAD | Change |"
    assert lines[1] == "|---|---|---|---|---|---|"
    rows = _table(res.stdout)
    v1, v3 = (mreg.load_card("churn", rev, repo=three.root) for rev in ("HEAD~3", "HEAD"))
    assert rows == [
        ["churn", "version", "", "1", "3", "+2 (+200.0%)"],
        ["churn", "artifact", "", v1.artifact.oid[7:19], v3.artifact.oid[7:19], ""],
        ["churn", "metric", "auc", "0.8", "0.95", "+0.15 (+18.7%)"],
        ["churn", "metric", "loss.train", "0.5", "0.3", "-0.2 (-40.0%)"],
        ["churn", "param", "lr", "0.1", "0.05", "-0.05 (-50.0%)"],
    ]


def test_diff_hides_unchanged_rows_unless_all(three: History, cli: Cli) -> None:
    res = cli("diff", "HEAD~2", "HEAD~1", "--md")  # the metadata-only update
    assert _table(res.stdout) == [["churn", "metric", "auc", "0.9", "0.91", "+0.01 (+1.1%)"]]
    res = cli("diff", "HEAD~2", "HEAD~1", "--md", "--all")
    keys = [(r[1], r[2]) for r in _table(res.stdout)]
    assert keys == [
        ("version", ""),
        ("artifact", ""),
        ("metric", "auc"),
        ("metric", "loss.train"),
        ("param", "lr"),
    ]
    # as dvc: an unchanged number shows a change of 0
    assert _table(res.stdout)[0] == ["churn", "version", "", "2", "2", "0 (0.0%)"]


def test_diff_precision(three: History, cli: Cli) -> None:
    three.edit_card("auc: 0.95", "auc: 0.951234567")
    res = cli("diff", "HEAD~1", "HEAD", "--md", "--precision", "3")
    assert _table(res.stdout) == [["churn", "metric", "auc", "0.95", "0.951", "+0.001 (+0.1%)"]]
    res = cli("diff", "HEAD~1", "HEAD", "--md")  # default precision 5
    assert _table(res.stdout)[0][4] == "0.95123"
    assert cli("diff", "--precision", "-1").exit_code == 2


def test_diff_json(three: History, cli: Cli) -> None:
    res = cli("diff", "HEAD~3", "HEAD", "--json")
    assert res.exit_code == 0 and res.stderr == ""
    doc = res.json
    churn = doc["churn"]
    assert set(churn) == {"version", "artifact", "metrics", "params"}
    assert churn["version"] == {"old": 1, "new": 3, "diff": 2}
    assert churn["artifact"]["old"].startswith("sha256:") and "diff" not in churn["artifact"]
    assert len(churn["artifact"]["new"]) == 71  # full oids in JSON
    assert churn["metrics"]["auc"]["old"] == 0.8 and churn["metrics"]["auc"]["new"] == 0.95
    assert churn["metrics"]["auc"]["diff"] == pytest.approx(0.15)
    assert churn["params"] == {"lr": {"old": 0.1, "new": 0.05, "diff": pytest.approx(-0.05)}}
    assert cli("diff", "HEAD", "HEAD", "--json").json == {}


def test_diff_default_is_head_against_the_work_tree(three: History, cli: Cli) -> None:
    res = cli("diff")
    assert res.exit_code == 0 and res.stdout == "" and "no changes" in res.stderr
    three.add(b"four", metrics={"auc": 0.97}, commit=False)
    res = cli("diff", "--md")
    assert res.stdout.splitlines()[0] == "| Model | Kind | Key | HEAD | workspace | Change |"
    assert ["churn", "version", "", "3", "4", "+1 (+33.3%)"] in _table(res.stdout)
    res = cli("diff", "HEAD~1", "--json")  # A given, B the work tree
    assert res.json["churn"]["version"] == {"old": 2, "new": 4, "diff": 2}


def test_diff_exit_code(three: History, cli: Cli) -> None:
    assert cli("diff", "--exit-code").exit_code == 0
    assert cli("diff", "HEAD", "HEAD", "--exit-code", "--json").exit_code == 0
    res = cli("diff", "HEAD~1", "HEAD", "--exit-code")
    assert res.exit_code == 1 and "Traceback" not in res.stderr and res.stdout
    assert cli("diff", "HEAD~1", "HEAD", "--exit-code", "--json").exit_code == 1
    assert cli("diff", "HEAD~1", "HEAD").exit_code == 0
    assert cli("diff", "churn@v1", "churn@v3", "--exit-code").exit_code == 1
    assert cli("diff", "churn@v3", "churn", "--exit-code").exit_code == 0


def test_diff_two_model_refs(three: History, cli: Cli) -> None:
    res = cli("diff", "churn@v1", "churn@v3", "--md")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.splitlines()[0] == "| Model | Kind | Key | churn@v1 | churn@v3 | Change |"
    assert ["churn", "version", "", "1", "3", "+2 (+200.0%)"] in _table(res.stdout)
    res = cli("diff", "churn@v2", "churn@HEAD~1", "--json")
    assert res.json == {
        "churn": {"metrics": {"auc": {"old": 0.9, "new": 0.91, "diff": pytest.approx(0.01)}}}
    }
    res = cli("diff", "churn@v1", "--md")  # B: the work-tree card
    assert res.stdout.splitlines()[0] == "| Model | Kind | Key | churn@v1 | workspace | Change |"


def test_diff_stage_against_the_work_tree(three: History, cli: Cli) -> None:
    three.tick()
    cli("promote", "churn@v2", "production")
    res = cli("diff", "churn#production", "churn", "--md")
    assert res.exit_code == 0, res.stderr
    assert (
        res.stdout.splitlines()[0] == "| Model | Kind | Key | churn#production | churn | Change |"
    )
    assert ["churn", "version", "", "2", "3", "+1 (+50.0%)"] in _table(res.stdout)


def test_diff_two_different_models(three: History, cli: Cli) -> None:
    three.add(b"o", "other", path="out/other.bin", metrics={"auc": 0.5})
    res = cli("diff", "churn@v3", "other@v1", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["churn"]["model"]["status"] == "removed"
    assert res.json["other"]["model"]["status"] == "added"


def test_diff_names_filter(three: History, cli: Cli) -> None:
    three.add(b"o", "other", path="out/other.bin", metrics={"auc": 0.5})
    assert set(cli("diff", "HEAD~2", "HEAD", "--json").json) == {"churn", "other"}
    assert set(cli("diff", "HEAD~2", "HEAD", "-n", "other", "--json").json) == {"other"}
    res = cli("diff", "HEAD~2", "HEAD", "-n", "other", "-n", "churn", "--json")
    assert set(res.json) == {"churn", "other"}
    assert_error(
        cli("diff", "HEAD~2", "HEAD", "-n", "nosuch"), 3, "no model named 'nosuch'", "churn, other"
    )
    assert_error(cli("diff", "-n", "Bad"), 3, "invalid model name 'Bad'")


def test_diff_models_added_and_removed(three: History, cli: Cli) -> None:
    three.add(b"o", "other", path="out/other.bin", metrics={"auc": 0.5})
    res = cli("diff", "HEAD~1", "HEAD", "--md")
    rows = _table(res.stdout)
    assert rows[0] == ["other", "added", "", "-", "v1", ""]
    assert ["other", "metric", "auc", "-", "0.5", ""] in rows
    res = cli("diff", "HEAD", "HEAD~1", "--json")
    assert res.json["other"]["model"] == {"old": "v1", "new": None, "status": "removed"}


def test_diff_reports_a_card_invalid_at_an_old_commit(three: History, cli: Cli) -> None:
    three.add(b"o", "other", path="out/other.bin", metrics={"auc": 0.5})
    good = three.card_text()
    three.commit_card(good.replace("version: 3", "version: -3"), message="broken")
    three.add(b"o2", "other", path="out/other.bin", metrics={"auc": 0.6})
    three.commit_card(good.replace("auc: 0.95", "auc: 0.99"), message="fixed")
    res = cli("diff", "HEAD~2", "HEAD", "--md")
    assert res.exit_code == 0, res.stderr
    rows = _table(res.stdout)
    error = [r for r in rows if r[1] == "error"]
    assert len(error) == 1 and error[0][0] == "churn"
    assert "version" in error[0][3] and "integer" in error[0][3]
    assert ["other", "metric", "auc", "0.5", "0.6", "+0.1 (+20.0%)"] in rows
    doc = cli("diff", "HEAD~2", "HEAD", "--json").json
    assert doc["churn"]["model"]["status"] == "error"
    assert doc["churn"]["metrics"]["auc"] == {"old": None, "new": 0.99}
    assert doc["other"]["metrics"]["auc"]["diff"] == pytest.approx(0.1)


def test_diff_odd_metric_values(hist: History, cli: Cli) -> None:
    hist.add(
        b"x",
        metrics={"auc": 0.9, "grade": "A", "ok": True, "nan": 1.0, "up": 2.0, "mixed": 0.5},
    )
    text = hist.card_text()
    for old, new in [
        ("auc: 0.9", "auc: .nan"),
        ("grade: A", "grade: B"),
        ("ok: true", "ok: false"),
        ("nan: 1.0", "nan: .nan"),
        ("up: 2.0", "up: .inf"),
        ("mixed: 0.5", "mixed: '0.5'"),
    ]:
        text = text.replace(old, new)
    text = text.replace("metrics:\n", "metrics:\n  curve:\n  - 1\n  - 2\n")
    hist.commit_card(text, message="odd values")
    res = cli("diff", "HEAD~1", "HEAD", "--md")
    assert res.exit_code == 0, res.stderr
    rows = {r[2]: r for r in _table(res.stdout)}
    assert rows["auc"][3:] == ["0.9", "nan", ""]
    assert rows["grade"][3:] == ["A", "B", ""]
    assert rows["ok"][3:] == ["true", "false", ""]
    assert rows["up"][3:] == ["2", "inf", ""]
    assert rows["mixed"][3:] == ["0.5", "0.5", ""]  # a number in A, a string in B
    assert rows["curve"][3:] == ["-", "[1, 2]", ""]
    res = cli("diff", "HEAD~1", "HEAD", "--json")
    doc = json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    metrics = doc["churn"]["metrics"]
    assert metrics["auc"] == {"old": 0.9, "new": "NaN"}
    assert metrics["up"] == {"old": 2.0, "new": "Infinity"}
    assert metrics["mixed"] == {"old": 0.5, "new": "0.5"}
    assert metrics["curve"] == {"old": None, "new": [1, 2]}
    assert all("diff" not in v for v in metrics.values())
    # unchanged NaN is no change
    hist.edit_card("grade: B", "grade: C")
    assert set(cli("diff", "HEAD~1", "HEAD", "--json").json["churn"]["metrics"]) == {"grade"}


def test_diff_refuses_a_revision_against_a_model_ref(three: History, cli: Cli) -> None:
    assert_error(
        cli("diff", "HEAD", "churn@v1"),
        3,
        "cannot compare revision 'HEAD' with model reference 'churn@v1'",
        "for churn's card at HEAD: mreg diff churn@HEAD churn@v1",
    )
    for rev in ("HEAD", "HEAD~1", "main^"):  # the other way round: not read as a model name
        assert_error(
            cli("diff", "churn@v1", rev),
            3,
            f"cannot compare model reference 'churn@v1' with revision '{rev}'",
            f"mreg diff churn@v1 churn@{rev}",
        )
        assert cli("diff", "churn@v1", f"churn@{rev}").exit_code == 0  # the hint works
    assert cli("diff", "churn@v1", "churn").exit_code == 0  # a plain name: its work tree
    assert_error(
        cli("diff", "churn@v1", "churn@v2", "-n", "other"),
        3,
        "--name picks models between two revisions",
        "mreg diff main HEAD",
    )


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["nosuch"], "unknown revision 'nosuch'", "git log --oneline"),
        (["HEAD~9", "HEAD"], "unknown revision 'HEAD~9'", "git log --oneline"),
        (["HEAD", "nosuch"], "unknown revision 'nosuch'", "git log --oneline"),
        (["churn@v9", "churn"], "churn has no committed version 9", "v1, v2, v3"),
        (["nosuch@v1", "churn"], "no model named 'nosuch'", "models: churn"),
        (["churn#production", "churn"], "churn has no version in stage 'production'", None),
        (["churn@nosuch", "churn"], "unknown revision 'nosuch'", "git log"),
        (["Churn@v1"], "unknown revision 'Churn@v1'", None),  # not a model name: a revision
        (["churn#Prod", "churn"], "invalid stage name 'Prod'", None),
    ],
)
def test_diff_bad_input_exits_3(
    three: History, cli: Cli, args: list[str], message: str, hint: str | None
) -> None:
    res = cli("diff", *args)
    assert res.stdout == ""
    if hint is None:
        assert res.exit_code == 3 and "Traceback" not in res.stderr
        assert res.lines[0].startswith("mreg: error: ") and message in res.lines[0]
    else:
        assert_error(res, 3, message, hint)
    res = cli("diff", *args, "--json")
    assert res.exit_code == 3 and res.stdout == ""
    assert message in res.error_json["error"]["message"]


def test_diff_reflog_revisions_are_revisions(three: History, cli: Cli) -> None:
    res = cli("diff", "HEAD@{1}", "HEAD", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["churn"]["version"]["old"] == 2
    assert cli("diff", "@", "HEAD", "--json").json == {}  # `@` is git's HEAD
    res = cli("diff", "main@{3}", "main", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["churn"]["version"]["old"] == 1


def test_diff_reads_git_objects_and_never_touches_the_work_tree(three: History, cli: Cli) -> None:
    three.add(b"four", metrics={"auc": 0.97}, commit=False)
    before = snapshot(three.root)
    status = three.git("status", "--porcelain")
    head = three.sha()
    for args in (
        ["HEAD~3", "HEAD"],
        [],
        ["churn@v1", "churn@v2"],
        ["churn@HEAD~2"],
        ["HEAD~1"],
    ):
        assert cli("diff", *args, "--all").exit_code == 0
    assert snapshot(three.root) == before
    assert three.git("status", "--porcelain") == status
    assert three.sha() == head


def test_api_diff(three: History) -> None:
    # `mreg.diff` is the function at run time; mypy sees the submodule mreg/diff.py of
    # the same name, so the calls go through mreg.api (the function mreg.diff is).
    assert getattr(mreg, "diff") is api.diff  # noqa: B009
    rows = api.diff("HEAD~3", "HEAD", repo=three.root)
    assert all(isinstance(r, Row) for r in rows)
    assert {(r.kind, r.key) for r in rows} == {
        ("version", ""),
        ("artifact", ""),
        ("metric", "auc"),
        ("metric", "loss.train"),
        ("param", "lr"),
    }
    auc = next(r for r in rows if r.key == "auc")
    assert (auc.old, auc.new, auc.status) == (0.8, 0.95, "modified")
    assert auc.change == pytest.approx(0.15)
    assert api.diff(repo=three.root) == []
    assert len(api.diff("HEAD", "HEAD", include_unchanged=True, repo=three.root)) == 5
    assert [r.key for r in api.diff("churn@v2", "churn@HEAD~1", repo=three.root)] == ["auc"]
    with pytest.raises(mreg.MregError) as info:
        api.diff("nosuch", repo=three.root)
    assert info.value.exit_code == 3


def test_diff_with_a_broken_work_tree_card(three: History, cli: Cli) -> None:
    three.card_path().write_text("schema: 1\nname: churn\nversion: [\n", encoding="utf-8")
    res = cli("diff", "--md")
    assert res.exit_code == 0, res.stderr
    rows = _table(res.stdout)
    assert rows[0][:2] == ["churn", "error"]
    assert rows[0][3] == "-" and "invalid YAML" in rows[0][4]
    assert cli("diff", "--exit-code").exit_code == 1
    doc = cli("diff", "--json").json
    assert doc["churn"]["model"]["status"] == "error"
    assert doc["churn"]["metrics"]["auc"] == {"old": 0.95, "new": None}


def test_diff_markdown_escapes_pipes(hist: History, cli: Cli) -> None:
    hist.add(b"x", metrics={"note": "a|b"})
    hist.edit_card("note: a|b", "note: c|d")
    res = cli("diff", "HEAD~1", "HEAD", "--md")
    assert res.stdout.splitlines()[2] == "| churn | metric | note | a\\|b | c\\|d |  |"
