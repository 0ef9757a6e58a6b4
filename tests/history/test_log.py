"""`mreg log NAME` and `mreg.log`: one row per commit that changed the card, newest first."""

from __future__ import annotations

import json

import pytest

import mreg
from mreg.history import LogEntry
from tests.helpers import Cli, assert_error, card_yaml
from tests.history.conftest import History


def test_api_log_rows_newest_first(three: History) -> None:
    entries = mreg.log("churn", repo=three.root)
    assert all(isinstance(e, LogEntry) for e in entries)
    shas = three.git("rev-list", "HEAD").split()
    assert [e.commit.sha for e in entries] == shas
    assert [e.card.version if e.card else None for e in entries] == [3, 2, 2, 1]
    assert [e.metadata_only for e in entries] == [False, True, False, False]
    assert [e.tags for e in entries] == [["churn@v3"], [], ["churn@v2"], ["churn@v1"]]
    assert entries[1].commit.subject == "churn v2: better eval"
    assert entries[0].commit.author == "Test User <test@example.com>"
    assert entries[3].commit.date == "2026-01-01T01:00:00+00:00"
    assert entries[0].commit.date == "2026-01-01T04:00:00+00:00"
    assert [e.commit.sha for e in mreg.log("churn", limit=2, repo=three.root)] == shas[:2]


def test_cli_log_table(three: History, cli: Cli) -> None:
    res = cli("log", "churn")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    lines = [ln for ln in res.stdout.splitlines() if ln.strip()]
    body = [ln for ln in lines if ln.lstrip().startswith("v")]
    assert [ln.split()[0] for ln in body] == ["v3", "v2", "v2", "v1"]
    assert "(meta)" in body[1] and "(meta)" not in body[2]
    sha3 = three.sha()
    assert sha3[:12] in body[0] and sha3 not in res.stdout  # short on screen
    assert "2026-01-01 04:00:00" in body[0]
    assert "Test User" in body[0] and "test@example.com" not in body[0]
    assert "auc=0.95" in body[0]
    assert "churn@v3" in body[0] and "churn@v1" in body[3]


