"""The Python API (`import mreg`): add, track, load_card, list_models, status, checkout."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mreg
from mreg.errors import InvalidArgument, InvalidName, ModelNotFound, NotInitialised
from tests.helpers import cache_blobs, sha, write


def test_public_names() -> None:
    assert mreg.__version__
    for name in ("add", "track", "load_card", "list_models", "status", "checkout", "init"):
        assert callable(getattr(mreg, name)), name
    missing = "nope"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        getattr(mreg, missing)


def test_api_names_survive_their_submodules_being_imported() -> None:
    # mreg/status.py and mreg/checkout.py share names with API functions.
    import mreg.checkout
    import mreg.status

    assert callable(mreg.status) and not isinstance(mreg.status, type(sys))
    assert callable(mreg.checkout) and not isinstance(mreg.checkout, type(sys))
    from mreg.status import ModelStatus

    assert dataclasses.is_dataclass(ModelStatus)


def test_import_mreg_is_light() -> None:
    heavy = "('git', 'yaml', 'rich', 'typer')"
    code = f"import sys, mreg; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_add_and_read_back(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(repo / "out" / "model.pkl", b"v1")
    result = mreg.add("churn", "out/model.pkl", params={"lr": 0.1}, metrics={"auc": 0.9})
    assert dataclasses.is_dataclass(result)
    assert (result.name, result.version, result.status) == ("churn", 1, "new")
    card = mreg.load_card("churn")
    assert dataclasses.is_dataclass(card)
    assert card == result.card
    assert card.metrics == {"auc": 0.9}
    models = mreg.list_models()
    assert [(m.name, m.card is not None, m.error) for m in models] == [("churn", True, None)]
    rows = mreg.status()
    assert [(s.name, s.worktree, s.cache) for s in rows] == [("churn", "ok", "ok")]
    (repo / "out" / "model.pkl").unlink()
    results = mreg.checkout()
    assert [(r.name, r.action) for r in results] == [("churn", "created")]
    assert capsys.readouterr() == ("", "")  # the API never prints


def test_repo_argument_from_elsewhere(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo / "m.bin", b"x")
    monkeypatch.chdir(tmp_path)
    result = mreg.add("m", repo / "m.bin", repo=repo)
    assert result.artifact_path == "m.bin"
    assert mreg.load_card("m", repo=repo).artifact.oid == sha(b"x")
    assert [m.name for m in mreg.list_models(repo=repo)] == ["m"]


def test_errors_propagate(repo: Path, git_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        mreg.load_card("nope")
    with pytest.raises(InvalidName):
        mreg.add("Bad Name", "x")
    other = tmp_path / "other"
    other.mkdir()
    (other / ".git").mkdir()
    with pytest.raises(NotInitialised):
        mreg.list_models(repo=other)


def test_init_api(git_repo: Path) -> None:
    assert mreg.init() is True
    assert mreg.init() is False


def test_track_registers_on_exit(repo: Path) -> None:
    with mreg.track("churn", params={"lr": 0.01}, labels={"team": "growth"}) as run:
        run.log_params(depth=6)
        run.log_metrics(auc=0.91)
        run.log_metrics({"loss": {"train": 0.2}})
        write(repo / "out" / "model.pkl", b"trained")
        write(repo / "data" / "train.csv", b"a\n")
        write(repo / "data" / "valid.csv", b"b\n")
        run.log_data("train=data/train.csv")
        run.log_data(Path("data/valid.csv"))  # a path object: a path, no role
        run.log_artifact("out/model.pkl")
    assert run.result is not None
    card = run.result.card
    assert card.version == 1
    assert card.params == {"lr": 0.01, "depth": 6}
    assert card.metrics == {"auc": 0.91, "loss": {"train": 0.2}}
    assert card.labels == {"team": "growth"}
    assert card.data == [
        {"role": "train", "path": "data/train.csv", "oid": sha(b"a\n"), "size": 2},
        {"path": "data/valid.csv", "oid": sha(b"b\n"), "size": 2},
    ]
    started = dt.datetime.strptime(card.training["started"], "%Y-%m-%dT%H:%M:%SZ")
    finished = dt.datetime.strptime(card.training["finished"], "%Y-%m-%dT%H:%M:%SZ")
    assert started <= finished
    assert card.training["duration_s"] >= 0
    assert mreg.load_card("churn") == card


def test_track_registers_nothing_when_the_block_raises(repo: Path) -> None:
    class TrainingFailed(Exception):
        pass

    with pytest.raises(TrainingFailed), mreg.track("churn") as run:
        write(repo / "out" / "model.pkl", b"half-trained")
        run.log_artifact("out/model.pkl")
        raise TrainingFailed
    assert run.result is None
    assert mreg.list_models() == []
    assert not (repo / ".mreg" / "models" / "churn.yaml").exists()
    assert not (repo / ".gitignore").exists()
    assert cache_blobs(repo) == []


def test_track_without_an_artifact(repo: Path) -> None:
    with (
        pytest.raises(InvalidArgument, match=re.escape("ended without run.log_artifact")),
        mreg.track("churn"),
    ):
        pass
    assert mreg.list_models() == []


def test_track_checks_early(repo: Path, git_repo: Path) -> None:
    with pytest.raises(InvalidName), mreg.track("Not Valid"):
        pytest.fail("the block must not run")


def test_track_commit(repo: Path) -> None:
    from tests.helpers import git

    with mreg.track("churn", commit=True) as run:
        write(repo / "m.pkl", b"x")
        run.log_artifact(repo / "m.pkl")
    assert run.result is not None and run.result.commit is not None
    assert git(repo, "log", "-1", "--format=%s").strip() == "mreg: churn v1"
