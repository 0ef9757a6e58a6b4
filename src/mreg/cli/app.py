"""The typer application: global options, the one error funnel, lazy registration.

Every command runs inside `MregGroup.invoke`, which turns an MregError into
`mreg: error: ...` (+ hint) and its documented exit code, a BrokenPipe into a quiet
exit, and anything else into "internal error" (exit 70) unless --debug is on.

Typer turns every registered function into a click command (signature, type hints,
parameters) each time the program starts: about 35 ms for all 31 commands, more than
most commands' own work. `app_for(args)` therefore builds a root app holding only the
command the arguments name; `app` (all commands) serves --help, unknown commands and
the tests, and is built on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mreg import __version__
from mreg.cli import render
from mreg.errors import EXIT_USAGE, InvalidPath

# ctx.meta key: the command the root resolved, and its arguments, not parsed yet.
_COMMAND = "mreg.command"


class CannotEnter(InvalidPath):
    """-C PATH that cannot be entered: a usage error (exit 2, docs/scripting.md), with the
    code of a bad path, reported as JSON when the command was given --json."""

    exit_code = EXIT_USAGE


def _is_control_flow(exc: BaseException) -> bool:
    # typer's own exceptions (usage errors, Exit, Abort) come from its bundled click.
    return type(exc).__module__.startswith("typer")


class MregGroup(TyperGroup):
    """A TyperGroup whose invoke is the error funnel for every command."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        found = super().resolve_command(ctx, args)
        if ctx.parent is None:  # for _wants_json: -C fails before the command's args are parsed
            ctx.meta[_COMMAND] = found
        return found

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (Exception, KeyboardInterrupt) as exc:
            if _is_control_flow(exc):
                raise
            code = render.report(exc)
            if code is None:
                raise
            raise typer.Exit(code) from None


def _version(value: bool) -> None:
    if value:
        render.out(f"mreg {__version__}")
        raise typer.Exit(0)


def _wants_json(ctx: Any) -> bool:
    """Whether the command's own arguments ask for --json. The root's options are
    handled before they are parsed, so they are parsed here, leniently, as typer will
    (`--description --json` is a description, not the flag)."""
    found = ctx.meta.get(_COMMAND)
    if found is None:
        return False
    name, command, args = found
    try:
        while isinstance(command, TyperGroup):  # `remote list --json`
            rest = [a for a in args if not a.startswith("-")]
            if not rest:
                return False
            name, command, args = command.resolve_command(ctx, args[args.index(rest[0]) :])
        sub = command.make_context(name, list(args), parent=ctx, resilient_parsing=True)
    except Exception:  # a malformed command line: the -C error in text, then
        return False
    with sub:
        return sub.params.get("json") is True


def main_options(
    ctx: typer.Context,
    directory: Annotated[
        Path | None,
        typer.Option(
            "-C", help="Run as if mreg was started in PATH (like git -C).", metavar="PATH"
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of internal errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """mreg: a git-native model registry.

    Model bytes go to a content-addressed cache, one YAML card per model goes to git.

    \b
    Examples:
      mreg init
      mreg add churn out/model.pkl -p lr=0.01 -m auc=0.91 --commit
      mreg ls
      mreg diff HEAD~1 HEAD
    """
    render.STATE.debug = debug or os.environ.get("MREG_DEBUG", "") not in ("", "0")
    if directory is not None:
        try:
            os.chdir(directory)
        except OSError as exc:
            render.STATE.json = _wants_json(ctx)
            raise CannotEnter(
                f"cannot change to {directory}: {exc.strerror}",
                hint="-C PATH must be an existing folder, as for git -C",
            ) from None


# Which module under mreg.cli defines each top-level command or group.
COMMAND_MODULES: dict[str, str] = {
    **dict.fromkeys(["init", "add", "ls", "show", "status", "checkout"], "models"),
    **dict.fromkeys(
        ["log", "diff", "tag", "promote", "demote", "stages", "which", "check-ref"], "history"
    ),
    **dict.fromkeys(["push", "fetch", "pull", "get", "gc", "verify", "remote"], "remote"),
    **dict.fromkeys(["check", "hooks", "hook", "merge-driver"], "hooks"),
}


def _root() -> typer.Typer:
    """A root app with the global options and no command yet."""
    root = typer.Typer(
        cls=MregGroup,
        name="mreg",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    root.callback()(main_options)
    return root


def _register(root: typer.Typer, only: str | None) -> None:
    """Add the command named only (every command when None) to root."""
    import importlib

    modules = (
        list(dict.fromkeys(COMMAND_MODULES.values())) if only is None else [COMMAND_MODULES[only]]
    )
    for module_name in modules:
        module = importlib.import_module(f"mreg.cli.{module_name}")
        if module_name == "hooks":
            module.register(root, only)
            continue
        for name, fn in module.COMMANDS:
            if only in (None, name):
                root.command(name=name)(fn)
        if module_name == "remote" and only in (None, "remote"):
            root.add_typer(module.remote_app, name="remote")


def command_name(args: list[str]) -> str | None:
    """The command args name after the global options, or None (help, version, typo)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-C":
            i += 2
        elif arg.startswith("-C") or arg == "--debug":
            i += 1
        elif arg.startswith("-"):
            return None  # --help, --version, or a usage error: the full app answers
        else:
            return arg if arg in COMMAND_MODULES else None
    return None


def app_for(args: list[str]) -> typer.Typer:
    """The app to run args with: only their command, or every command."""
    name = command_name(args)
    if name is None:
        return full_app()
    root = _root()
    _register(root, name)
    return root


_FULL: typer.Typer | None = None


def full_app() -> typer.Typer:
    """The app with every command (built once per process)."""
    global _FULL
    if _FULL is None:
        _FULL = _root()
        _register(_FULL, None)
    return _FULL


def __getattr__(name: str) -> Any:
    # `from mreg.cli.app import app` (tests, docs generator) gets the full app.
    if name == "app":
        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
