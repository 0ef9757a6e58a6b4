"""`mreg status FLAGS` answered without typer (mreg.cli.quick): the same output, exit
codes and errors as the typer command, and typer is never imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import Cli, assert_error, modules_imported_by, run_mreg, write


@pytest.fixture
def models(repo: Path) -> Path:
    write(repo / "a.bin", b"a")
    write(repo / "d" / "x.bin", b"x")
    for name, path in (("a", "a.bin"), ("d", "d")):
        assert run_mreg(repo, "add", name, path).exit_code == 0
    write(repo / "a.bin", b"changed")
    return repo


@pytest.mark.parametrize(
    "flags", [[], ["--json"], ["--md"], ["--json", "--remote"], ["--md", "--md"]]
)
def test_same_output_as_the_typer_command(models: Path, cli: Cli, flags: list[str]) -> None:
    quick = run_mreg(models, "status", *flags)
    typer_path = cli("status", *flags)  # in-process through the typer app
    assert (quick.exit_code, quick.stdout) == (typer_path.exit_code, typer_path.stdout)
    assert quick.stderr == typer_path.stderr
    if "--remote" in flags:  # no default remote: the same error, exit 3
        assert quick.exit_code == 3 and "no default remote" in quick.stderr
    else:
        assert "modified" in quick.stdout


def test_typer_is_not_imported(models: Path) -> None:
    heavy = ("typer", "mreg.cli.app", "mreg.cli.models")
    assert modules_imported_by(models, ["status", "--json"], heavy) == []
    assert modules_imported_by(models, ["status", "--json"], ("mreg.status",)) == ["mreg.status"]


def test_errors_are_the_typer_commands_errors(tmp_path: Path, cli: Cli) -> None:
    quick = run_mreg(tmp_path, "status")  # not a git repository
    assert_error(quick, 3, "not a git repository", hint="git init")
    assert quick.stderr == cli("-C", str(tmp_path), "status").stderr


def test_other_arguments_go_to_typer(models: Path) -> None:
    bad = run_mreg(models, "status", "--bogus")
    assert bad.exit_code == 2 and "No such option: --bogus" in bad.stderr
    helped = run_mreg(models, "status", "--help")
    assert helped.exit_code == 0 and "Examples:" in helped.stdout
    elsewhere = run_mreg(models.parent, "-C", str(models), "status", "--json")
    assert elsewhere.exit_code == 0 and '"name": "a"' in elsewhere.stdout


def test_a_broken_card_is_reported_not_raised(models: Path) -> None:
    write(models / ".mreg" / "models" / "a.yaml", "name: [unclosed\n")
    res = run_mreg(models, "status")
    assert res.exit_code == 0 and "broken" in res.stdout
    assert "Traceback" not in res.stderr
