"""`mreg add NAME PATH [--json]` and `mreg checkout [REF]... [-f] [--json]` answered
without typer (mreg.cli.quick): the same output, exit codes and errors as the typer
commands; any other option goes to typer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import mreg
from tests.helpers import Cli, assert_error, git, modules_imported_by, run_mreg, write


def _twin_repos(tmp_path: Path) -> tuple[Path, Path]:
    """Two repositories in the same state: one for the quick path, one for typer."""
    twins = []
    for side in ("quick", "typer"):
        root = tmp_path / side
        root.mkdir()
        git(root, "init", "-q")
        mreg.init(root)
        write(root / "out" / "m.bin", b"weights v1")
        write(root / "ckpt" / "a.bin", b"shard a")
        twins.append(root)
    return twins[0], twins[1]


def _same_as_typer(cli: Cli, quick_repo: Path, typer_repo: Path, *args: str) -> tuple[int, str]:
    """Run args through the quick path in one twin and typer in the other; both must
    give the same exit code, stdout and stderr. The code, and stdout + stderr (notes
    go to stderr, JSON to stdout)."""
    quick = run_mreg(quick_repo, *args)
    typed = cli("-C", str(typer_repo), *args)
    assert (quick.exit_code, quick.stdout, quick.stderr) == (
        typed.exit_code,
        typed.stdout,
        typed.stderr,
    )
    return quick.exit_code, quick.stdout + quick.stderr


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_same_output_as_the_typer_command(tmp_path: Path, cli: Cli, flags: list[str]) -> None:
    quick_repo, typer_repo = _twin_repos(tmp_path)

    def both(*args: str) -> str:
        code, out = _same_as_typer(cli, quick_repo, typer_repo, *args)
        assert code == 0, out
        return out

    first = both("add", "m", "out/m.bin", *flags)
    assert ('"status": "new"' if flags else "Registered m v1") in first
    again = both("add", "m", "out/m.bin", *flags)
    assert ('"status": "unchanged"' if flags else "Unchanged: m v1") in again
    for root in (quick_repo, typer_repo):
        write(root / "out" / "m.bin", b"weights v2")
    newer = both("add", *flags, "m", "out/m.bin")  # --json anywhere after add
    assert ('"version": 2' if flags else "Registered new version of m v2") in newer
    folder = both("add", "ckpt", "ckpt", *flags)
    assert ('"kind": "dir"' if flags else "1 files") in folder
    assert (quick_repo / ".mreg" / "models" / "m.yaml").read_text().count("version: 2") == 1


def test_typer_and_gitpython_are_not_imported(repo: Path) -> None:
    write(repo / "m.bin", b"w")
    heavy = ("typer", "mreg.cli.app", "mreg.cli.models", "git")
    assert modules_imported_by(repo, ["add", "m", "m.bin"], heavy) == []
    assert modules_imported_by(repo, ["add", "m", "m.bin", "--json"], heavy) == []
    assert "version: 1" in (repo / ".mreg" / "models" / "m.yaml").read_text()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["add", "m", "nope.bin"], 3, "does not exist"),
        (["add", "Bad Name", "m.bin"], 3, "Bad Name"),
        (["add", "m", "../outside.bin"], 3, "outside"),
    ],
)
def test_errors_are_the_typer_commands_errors(
    repo: Path, cli: Cli, args: list[str], code: int, message: str
) -> None:
    write(repo / "m.bin", b"w")
    write(repo.parent / "outside.bin", b"o")
    quick = run_mreg(repo, *args)
    assert_error(quick, code, message)
    assert quick.stderr == cli(*args).stderr
    assert not (repo / ".mreg" / "models" / "m.yaml").exists()


def test_options_and_odd_arguments_go_to_typer(repo: Path) -> None:
    write(repo / "m.bin", b"w")
    with_param = run_mreg(repo, "add", "m", "m.bin", "-p", "lr=0.1")
    assert with_param.exit_code == 0, with_param.stderr
    assert "lr: 0.1" in (repo / ".mreg" / "models" / "m.yaml").read_text()
    helped = run_mreg(repo, "add", "--help")
    assert helped.exit_code == 0 and "Examples:" in helped.stdout
    missing = run_mreg(repo, "add", "m")
    assert missing.exit_code == 2 and "Missing argument" in missing.stderr
    extra = run_mreg(repo, "add", "m", "m.bin", "other")
    assert extra.exit_code == 2 and "unexpected extra argument" in extra.stderr
    dashed = run_mreg(repo, "add", "--", "m", "m.bin")
    assert dashed.exit_code == 0 and "Unchanged: m v1" in dashed.stderr + dashed.stdout


def test_json_errors_from_option_files_stay_json(repo: Path) -> None:
    write(repo / "m.bin", b"w")
    res = run_mreg(repo, "add", "m", "m.bin", "--params", "missing.yaml", "--json")
    assert res.exit_code == 3 and res.stdout == ""
    assert "missing.yaml" in res.error_json["error"]["message"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads an unreadable file anyway")
def test_an_unreadable_path_gets_typers_answer(repo: Path, cli: Cli) -> None:
    write(repo / "m.bin", b"w").chmod(0)
    quick = run_mreg(repo, "add", "m", "m.bin")
    assert quick.exit_code == 2 and "is not readable" in quick.stderr
    assert quick.stderr == cli("add", "m", "m.bin").stderr


def test_an_unreadable_path_is_left_to_typer(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mreg.cli import quick

    write(repo / "m.bin", b"w")
    assert quick._plain_add(["add", "m", "m.bin"]) == ("m", "m.bin", False)
    monkeypatch.setattr(quick.os, "access", lambda path, mode: False)  # as for a non-root user
    assert quick._plain_add(["add", "m", "m.bin"]) is None
    assert quick._plain_add(["add", "m", "absent.bin"]) == ("m", "absent.bin", False)


# ---------------------------------------------------------------- mreg checkout


def _twin_checkouts(tmp_path: Path) -> tuple[Path, Path]:
    quick_repo, typer_repo = _twin_repos(tmp_path)
    for root in (quick_repo, typer_repo):
        assert run_mreg(root, "add", "m", "out/m.bin").exit_code == 0
        assert run_mreg(root, "add", "ckpt", "ckpt").exit_code == 0
    return quick_repo, typer_repo


@pytest.mark.parametrize("flags", [[], ["--json"], ["-f"], ["--force", "--json"]])
def test_checkout_gives_the_typer_commands_output(
    tmp_path: Path, cli: Cli, flags: list[str]
) -> None:
    quick_repo, typer_repo = _twin_checkouts(tmp_path)

    def both(*args: str) -> tuple[int, str]:
        return _same_as_typer(cli, quick_repo, typer_repo, *args)

    assert both("checkout", *flags)[0] == 0  # nothing to do
    for root in (quick_repo, typer_repo):
        (root / "out" / "m.bin").unlink()
        write(root / "ckpt" / "a.bin", b"edited, not in the cache")
    code, out = both("checkout", "m", *flags)
    assert (
        code == 0 and ('"action": "created"' if "--json" in flags else "created out/m.bin") in out
    )
    code, out = both("checkout", *flags, "ckpt")
    if "-f" in flags or "--force" in flags:
        assert code == 0 and (quick_repo / "ckpt" / "a.bin").read_bytes() == b"shard a"
    else:  # a change that is not in the cache is not overwritten
        assert code != 0 and "ckpt" in out
        assert (quick_repo / "ckpt" / "a.bin").read_bytes() == b"edited, not in the cache"
    code, out = both("checkout", "nosuch", *flags)
    assert code == 3 and "nosuch" in out


def test_checkout_does_not_import_typer(repo: Path) -> None:
    write(repo / "m.bin", b"w")
    assert run_mreg(repo, "add", "m", "m.bin").exit_code == 0
    (repo / "m.bin").unlink()
    heavy = ("typer", "mreg.cli.app", "mreg.cli.models")
    assert modules_imported_by(repo, ["checkout", "m"], heavy) == []
    assert (repo / "m.bin").read_bytes() == b"w"


def test_checkout_options_typer_knows_go_to_typer(repo: Path) -> None:
    helped = run_mreg(repo, "checkout", "--help")
    assert helped.exit_code == 0 and "Examples:" in helped.stdout
    bad = run_mreg(repo, "checkout", "--bogus")
    assert bad.exit_code == 2 and "No such option: --bogus" in bad.stderr
