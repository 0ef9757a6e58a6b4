"""Parsed cards and config.yaml are cached by content (StateCache docs): a cached card reads
back exactly as PyYAML would parse it, a changed card is parsed again, YAML that JSON cannot
hold is never cached, secrets in config.local.yaml never reach the cache, and a status
whose cards are all cached does not import yaml."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mreg import registry, statecache, yamlio
from mreg.project import Project
from mreg.statecache import StateCache
from tests.helpers import modules_imported_by, run_mreg, write


def cached_docs(repo: Path) -> list[str]:
    db = repo / ".mreg" / "tmp" / "hashstate.sqlite"
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT doc FROM docs")]


@pytest.fixture
def model(repo: Path) -> Path:
    write(repo / "m.bin", b"weights")
    assert run_mreg(repo, "add", "churn", "m.bin", "--metric", "auc=0.9").exit_code == 0
    return repo


def test_a_cached_card_reads_back_as_parsed(model: Path) -> None:
    card_path = model / ".mreg" / "models" / "churn.yaml"
    fresh = registry.read_card(Project.open(model), card_path, "churn")
    assert any('"churn"' in doc for doc in cached_docs(model))
    again = registry.read_card(Project.open(model), card_path, "churn")
    assert again == fresh
    assert again.metrics == {"auc": 0.9}


def test_an_edited_card_is_parsed_again(model: Path) -> None:
    card_path = model / ".mreg" / "models" / "churn.yaml"
    registry.read_card(Project.open(model), card_path, "churn")
    card_path.write_text(card_path.read_text().replace("auc: 0.9", "auc: 0.75"))
    assert registry.read_card(Project.open(model), card_path, "churn").metrics == {"auc": 0.75}
    card_path.write_text(card_path.read_text() + "metrics: {}\n")  # now a duplicate key
    res = run_mreg(model, "status")
    assert res.exit_code == 0 and "duplicate key" in res.stdout + res.stderr


def test_a_broken_cache_row_is_a_miss(model: Path) -> None:
    card_path = model / ".mreg" / "models" / "churn.yaml"
    registry.read_card(Project.open(model), card_path, "churn")
    db = model / ".mreg" / "tmp" / "hashstate.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE docs SET doc = '{not json'")
    assert registry.read_card(Project.open(model), card_path, "churn").metrics == {"auc": 0.9}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("params: {1: a, null: b}\n", {"params": {1: "a", None: "b"}}),
        ("x: 1\n", {"x": 1}),
        ("x: [1.5, .nan, -0.0, null, 'y', 123456789012345678901234567890]\n", None),
    ],
)
def test_only_what_json_holds_exactly_is_cached(
    tmp_path: Path, text: str, expected: object
) -> None:
    cache = StateCache(tmp_path / "state.sqlite")
    parsed = yamlio.load(text)
    first = yamlio.load_cached(text.encode(), cache)
    second = yamlio.load_cached(text.encode(), cache)
    assert repr(first) == repr(second) == repr(parsed)  # types and -0.0 included
    if expected is not None:
        assert first == expected
    int_keys = "1: a" in text
    conn = cache._connect()
    assert conn.execute("SELECT COUNT(*) FROM docs").fetchone()[0] == (0 if int_keys else 1)


def test_the_table_keeps_the_newest_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statecache, "DOCS_MAX", 3)
    cache = StateCache(tmp_path / "state.sqlite")
    for i in range(10):
        yamlio.load_cached(f"n: {i}\n".encode(), cache)
    rows = cache._connect().execute("SELECT doc FROM docs ORDER BY rowid").fetchall()
    assert [r[0] for r in rows] == ['{"n": 7}', '{"n": 8}', '{"n": 9}']


def test_config_local_secrets_never_reach_the_cache(model: Path) -> None:
    local = "remotes:\n  s:\n    url: s3://b\n    options: {secret: hunter2-local-secret}\n"
    write(model / ".mreg" / "config.local.yaml", local)
    assert run_mreg(model, "remote", "list").exit_code == 0
    assert run_mreg(model, "status").exit_code == 0
    db = (model / ".mreg" / "tmp" / "hashstate.sqlite").read_bytes()
    wal = model / ".mreg" / "tmp" / "hashstate.sqlite-wal"
    blob = db + (wal.read_bytes() if wal.exists() else b"")
    assert b"hunter2-local-secret" not in blob
    # config.yaml itself (no secrets) is cached
    assert '{"cache": {"link": ["reflink", "copy"], "fsync": false}}' in cached_docs(model)


def test_a_cached_status_does_not_import_yaml(model: Path) -> None:
    # add parsed the card it wrote (and config.yaml) through the cache
    assert modules_imported_by(model, ["status"], ("yaml",)) == []
    (model / ".mreg" / "tmp" / "hashstate.sqlite").unlink()
    assert modules_imported_by(model, ["status"], ("yaml",)) == ["yaml"]  # fills the cache
    assert modules_imported_by(model, ["status"], ("yaml",)) == []
