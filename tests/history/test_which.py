"""`mreg which REF` and `mreg check-ref REF` (what a pushed git ref means, for CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Cli, assert_error
from tests.history.conftest import History


def test_which_text(three: History, cli: Cli) -> None:
    res = cli("which", "churn@v2")
    assert res.exit_code == 0 and res.stderr == ""
    card = three.git("show", "HEAD~2:.mreg/models/churn.yaml")
    oid = next(ln.split()[1] for ln in card.splitlines() if "oid:" in ln).strip("'")
    assert res.stdout.splitlines() == [
        "name: churn",
        "version: 2",
        f"commit: {three.sha('HEAD~2')}",
        f"oid: {oid}",
        "path: out/model.pkl",
        "stage: ",
    ]


def test_which_json(three: History, cli: Cli) -> None:
    three.tick()
    cli("promote", "churn@v1", "production")
    res = cli("which", "churn#production", "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.json
    assert doc["ref"] == "churn#production"
    assert (doc["name"], doc["version"], doc["stage"]) == ("churn", 1, "production")
    assert doc["commit"] == three.sha("HEAD~3")
    assert doc["oid"].startswith("sha256:") and len(doc["oid"]) == 71
    assert (doc["path"], doc["kind"], doc["size"]) == ("out/model.pkl", "file", 3)
    doc = cli("which", "churn", "--json").json
    assert (doc["version"], doc["commit"], doc["stage"]) == (3, None, None)
    doc = cli("which", "churn@HEAD~1", "--json").json
    assert (doc["version"], doc["commit"]) == (2, three.sha("HEAD~1"))


@pytest.mark.parametrize(
    ("ref", "message", "hint"),
    [
        ("nosuch", "no model named 'nosuch'", "models: churn"),
        ("nosuch@v1", "no model named 'nosuch'", "models: churn"),
        ("churn@v4", "churn has no committed version 4", "versions of churn: v1, v2, v3"),
        ("churn@nosuch", "unknown revision 'nosuch'", "git log --oneline"),
        ("churn#production", "churn has no version in stage 'production'", "mreg promote"),
        ("churn#Prod", "invalid stage name 'Prod'", "[a-z0-9]"),
        ("churn@", "nothing after '@'", "churn@v3"),
    ],
)
def test_which_bad_refs(three: History, cli: Cli, ref: str, message: str, hint: str) -> None:
    assert_error(cli("which", ref), 3, message, hint)
    res = cli("which", ref, "--json")
    assert res.exit_code == 3 and res.stdout == ""
    err = res.error_json["error"]
    assert message in err["message"] and hint in err["hint"] and err["exit_code"] == 3


def test_which_outside_a_repository(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert_error(cli("which", "churn@v1"), 3, "not a git repository", "git init")


# ---------------------------------------------------------------------- check-ref


@pytest.mark.parametrize(
    ("ref", "doc"),
    [
        (
            "refs/tags/churn@v3",
            {"event": "registration", "name": "churn", "version": 3, "stage": None},
        ),
        ("churn@v12", {"event": "registration", "name": "churn", "version": 12, "stage": None}),
        (
            "refs/tags/vision/resnet50@v2",
            {"event": "registration", "name": "vision/resnet50", "version": 2, "stage": None},
        ),
        (
            "refs/tags/churn#production#3",
            {"event": "assignment", "name": "churn", "version": None, "stage": "production"},
        ),
        (
            "churn#production!#4",
            {"event": "unassignment", "name": "churn", "version": None, "stage": "production"},
        ),
    ],
)
def test_check_ref_parses_without_a_repository(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch, ref: str, doc: dict[str, object]
) -> None:
    monkeypatch.chdir(tmp_path)
    res = cli("check-ref", ref, "--json")
    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    got = res.json
    assert {k: got[k] for k in doc} == doc
    assert got["tag"] == ref.removeprefix("refs/tags/")
    text = cli("check-ref", ref)
    assert text.exit_code == 0
    assert f"event: {doc['event']}" in text.stdout.splitlines()
    assert f"name: {doc['name']}" in text.stdout.splitlines()


@pytest.mark.parametrize(
    "ref",
    [
        "refs/heads/main",
        "refs/tags/release-1",
        "refs/tags/v1.0.0",
        "refs/heads/churn@v3",
        "refs/heads/churn#production#1",
        "refs/pull/12/merge",
        "main",
        "churn",
        "",
    ],
)
def test_check_ref_of_other_refs_prints_nothing(three: History, cli: Cli, ref: str) -> None:
    for extra in ([], ["--json"]):
        res = cli("check-ref", ref, *extra)
        assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")


def test_check_ref_in_the_repository_gives_the_stage_version(three: History, cli: Cli) -> None:
    three.tick()
    cli("promote", "churn@v2", "production")
    three.tick()
    cli("demote", "churn", "production")
    res = cli("check-ref", "refs/tags/churn#production#1", "--json")
    assert res.json["version"] == 2 and res.json["commit"] == three.sha("HEAD~2")
    res = cli("check-ref", "refs/tags/churn#production!#2")
    assert res.stdout.splitlines() == [
        "event: unassignment",
        "name: churn",
        "version: 2",
        "stage: production",
    ]
    # a stage tag not (yet) in this clone: what the name says, no version
    res = cli("check-ref", "refs/tags/churn#production#7", "--json")
    assert res.json["event"] == "assignment" and res.json["version"] is None


def test_check_ref_ignores_a_lightweight_stage_tag(three: History, cli: Cli) -> None:
    three.git("tag", "churn#production#9", three.sha())
    res = cli("check-ref", "refs/tags/churn#production#9", "--json")
    assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")
