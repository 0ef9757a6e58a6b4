"""The CLI in-process (typer's CliRunner): output on the right stream, --json shapes, options."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mreg import __version__
from mreg.card import loads
from tests.helpers import Cli, assert_error, git, run_mreg, sha, snapshot, write


def _card(repo: Path, name: str = "churn") -> dict[str, object]:
    return loads((repo / ".mreg" / "models" / f"{name}.yaml").read_bytes()).to_dict()


# ---------------------------------------------------------------------------- global


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(cli: Cli, flag: str) -> None:
    result = cli(flag)
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"mreg {__version__}\n", "")


def test_help(cli: Cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("init", "add", "ls", "show", "status", "checkout"):
        assert command in result.stdout


def test_dash_c_runs_elsewhere(
    cli: Cli, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo / "m.bin", b"x")
    monkeypatch.chdir(tmp_path)
    assert cli("-C", str(repo), "add", "m", "m.bin").exit_code == 0
    result = cli("-C", str(repo), "ls", "--json")
    assert [m["name"] for m in result.json["models"]] == ["m"]
    assert_error(cli("-C", str(tmp_path / "nowhere"), "ls"), 2, "cannot change to")


@pytest.mark.parametrize("target", ["nowhere", "file.txt"])
def test_dash_c_that_cannot_be_entered(repo: Path, target: str) -> None:
    """A -C PATH that is missing or not a folder: exit 2 (a usage error), code
    invalid-path, as JSON when the command has --json; nothing is written anywhere."""
    write(repo / "file.txt", b"not a folder")
    before = snapshot(repo)
    where = repo / target
    hint = "-C PATH must be an existing folder"
    for args in (["status"], ["ls"], ["add", "m", "m.bin", "--description", "--json"]):
        res = run_mreg(repo, "-C", str(where), *args)
        assert_error(res, 2, f"cannot change to {where}: ", hint)
        assert res.stdout == ""
    for args in (["status", "--json"], ["push", "--json"], ["remote", "list", "--json"]):
        res = run_mreg(repo, "-C", str(where), *args)
        assert (res.exit_code, res.stdout) == (2, ""), (res.exit_code, res.stderr)
        assert len(res.lines) == 1, res.stderr
        error = res.error_json["error"]
        assert (error["code"], error["exit_code"]) == ("invalid-path", 2)
        assert error["message"].startswith(f"cannot change to {where}: ")
        assert error["hint"].startswith(hint)
    assert snapshot(repo) == before
    assert not (repo / "nowhere").exists()


def test_internal_errors_exit_70(cli: Cli, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mreg import registry

    def boom(project: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(registry, "list_cards", boom)
    result = cli("ls")
    assert_error(result, 70, "internal error: RuntimeError: kaboom", hint="rerun with --debug")


def test_debug_shows_the_traceback(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mreg import registry
    from mreg.cli import render
    from mreg.cli.app import app

    def boom(project: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(registry, "list_cards", boom)
    try:
        result = CliRunner().invoke(app, ["--debug", "ls"])
    finally:
        render.STATE.debug = False
    assert isinstance(result.exception, RuntimeError)


def test_errors_as_json(cli: Cli, repo: Path) -> None:
    result = cli("show", "nope", "--json")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.error_json == {
        "error": {
            "code": "model-not-found",
            "message": "no model named 'nope'",
            "hint": "register one with: mreg add NAME PATH",
            "exit_code": 3,
        }
    }


# ---------------------------------------------------------------------------- init


def test_init(cli: Cli, git_repo: Path) -> None:
    result = cli("init")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "Initialised mreg in" in result.stderr
    assert (git_repo / ".mreg" / "config.yaml").is_file()
    again = cli("init", "--json")
    assert again.exit_code == 0
    assert again.json == {"root": str(git_repo.resolve()), "created": False}


def test_init_outside_git(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_error(cli("init"), 3, "not a git repository", hint="git init")
    assert not (tmp_path / ".mreg").exists()


@pytest.mark.parametrize(
    "args",
    [["ls"], ["status"], ["show", "churn"], ["add", "churn", "m.bin"], ["checkout"]],
)
def test_commands_need_init(cli: Cli, git_repo: Path, args: list[str]) -> None:
    write(git_repo / "m.bin", b"x")
    assert_error(cli(*args), 3, "mreg is not initialised", hint="mreg init")
    assert not (git_repo / ".mreg").exists()


# ---------------------------------------------------------------------------- add


def test_add_prints_what_it_did_and_what_to_run_next(cli: Cli, repo: Path) -> None:
    write(repo / "out" / "model.pkl", b"v1 bytes")
    result = cli("add", "churn", "out/model.pkl")
    assert result.exit_code == 0
    assert result.stdout == ""
    short = sha(b"v1 bytes")[7:19]
    lines = result.lines
    assert lines[0] == f"Registered churn v1 ({short}, 8 B) -> .mreg/models/churn.yaml"
    assert lines[1].startswith("next: git add .mreg/models/churn.yaml .gitignore")
    assert lines[1].endswith(" && git commit -m 'mreg: churn v1'")
    # The suggested command works as printed.
    command = lines[1].removeprefix("next: ")
    for part in command.split(" && "):
        git(repo, *shlex.split(part)[1:])
    assert git(repo, "status", "--porcelain").strip() == ""

    again = cli("add", "churn", "out/model.pkl")
    assert again.lines == [f"Unchanged: churn v1 ({short}, 8 B) -> .mreg/models/churn.yaml"]
    meta = cli("add", "churn", "out/model.pkl", "-m", "auc=0.5")
    assert meta.lines[0].startswith("Updated metadata of churn v1")
    write(repo / "out" / "model.pkl", b"v2")
    new = cli("add", "churn", "out/model.pkl")
    assert new.lines[0].startswith("Registered new version of churn v2")


def test_add_json(cli: Cli, repo: Path) -> None:
    write(repo / "ck" / "a.bin", b"a")
    write(repo / "ck" / "b.bin", b"bb")
    result = cli("add", "vision/net", "ck", "--json")
    assert result.exit_code == 0
    doc = result.json
    card = _card(repo, "vision/net")
    assert doc == {
        "name": "vision/net",
        "version": 1,
        "status": "new",
        "oid": card["artifact"]["oid"],  # type: ignore[index]
        "kind": "dir",
        "size": 3,
        "files": 2,
        "path": "ck",
        "card": ".mreg/models/vision/net.yaml",
        "commit": None,
        "tag": None,
        "skipped": [],
    }


def test_add_options(cli: Cli, repo: Path) -> None:
    write(repo / "out" / "model.pt", b"weights")
    write(repo / "params.yaml", "optimizer:\n  name: adam\n  betas: [0.9, 0.99]\nepochs: 10\n")
    write(repo / "metrics.json", json.dumps({"auc": 0.9, "loss": {"train": 0.1, "val": 0.2}}))
    write(repo / "data" / "train.csv", b"x,y\n")
    result = cli(
        "add", "churn", "out/model.pt",
        "--params", "params.yaml",
        "-p", "optimizer.lr=1e-3",
        "-p", "tree.depth=6",
        "--param", "use_gpu=true",
        "-p", "tag=v1.2",
        "--metrics", "metrics.json",
        "-m", "loss.test=0.3",
        "--metric", "f1=0.81",
        "--label", "team=growth",
        "--data", "train=data/train.csv",
        "--data", "s3://bucket/test.parquet",
        "--description", "Gradient boosted churn model",
        "--started", "2026-01-01T10:00:00Z",
        "--finished", "2026-01-01T10:00:30.5Z",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    card = _card(repo)
    assert card["params"] == {
        "optimizer": {"name": "adam", "betas": [0.9, 0.99], "lr": 0.001},
        "epochs": 10,
        "tree": {"depth": 6},
        "use_gpu": True,
        "tag": "v1.2",
    }
    assert card["metrics"] == {
        "auc": 0.9,
        "loss": {"train": 0.1, "val": 0.2, "test": 0.3},
        "f1": 0.81,
    }
    assert card["labels"] == {"team": "growth"}
    assert card["data"] == [
        {"role": "train", "path": "data/train.csv", "oid": sha(b"x,y\n"), "size": 4},
        {"uri": "s3://bucket/test.parquet"},
    ]
    assert card["description"] == "Gradient boosted churn model"
    assert card["framework"] == {"name": "pytorch"}
    assert card["training"] == {
        "started": "2026-01-01T10:00:00Z",
        "finished": "2026-01-01T10:00:30Z",
        "duration_s": 30.5,
    }
    list(card)  # keys as written
    assert list(card) == [
        "schema", "name", "version", "description", "artifact", "registered", "training",
        "framework", "params", "metrics", "data", "labels",
    ]  # fmt: skip


def test_add_framework_option(cli: Cli, repo: Path) -> None:
    write(repo / "m.bin", b"x")
    assert cli("add", "m", "m.bin", "--framework", "sklearn").exit_code == 0
    assert _card(repo, "m")["framework"]["name"] == "sklearn"  # type: ignore[index]


def test_add_commit(cli: Cli, repo: Path) -> None:
    write(repo / "m.bin", b"x")
    result = cli("add", "m", "m.bin", "--commit")
    assert result.exit_code == 0
    head = git(repo, "rev-parse", "HEAD").strip()
    assert result.lines[-1] == f"Committed {head[:12]}, tagged m@v1"
    assert git(repo, "log", "-1", "--format=%s").strip() == "mreg: m v1"
    write(repo / "m.bin", b"y")
    assert cli("add", "m", "m.bin", "--commit", "-M", "retrain").exit_code == 0
    assert git(repo, "log", "-1", "--format=%s").strip() == "retrain"
    assert git(repo, "status", "--porcelain").strip() == ""


# ---------------------------------------------------------------------------- ls / show


def _two_models(cli: Cli, repo: Path) -> None:
    write(repo / "a.bin", b"a")
    write(repo / "b.bin", b"bb")
    assert cli("add", "alpha", "a.bin", "-m", "auc=0.9", "-m", "loss.val=0.1").exit_code == 0
    assert cli("add", "team/beta", "b.bin").exit_code == 0


def test_ls(cli: Cli, repo: Path) -> None:
    empty = cli("ls")
    assert (empty.exit_code, empty.stdout) == (0, "")
    assert "no models yet" in empty.stderr
    _two_models(cli, repo)
    result = cli("ls")
    assert result.exit_code == 0
    assert "alpha" in result.stdout and "team/beta" in result.stdout
    assert "auc=0.9, loss.val=0.1" in result.stdout
    md = cli("ls", "--md").stdout.splitlines()
    assert md[0] == "| Model | Version | Kind | Size | Oid | Registered | Metrics |"
    assert md[2].startswith(f"| alpha | v1 | file | 1 B | {sha(b'a')[7:19]} | ")
    doc = cli("ls", "--json").json
    assert [m["name"] for m in doc["models"]] == ["alpha", "team/beta"]
    alpha = doc["models"][0]
    assert alpha["oid"] == sha(b"a")  # full oids in JSON
    assert alpha["metrics"] == {"auc": 0.9, "loss.val": 0.1}
    assert set(alpha) == {
        "name", "card", "version", "kind", "size", "files", "oid", "path", "registered_at",
        "metrics", "error",
    }  # fmt: skip


def test_ls_lists_broken_cards_and_the_rest(cli: Cli, repo: Path) -> None:
    _two_models(cli, repo)
    write(repo / ".mreg" / "models" / "broken.yaml", "schema: 1\nname: [\n")
    result = cli("ls")
    assert result.exit_code == 0
    assert "alpha" in result.stdout and "team/beta" in result.stdout
    assert "broken" in result.stdout and ".mreg/models/broken.yaml: invalid YAML" in result.stdout
    doc = cli("ls", "--json").json
    broken = next(m for m in doc["models"] if m["name"] == "broken")
    assert broken["version"] is None
    assert broken["error"].startswith(".mreg/models/broken.yaml: invalid YAML")


def test_show(cli: Cli, repo: Path) -> None:
    _two_models(cli, repo)
    result = cli("show", "alpha")
    assert result.exit_code == 0
    assert result.stdout == (repo / ".mreg" / "models" / "alpha.yaml").read_text()
    assert cli("show", "alpha", "--json").json == _card(repo, "alpha")
    md = cli("show", "alpha", "--md").stdout.splitlines()
    assert md[0] == "### alpha v1"
    assert "| metrics.auc | 0.9 |" in md
    assert f"| artifact.oid | {sha(b'a')} |" in md


# ---------------------------------------------------------------------------- status / checkout


def test_status(cli: Cli, repo: Path) -> None:
    _two_models(cli, repo)
    (repo / "b.bin").unlink()
    result = cli("status")
    assert result.exit_code == 0
    assert "missing" in result.stdout
    doc = cli("status", "--json").json
    assert doc["models"][0] == {
        "name": "alpha",
        "card_path": ".mreg/models/alpha.yaml",
        "version": 1,
        "path": "a.bin",
        "oid": sha(b"a"),
        "worktree": "ok",
        "cache": "ok",
        "card": "new",
        "error": None,
    }
    assert doc["models"][1]["worktree"] == "missing"
    md = cli("status", "--md").stdout.splitlines()
    assert md[0].startswith("| Model | Version | Work tree | Cache | Card |")


def test_status_exits_0_with_broken_cards(cli: Cli, repo: Path) -> None:
    write(repo / ".mreg" / "models" / "bad.yaml", "schema: 1\n")
    write(repo / ".mreg" / "models" / "new.yaml", "schema: 7\n")
    result = cli("status", "--json")
    assert result.exit_code == 0
    errors = [m["error"] for m in result.json["models"]]
    assert errors == [
        ".mreg/models/bad.yaml: name: missing",
        # the schema is read first: a newer card lacks keys for being newer
        ".mreg/models/new.yaml: schema: schema 7 is newer than this mreg knows (1)",
    ]


def test_checkout(cli: Cli, repo: Path) -> None:
    _two_models(cli, repo)
    (repo / "a.bin").unlink()
    write(repo / "b.bin", b"local edit")
    result = cli("checkout", "--json")
    assert result.exit_code == 3
    assert result.json == {
        "models": [
            {"name": "alpha", "path": "a.bin", "action": "created", "conflicts": []},
            {"name": "team/beta", "path": "b.bin", "action": "conflict", "conflicts": ["b.bin"]},
        ]
    }
    assert result.error_json["error"]["code"] == "worktree-conflict"
    assert (repo / "a.bin").read_bytes() == b"a"
    assert (repo / "b.bin").read_bytes() == b"local edit"
    forced = cli("checkout", "team/beta", "--force")
    assert forced.exit_code == 0
    assert forced.lines == ["updated b.bin (team/beta)"]
    assert (repo / "b.bin").read_bytes() == b"bb"
    assert cli("checkout").lines == []
