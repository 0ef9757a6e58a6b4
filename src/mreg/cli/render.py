"""Output: messages to stderr, results to stdout as rich tables, JSON or markdown.

Colour and styling only when the stream is a terminal; NO_COLOR is honoured (rich does
both). JSON is one document per command, full oids, ISO-8601 UTC times.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from mreg.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, InternalError, MregError


@dataclass
class State:
    json: bool = False
    debug: bool = False


STATE = State()


def _console(stderr: bool) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output is for tools and logs: never wrap it at 80 columns.
    width = None if stream.isatty() else 240
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def out(text: str) -> None:
    """A line of plain result text on stdout."""
    sys.stdout.write(text + "\n")


def note(text: str) -> None:
    """A message for the person on stderr, written as is: it holds paths and names, in
    which brackets are text (read as rich markup, `out/[v2]/m.pkl` lost its `[v2]` and
    `a[/]b` was an internal error). Not importing rich here also saves ~15 ms a command."""
    sys.stderr.write(text + "\n")


def emit_json(doc: Any) -> None:
    """One strict JSON document on stdout (NaN and infinities as strings)."""
    from mreg.diff import jsonable

    text = json.dumps(jsonable(doc), indent=2, ensure_ascii=False, default=str, allow_nan=False)
    sys.stdout.write(text + "\n")


def table(columns: list[str], rows: list[list[str]], title: str | None = None) -> None:
    """A rich table on a terminal; plain aligned columns when stdout is piped.

    Cells are text, never rich markup: a commit subject like `fix [/] path` prints as is.
    """
    if not sys.stdout.isatty():
        plain_table(columns, rows, title)
        return
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, box=box.SIMPLE_HEAD)
    for col in columns:
        t.add_column(Text(col), overflow="fold")
    for row in rows:
        t.add_row(*(Text(cell) for cell in row))
    _console(stderr=False).print(t)


def plain_table(columns: list[str], rows: list[list[str]], title: str | None = None) -> None:
    """Columns padded to their widest cell, two spaces apart (for pipes, logs and CI)."""
    cells = [[c.replace("\n", " ") for c in row] for row in [columns, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [title] if title else []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    sys.stdout.write("\n".join(lines) + "\n")


def md_escape(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown_table(columns: list[str], rows: list[list[str]]) -> None:
    """A GitHub-flavoured markdown table on stdout."""
    out("| " + " | ".join(md_escape(c) for c in columns) + " |")
    out("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        out("| " + " | ".join(md_escape(c) for c in row) + " |")


def error(exc: MregError) -> None:
    """The one-line error (and hint) on stderr; a JSON object with --json."""
    if STATE.json:
        sys.stderr.write(json.dumps({"error": exc.to_dict()}, ensure_ascii=False) + "\n")
        return
    sys.stderr.write(f"mreg: error: {exc.message}\n")
    if exc.hint:
        sys.stderr.write(f"hint: {exc.hint}\n")


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def fmt_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def report(exc: BaseException) -> int | None:
    """Report what a command raised, the documented way; return the exit code, or None
    when exc must propagate (--debug shows the traceback of an internal error).

    An MregError is its one-line error and code; Ctrl-C is 130; a closed pipe
    (`mreg ls | head`) is a quiet 0; anything else is "internal error", exit 70.
    """
    if isinstance(exc, MregError):
        error(exc)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        sys.stderr.write("mreg: interrupted\n")
        return EXIT_INTERRUPTED
    if isinstance(exc, BrokenPipeError):
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    if isinstance(exc, Exception) and not STATE.debug:
        error(
            InternalError(f"internal error: {type(exc).__name__}: {exc}", hint="rerun with --debug")
        )
        return EXIT_INTERNAL
    return None
