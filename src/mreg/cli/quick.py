"""`mreg status` without typer: the command CI steps and hooks run most.

Layer: cli. Typer, its bundled click and `inspect` cost about a third of a plain
`mreg status`, so `mreg status` with nothing but its own flags (`--json`, `--md`,
`--remote`) is answered here, through the same body and the same error funnel as the
typer command (`mreg.cli.models.status_cmd` calls `show_status` too). Anything else
(`--help`, a typo, global options) goes to typer, which also gives usage errors.
"""

from __future__ import annotations

import os

from mreg.cli import render

FLAGS = ("--json", "--md", "--remote")


def show_status(json: bool, md: bool, remote: bool) -> None:
    """The body of `mreg status` (see its help in mreg.cli.models.status_cmd)."""
    render.STATE.json = json
    from mreg.project import Project
    from mreg.status import status

    with Project.open() as proj:
        rows = status(proj, remote=remote)
    if json:
        render.emit_json(
            {
                "models": [
                    {
                        "name": s.name,
                        "card_path": s.card_path,
                        "version": s.version,
                        "path": s.path,
                        "oid": s.oid,
                        "worktree": s.worktree,
                        "cache": s.cache,
                        "card": s.card,
                        "error": s.error,
                        **({"remote": s.remote} if remote else {}),
                    }
                    for s in rows
                ]
            }
        )
        return
    if not rows:
        render.note("no models yet: mreg add NAME PATH")
        return
    table_rows = []
    for s in rows:
        if s.error:
            row = [s.name, "-", "broken", "-", s.card, s.error]
        else:
            row = [s.name, f"v{s.version}", s.worktree or "-", s.cache or "-", s.card, s.path or ""]
        if remote:
            row.insert(4, s.remote or "-")
        table_rows.append(row)
    cols = ["Model", "Version", "Work tree", "Cache", "Card", "Path"]
    if remote:
        cols.insert(4, "Remote")
    (render.markdown_table if md else render.table)(cols, table_rows)


def main(args: list[str]) -> int | None:
    """Run `mreg status FLAGS` and return its exit code; None when args are not that."""
    if args[:1] != ["status"] or not set(args[1:]) <= set(FLAGS):
        return None
    render.STATE.debug = os.environ.get("MREG_DEBUG", "") not in ("", "0")
    try:
        show_status(json="--json" in args, md="--md" in args, remote="--remote" in args)
    except (Exception, KeyboardInterrupt) as exc:
        code = render.report(exc)
        if code is None:
            raise
        return code
    return 0