def test_cli_log_json(three: History, cli: Cli) -> None:
    three.tick()
    cli("promote", "churn@v2", "production")
    res = cli("log", "churn", "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.json
    assert doc["name"] == "churn"
    entries = doc["entries"]
    assert [e["commit"] for e in entries] == three.git("rev-list", "HEAD").split()  # full
    assert [e["version"] for e in entries] == [3, 2, 2, 1]
    assert [e["metadata_only"] for e in entries] == [False, True, False, False]
    assert entries[2]["stages"] == ["production"] and entries[0]["stages"] == []
    assert entries[2]["tags"] == ["churn@v2"]
    assert entries[0]["metrics"] == {"auc": 0.95, "loss": {"train": 0.3}}
    assert entries[0]["oid"].startswith("sha256:") and len(entries[0]["oid"]) == 71
    assert set(entries[0]) >= {"commit", "date", "author", "subject", "version", "error"}


def test_cli_log_markdown(three: History, cli: Cli) -> None:
    res = cli("log", "churn", "--md")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[0].startswith("| Version | Commit | Date |")
    assert lines[1].startswith("|---|")
    assert lines[2].startswith("| v3 |")
    assert len(lines) == 6


def test_log_limit(three: History, cli: Cli) -> None:
    res = cli("log", "churn", "-n", "1", "--json")
    assert [e["version"] for e in res.json["entries"]] == [3]
    res = cli("log", "churn", "-n", "2", "--json")
    assert [e["metadata_only"] for e in res.json["entries"]] == [False, True]
    res = cli("log", "churn", "-n", "0", "--json")
    assert res.exit_code == 0 and res.json["entries"] == []
    res = cli("log", "churn", "-n", "-1")
    assert res.exit_code == 2
    assert "Traceback" not in res.stderr


def test_log_only_shows_commits_that_changed_the_card(three: History, cli: Cli) -> None:
    (three.root / "README").write_text("hi\n")
    three.commit(["README"], "docs")
    res = cli("log", "churn", "--json")
    assert len(res.json["entries"]) == 4
    assert res.json["entries"][0]["subject"] == "mreg: churn v3"


def test_log_of_another_models_commits(three: History, cli: Cli) -> None:
    three.add(b"o", "other", path="out/other.bin")
    res = cli("log", "other", "--json")
    assert [e["version"] for e in res.json["entries"]] == [1]
    assert [e["tags"] for e in res.json["entries"]] == [["other@v1"]]


def test_log_unknown_model_exits_3_naming_the_models(three: History, cli: Cli) -> None:
    assert_error(cli("log", "nosuch"), 3, "no model named 'nosuch'", "models: churn")
    res = cli("log", "nosuch", "--json")
    assert res.exit_code == 3 and res.stdout == ""
    assert res.error_json["error"]["code"] == "model-not-found"


def test_log_invalid_name_exits_3(three: History, cli: Cli) -> None:
    assert_error(cli("log", "Churn"), 3, "invalid model name 'Churn'", "lower-case")


def test_log_of_a_card_not_committed_yet(hist: History, cli: Cli) -> None:
    hist.add(b"x", commit=False)
    res = cli("log", "churn")
    assert res.exit_code == 0
    assert res.stdout == ""
    assert "churn has no committed versions yet" in res.stderr


def test_log_reports_a_card_invalid_at_an_old_commit_and_shows_the_rest(
    three: History, cli: Cli
) -> None:
    good = three.card_text()
    three.commit_card(good.replace("version: 3", "version: three"), message="oops")
    three.commit_card(good, message="fix")
    res = cli("log", "churn", "--json")
    assert res.exit_code == 0, res.stderr
    entries = res.json["entries"]
    assert [e["version"] for e in entries] == [3, None, 3, 2, 2, 1]
    assert "version" in entries[1]["error"] and "integer" in entries[1]["error"]
    table = cli("log", "churn")
    assert table.exit_code == 0 and "broken" in table.stdout and "Traceback" not in table.stderr
    assert [e.error is not None for e in mreg.log("churn", repo=three.root)] == [
        False, True, False, False, False, False,
    ]  # fmt: skip


def test_log_marks_a_deleted_card(three: History, cli: Cli) -> None:
    three.git("rm", "-q", ".mreg/models/churn.yaml")
    three.tick()
    three.git("commit", "-q", "-m", "drop churn")
    res = cli("log", "churn", "--json")
    assert res.exit_code == 0, res.stderr
    entries = res.json["entries"]
    assert entries[0]["deleted"] is True and entries[0]["version"] is None
    assert entries[0]["subject"] == "drop churn"
    assert [e["version"] for e in entries[1:]] == [3, 2, 2, 1]
    assert "deleted" in cli("log", "churn").stdout


def test_log_of_a_version_that_only_changed_metadata_by_hand(three: History, cli: Cli) -> None:
    three.edit_card("auc: 0.95", "auc: 0.96", message="fix auc")
    entries = mreg.log("churn", repo=three.root)
    assert entries[0].metadata_only and entries[0].card and entries[0].card.version == 3


def test_log_a_hand_edited_oid_with_the_same_version_is_no_metadata_update(
    three: History,
) -> None:
    v3 = three.card_path().read_text(encoding="utf-8")
    oid = mreg.load_card("churn").artifact.oid
    three.edit_card(oid, "sha256:" + "0" * 64, message="other bytes, same version")
    three.commit_card(v3, message="back to v3's bytes, same version")
    entries = mreg.log("churn", repo=three.root)
    assert [e.card.version if e.card else None for e in entries][:3] == [3, 3, 3]
    assert [e.metadata_only for e in entries][:3] == [False, False, False]


def test_log_nan_and_infinite_metrics_give_strict_json(hist: History, cli: Cli) -> None:
    hist.add(b"x", metrics={"auc": float("nan"), "up": float("inf")})
    hist.edit_card("up: .inf", "up: .inf\n  l:\n  - -.inf\n  - 1")
    res = cli("log", "churn", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert doc["entries"][0]["metrics"] == {"auc": "NaN", "up": "Infinity", "l": ["-Infinity", 1]}
    assert doc["entries"][1]["metrics"] == {"auc": "NaN", "up": "Infinity"}
    assert "auc=nan" in cli("log", "churn").stdout


def test_log_hand_written_cards(hist: History, cli: Cli) -> None:
    hist.commit_card(card_yaml(version=1), message="v1")
    hist.commit_card(card_yaml(version=2, oid="sha256:" + "1" * 64), message="v2")
    res = cli("log", "churn", "--json")
    assert [e["version"] for e in res.json["entries"]] == [2, 1]
    assert [e["tags"] for e in res.json["entries"]] == [[], []]


@pytest.mark.parametrize("subject", ["fix [/] path", "[bold]x[/bold] :smile:"])
def test_subject_is_text_not_markup(three: History, cli: Cli, subject: str) -> None:
    three.add(b"four", message=subject)
    res = cli("log", "churn")
    assert res.exit_code == 0, res.stderr
    assert subject in res.stdout


def test_terminal_table_cells_are_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from mreg.cli import render

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    render.table(["Subject"], [["fix [/] path"], ["[bold]x[/bold] :smile:"]])
    out = capsys.readouterr().out
    assert "fix [/] path" in out and "[bold]x[/bold] :smile:" in out


def test_ls_at_a_revision_reads_git_objects(three: History, cli: Cli) -> None:
    before = three.card_text()
    res = cli("ls", "--rev", "HEAD~3", "--json")
    assert res.exit_code == 0, res.stderr
    assert [(m["name"], m["version"]) for m in res.json["models"]] == [("churn", 1)]
    assert three.card_text() == before  # nothing checked out
    now = cli("ls", "--json").json["models"]
    assert [(m["name"], m["version"]) for m in now] == [("churn", 3)]
    assert_error(cli("ls", "--rev", "nosuch"), 3, "unknown revision 'nosuch'", "git log")
