"""Meta-tests: every command has help with an Examples block, every option has help text,
and `mreg --version` starts without the heavy imports."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main

from mreg.cli.app import app
from tests.helpers import Cli, mreg_script

HEAVY = ("git", "rich", "yaml", "typer", "fsspec")


def _commands() -> Iterator[tuple[list[str], Any]]:
    """(path of names, command) for every visible command and group, depth first."""
    root = typer.main.get_command(app)

    def walk(path: list[str], cmd: Any) -> Iterator[tuple[list[str], Any]]:
        yield path, cmd
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            if not sub.hidden:
                yield from walk([*path, name], sub)

    yield from walk([], root)


COMMANDS = list(_commands())
IDS = [" ".join(path) or "mreg" for path, _ in COMMANDS]


def test_the_foundation_commands_are_there() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"init", "add", "ls", "show", "status", "checkout"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_has_examples(cli: Cli, path: list[str], command: Any) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Usage: mreg")
    assert "Examples:" in result.stdout, f"mreg {' '.join(path)} --help has no Examples block"
    examples = result.stdout.split("Examples:", 1)[1].strip().splitlines()
    assert any("mreg " in line for line in examples), examples


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_parameter_has_help(path: list[str], command: Any) -> None:
    missing = [
        p.name
        for p in command.params
        if p.name not in ("help",) and not getattr(p, "hidden", False) and not p.help
    ]
    assert missing == [], f"mreg {' '.join(path)}: no help for {missing}"


def _imported_modules(stderr: str) -> set[str]:
    """Module names from the output of `python -X importtime`."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


@pytest.mark.parametrize(
    "argv",
    [
        ["-c", "from mreg.cli.main import main; main(['--version'])"],
        ["-c", "from mreg.cli.main import main; main(['-V'])"],
        [str(mreg_script()), "--version"],
    ],
    ids=["main --version", "main -V", "console script"],
)
def test_version_imports_nothing_heavy(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("mreg ")
    modules = _imported_modules(done.stderr)
    assert "mreg" in modules  # the check itself works
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []


# --- lazy registration: `mreg NAME` builds only NAME's command ------------------------


def _top_level(app_: Any) -> dict[str, Any]:
    return dict(typer.main.get_command(app_).commands)  # type: ignore[attr-defined]


def test_every_command_has_a_module_for_lazy_loading() -> None:
    from mreg.cli.app import COMMAND_MODULES

    assert set(_top_level(app)) == set(COMMAND_MODULES)


@pytest.mark.parametrize("name", sorted(_top_level(app)))
def test_a_lazily_built_app_holds_the_same_command(name: str) -> None:
    from mreg.cli.app import app_for

    lazy = _top_level(app_for([name, "--help"]))
    assert list(lazy) == [name]
    full = _top_level(app)[name]

    def shape(cmd: Any) -> list[tuple[str, ...]]:
        subs = getattr(cmd, "commands", {})
        own = [(p.name, *p.opts) for p in cmd.params]
        return own + [(n, *map(str, shape(s))) for n, s in sorted(subs.items())]

    assert shape(lazy[name]) == shape(full)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["status"], "status"),
        (["-C", "sub", "add", "m", "x"], "add"),
        (["-Csub", "--debug", "remote", "list"], "remote"),
        (["--debug", "hooks", "status"], "hooks"),
        (["--help"], None),
        (["-C"], None),
        (["--version", "ls"], None),
        (["stauts"], None),  # a typo: the full app answers with its usage error
        ([], None),
    ],
)
def test_command_name_skips_the_global_options(args: list[str], name: str | None) -> None:
    from mreg.cli.app import command_name

    assert command_name(args) == name


def test_a_mistyped_command_gets_the_usage_error(tmp_path: Any) -> None:
    res = subprocess.run(
        [str(mreg_script()), "stauts"], capture_output=True, text=True, cwd=tmp_path
    )
    assert res.returncode == 2
    assert "No such command 'stauts'" in res.stderr
