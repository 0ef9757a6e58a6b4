"""The console-script entry point: fast paths first, then the typer app.

`mreg --version` and `mreg hook` with nothing to do answer without importing typer,
gitpython, rich or yaml; a plain `mreg status`, `mreg add NAME PATH` and
`mreg checkout` without typer (mreg.cli.quick).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Run mreg with argv (default sys.argv[1:]) and exit with its exit code."""
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        from mreg import __version__

        sys.stdout.write(f"mreg {__version__}\n")
        sys.exit(0)
    if args[:1] == ["hook"]:
        # git runs this on every commit: answer "nothing to do" before importing
        # typer, gitpython, rich or yaml (see mreg.hookfast).
        from mreg.hookfast import fast_path

        code = fast_path(args[1:])
        if code is not None:
            sys.exit(code)
    if args[:1] in (["status"], ["add"], ["checkout"]):
        from mreg.cli.quick import main as quick

        code = quick(args)
        if code is not None:
            sys.exit(code)
    from mreg.cli.app import app_for

    app_for(args)(args=args, prog_name="mreg")


if __name__ == "__main__":
    main()
