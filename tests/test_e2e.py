"""End to end: the installed `mreg` console script, through subprocess, in real repos."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mreg import __version__
from tests.helpers import CliResult, assert_error, blob_path, git, mreg_script, run_mreg, sha, write

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _script_installed() -> None:
    assert mreg_script().is_file(), f"the console script is not installed: {mreg_script()}"


def test_version_and_help(tmp_path: Path) -> None:
    result = run_mreg(tmp_path, "--version")
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"mreg {__version__}\n", "")
    help_ = run_mreg(tmp_path, "--help")
    assert help_.exit_code == 0 and "Examples:" in help_.stdout


def test_python_dash_m(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mreg", "--version"], cwd=tmp_path, capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, f"mreg {__version__}\n")


def test_outside_git(tmp_path: Path) -> None:
    assert_error(run_mreg(tmp_path, "init"), 3, "not a git repository", hint="git init")
    assert_error(run_mreg(tmp_path, "ls"), 3, "not a git repository", hint="git init")


def test_in_a_bare_repository(tmp_path: Path) -> None:
    bare = tmp_path / "models.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    before = sorted(p.relative_to(bare) for p in bare.rglob("*"))
    for args in (["init"], ["status"], ["ls"], ["gc"], ["add", "m", "x.bin"]):
        done = run_mreg(bare, *args)
        assert_error(done, 3, "is a bare repository: it has no work tree", hint="git clone")
    done = run_mreg(bare, "status", "--json")
    assert done.exit_code == 3 and done.error_json["error"]["code"] == "bare-repository"
    assert sorted(p.relative_to(bare) for p in bare.rglob("*")) == before  # nothing written


def test_not_initialised(git_repo: Path) -> None:
    for args in (["ls"], ["status"], ["show", "x"], ["checkout"]):
        assert_error(run_mreg(git_repo, *args), 3, "not initialised", hint="mreg init")


def test_the_whole_flow(git_repo: Path) -> None:
    repo = git_repo
    assert run_mreg(repo, "init").exit_code == 0
    assert run_mreg(repo, "init").exit_code == 0
    git(repo, "add", ".mreg")
    git(repo, "commit", "-qm", "mreg init")

    write(repo / "train.py", "print('train')\n")
    git(repo, "add", "train.py")
    git(repo, "commit", "-qm", "training code")
    head = git(repo, "rev-parse", "HEAD").strip()

    model = write(repo / "out" / "model.pkl", b"version one")
    write(repo / "metrics.json", json.dumps({"auc": 0.91, "loss": {"val": 0.2}}))
    added = run_mreg(
        repo, "add", "churn", "out/model.pkl", "-p", "lr=0.01", "--metrics", "metrics.json",
        "--commit", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.stderr
    doc = added.json
    assert (doc["name"], doc["version"], doc["status"]) == ("churn", 1, "new")
    assert doc["oid"] == sha(b"version one")
    assert doc["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "log", "-1", "--format=%s").strip() == "mreg: churn v1"
    assert git(repo, "status", "--porcelain", "--untracked-files=no").strip() == ""
    # Pinned dates: the commit carries GIT_COMMITTER_DATE.
    assert git(repo, "log", "-1", "--format=%cI").strip() == "2026-01-02T03:04:05+00:00"

    card = run_mreg(repo, "show", "churn", "--json").json
    assert card["registered"]["commit"] == head
    assert card["registered"]["by"] == "Test User <test@example.com>"
    assert card["registered"]["dirty"] is False
    assert card["metrics"] == {"auc": 0.91, "loss": {"val": 0.2}}
    assert card["params"] == {"lr": 0.01}

    # A second version, from a subfolder.
    write(model, b"version two")
    sub = repo / "out"
    second = run_mreg(sub, "add", "churn", "model.pkl", "-m", "auc=0.93")
    assert second.exit_code == 0
    assert second.stderr.startswith("Registered new version of churn v2 (")
    assert "next: git add .mreg/models/churn.yaml" in second.stderr

    listing = run_mreg(repo, "ls", "--json").json["models"]
    assert [(m["name"], m["version"]) for m in listing] == [("churn", 2)]
    status = run_mreg(repo, "status", "--json").json["models"][0]
    assert (status["worktree"], status["cache"], status["card"]) == ("ok", "ok", "modified")

    # The work tree loses the model; checkout puts it back from the cache.
    model.unlink()
    assert run_mreg(repo, "status", "--json").json["models"][0]["worktree"] == "missing"
    out = run_mreg(repo, "checkout")
    assert (out.exit_code, out.stderr) == (0, "created out/model.pkl (churn)\n")
    assert model.read_bytes() == b"version two"
    assert blob_path(repo, sha(b"version one")).is_file()


def test_errors_have_no_traceback(git_repo: Path) -> None:
    assert run_mreg(git_repo, "init").exit_code == 0
    write(git_repo / "m.bin", b"x")
    assert run_mreg(git_repo, "add", "m", "m.bin").exit_code == 0
    cases = [
        (["add", "Bad", "m.bin"], 3, "invalid model name 'Bad'"),
        (["add", "n", "missing.bin"], 3, "PATH missing.bin does not exist"),
        (["show", "nope"], 3, "no model named 'nope'"),
    ]
    for args, code, message in cases:
        assert_error(run_mreg(git_repo, *args), code, message)
    usage = run_mreg(git_repo, "add", "m", "m.bin", "-m", "auc")
    assert usage.exit_code == 2 and "Traceback" not in usage.stderr
    err = run_mreg(git_repo, "show", "nope", "--json")
    assert err.exit_code == 3
    assert err.error_json["error"]["code"] == "model-not-found"


def test_corrupt_cache_exits_4(git_repo: Path) -> None:
    assert run_mreg(git_repo, "init").exit_code == 0
    model = write(git_repo / "m.bin", b"model")
    assert run_mreg(git_repo, "add", "m", "m.bin").exit_code == 0
    blob = blob_path(git_repo, sha(b"model"))
    blob.chmod(0o644)
    blob.write_bytes(b"rot")
    write(model, b"mine")
    result = run_mreg(git_repo, "checkout", "--force")
    assert_error(result, 4, f"m v1: blob {sha(b'model')} in the cache is corrupt")
    assert model.read_bytes() == b"mine"


def test_dash_c_and_debug_env(git_repo: Path, tmp_path: Path) -> None:
    assert run_mreg(tmp_path, "-C", str(git_repo), "init").exit_code == 0
    assert (git_repo / ".mreg" / "config.yaml").is_file()
    # MREG_DEBUG shows tracebacks of bugs only: a refusal stays one line.
    done = subprocess.run(
        [str(mreg_script()), "show", "nope"],
        cwd=git_repo,
        capture_output=True,
        text=True,
        env={**os.environ, "MREG_DEBUG": "1"},
    )
    assert_error(CliResult(done.returncode, done.stdout, done.stderr), 3, "no model named 'nope'")


@pytest.mark.parametrize("folder", ["a[/]b", "[v2]", "[bold]x[/bold]"])
def test_brackets_in_paths_are_text_not_markup(repo: Path, folder: str) -> None:
    model = write(repo / "out" / folder / "m.bin", b"weights")
    rel = f"out/{folder}/m.bin"
    assert run_mreg(repo, "add", "m", rel).exit_code == 0
    model.unlink()
    res = run_mreg(repo, "checkout", "m")
    assert res.exit_code == 0, res.stderr
    assert f"created {rel} (m)" in res.stderr
    assert model.read_bytes() == b"weights"
