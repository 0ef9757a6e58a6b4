"""The typer application: global options and the one error funnel.

Every command runs inside `MregGroup.invoke`, which turns an MregError into
`mreg: error: ...` (+ hint) and its documented exit code, a BrokenPipe into a quiet
exit, and anything else into "internal error" (exit 70) unless --debug is on.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mreg import __version__
from mreg.cli import history, models, render
from mreg.cli import hooks as hooks_cli
from mreg.cli import remote as remote_cli
from mreg.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, InternalError, MregError


def _is_control_flow(exc: BaseException) -> bool:
    # typer's own exceptions (usage errors, Exit, Abort) come from its bundled click.
    return type(exc).__module__.startswith("typer")


class MregGroup(TyperGroup):
    """A TyperGroup whose invoke is the error funnel for every command."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except MregError as exc:
            render.error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            sys.stderr.write("mreg: interrupted\n")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # The reader went away (`mreg ls | head`): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except Exception as exc:
            if _is_control_flow(exc) or render.STATE.debug:
                raise
            render.error(
                InternalError(
                    f"internal error: {type(exc).__name__}: {exc}", hint="rerun with --debug"
                )
            )
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    cls=MregGroup,
    name="mreg",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        render.out(f"mreg {__version__}")
        raise typer.Exit(0)


@app.callback()
def main_options(
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
            render.error(MregError(f"cannot change to {directory}: {exc.strerror}"))
            raise typer.Exit(EXIT_USAGE) from None


for _name, _fn in [*models.COMMANDS, *history.COMMANDS, *remote_cli.COMMANDS]:
    app.command(name=_name)(_fn)

app.add_typer(remote_cli.remote_app, name="remote")
hooks_cli.register(app)  # hooks install|uninstall|status, check, hook, merge-driver
