"""The Python API refuses arguments of the wrong type with InvalidArgument naming the
parameter (never a TypeError from deep inside), takes one str where a list is expected,
and refuses a `repo` that is no folder with InvalidPath."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mreg
from mreg.errors import InvalidArgument, InvalidPath
from tests.helpers import git, write

CALLS: list[tuple[str, Callable[[], Any], str]] = [
    ("add name int", lambda: mreg.add(5, "m.pkl"), "name must be a str, not int"),  # type: ignore[arg-type]
    ("add path None", lambda: mreg.add("m", None), "path must be a str or a Path, not NoneType"),  # type: ignore[arg-type]
    ("add path bytes", lambda: mreg.add("m", b"m.pkl"), "path must be a str or a Path, not bytes"),  # type: ignore[arg-type]
    ("add repo int", lambda: mreg.add("m", "m.pkl", repo=5), "repo must be a str, a Path or None"),  # type: ignore[arg-type]
    ("add data [None]", lambda: mreg.add("m", "m.pkl", data=[None]), r"data\[0\] must be"),  # type: ignore[list-item]
    ("add data int", lambda: mreg.add("m", "m.pkl", data=5), "data must be"),  # type: ignore[arg-type]
    ("add params list", lambda: mreg.add("m", "m.pkl", params=[1]), "params must be a dict"),  # type: ignore[arg-type]
    ("add framework int", lambda: mreg.add("m", "m.pkl", framework=5), "framework must be"),  # type: ignore[arg-type]
    ("add message int", lambda: mreg.add("m", "m.pkl", message=5), "message must be"),  # type: ignore[arg-type]
    ("add commit str", lambda: mreg.add("m", "m.pkl", commit="no"), "commit must be True or False"),  # type: ignore[arg-type]
    ("init int", lambda: mreg.init(5), "repo must be"),  # type: ignore[arg-type]
    ("load_card int", lambda: mreg.load_card(3), "name must be a str, not int"),  # type: ignore[arg-type]
    ("load_card rev int", lambda: mreg.load_card("m", rev=3), "rev must be a str or None"),  # type: ignore[arg-type]
    ("log limit str", lambda: mreg.log("m", limit="x"), "limit must be an int"),  # type: ignore[arg-type]
    ("log limit bool", lambda: mreg.log("m", limit=True), "limit must be an int"),
    ("log limit negative", lambda: mreg.log("m", limit=-1), "limit must be >= 0, not -1"),
    ("resolve None", lambda: mreg.resolve(None), "ref must be a str, not NoneType"),  # type: ignore[arg-type]
    ("diff ints", lambda: mreg.diff(1, 2), "a must be a str or None, not int"),  # type: ignore[arg-type]
    ("diff names [1]", lambda: mreg.diff(names=[1]), r"names\[0\] must be a str, not int"),  # type: ignore[list-item]
    ("checkout [1]", lambda: mreg.checkout([1]), r"names\[0\] must be a str, not int"),  # type: ignore[list-item]
    ("checkout force", lambda: mreg.checkout(force="yes"), "force must be True or False"),  # type: ignore[arg-type]
    ("status repo", lambda: mreg.status(repo=5), "repo must be"),  # type: ignore[arg-type]
    ("track name", lambda: mreg.track(5).__enter__(), "name must be a str"),  # type: ignore[arg-type]
    ("track params", lambda: mreg.track("m", params=5).__enter__(), "params must be a dict"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("call,match", [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_wrong_types_are_invalid_argument(repo: Path, call: Callable[[], Any], match: str) -> None:
    write(repo / "m.pkl", b"x")
    with pytest.raises(InvalidArgument, match=match) as info:
        call()
    assert info.value.hint
    assert mreg.list_models() == []  # refused before anything was written


def test_run_methods_check_their_arguments(repo: Path) -> None:
    with mreg.track("m") as run:
        for call, param in [
            (lambda: run.log_artifact(None), "path"),  # type: ignore[arg-type]
            (lambda: run.log_data(None), "spec"),  # type: ignore[arg-type]
            (lambda: run.log_params(5), "params"),  # type: ignore[arg-type]
            (lambda: run.log_metrics("auc"), "metrics"),  # type: ignore[arg-type]
        ]:
            with pytest.raises(InvalidArgument, match=f"^{param} must be"):
                call()
        write(repo / "m.pkl", b"x")
        run.log_artifact("m.pkl")
    assert run.result is not None and run.result.version == 1


def test_one_str_is_a_list_of_one(repo: Path) -> None:
    write(repo / "a.pkl", b"a")
    write(repo / "b.pkl", b"b")
    write(repo / "train.csv", b"t")
    mreg.add("churn", "a.pkl", data="train=train.csv")
    assert [d["role"] for d in mreg.load_card("churn").data] == ["train"]
    mreg.add("other", "b.pkl", data=(repo / "train.csv",))
    (repo / "a.pkl").unlink()
    (repo / "b.pkl").unlink()
    # Iterated as a str, "churn" was five names: "no model named 'c'".
    assert [r.name for r in mreg.checkout(names="churn")] == ["churn"]
    assert not (repo / "b.pkl").exists()
    git(repo, "add", ".mreg")
    git(repo, "commit", "-qm", "cards")
    write(repo / "a.pkl", b"a2")
    write(repo / "b.pkl", b"b2")
    mreg.add("churn", "a.pkl")
    mreg.add("other", "b.pkl")
    assert {r.model for r in mreg.diff(names="churn")} == {"churn"}
    assert {r.model for r in mreg.diff(names=["churn", "other"])} == {"churn", "other"}


def test_repo_that_is_no_folder(repo: Path, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    # Was GitError "cannot run git: No such file or directory | hint: install git".
    with pytest.raises(InvalidPath, match=r"repo '.*nonexist' does not exist"):
        mreg.list_models(repo=tmp_path / "nonexist")
    with pytest.raises(InvalidPath, match=r"repo '.*afile' is not a folder"):
        mreg.list_models(repo=str(afile))
    with pytest.raises(InvalidPath, match="does not exist"):
        mreg.init(tmp_path / "nonexist")
    assert mreg.list_models(repo=repo) == []
