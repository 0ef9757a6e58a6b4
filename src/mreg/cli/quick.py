"""`mreg status`, a plain `mreg add NAME PATH` and `mreg checkout` without typer: what
CI steps, hooks, deploy jobs and training scripts run most.

Layer: cli. Typer, its bundled click and `inspect` cost about a third of a plain
`mreg status` or an unchanged re-add, so `mreg status` with nothing but its own flags
(`--json`, `--md`, `--remote`), `mreg add NAME PATH [--json]` and `mreg checkout
[REF]... [-f|--force] [--json]` are answered here, through the same bodies and the same
error funnel as the typer commands (`mreg.cli.models.status_cmd`, `add_cmd` and
`checkout_cmd` call `show_status`, `show_add` and `show_checkout` too).
Anything else (`--help`, a typo, an option, global options) goes to typer, which also
gives usage errors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


def show_add(name: str, path: Path, *, json: bool = False, **options: Any) -> None:
    """The body of `mreg add` (see its help in mreg.cli.models.add_cmd); options are
    registry.add's keyword arguments (params, metrics, data, ..., commit, message)."""
    render.STATE.json = json
    from mreg.project import Project
    from mreg.registry import add

    with Project.open() as proj:
        result = add(proj, name, path, **options)
    card = result.card
    if json:
        render.emit_json(
            {
                "name": result.name,
                "version": result.version,
                "status": result.status,
                "oid": card.artifact.oid,
                "kind": card.artifact.kind,
                "size": card.artifact.size,
                "files": card.artifact.files,
                "path": result.artifact_path,
                "card": result.card_path,
                "commit": result.commit,
                "tag": result.tag,
                "skipped": result.skipped,
            }
        )
        return
    for left_out in result.skipped if result.status != "unchanged" else []:
        render.note(f"note: left out {left_out}: git's own folder (mreg never stores a .git)")
    size = render.human_size(card.artifact.size)
    what = {
        "new": "Registered",
        "new-version": "Registered new version of",
        "updated": "Updated metadata of",
        "unchanged": "Unchanged:",
    }[result.status]
    render.note(
        f"{what} {result.name} v{result.version} ({result.short_oid}, {size}"
        + (f", {card.artifact.files} files" if card.artifact.kind == "dir" else "")
        + f") -> {result.card_path}"
    )
    if result.commit:
        render.note(
            f"Committed {result.commit[:12]}" + (f", tagged {result.tag}" if result.tag else "")
        )
    elif result.tag:  # committed by an add --commit that was interrupted before its tag
        render.note(f"Tagged {result.tag} (its commit was already made)")
    elif result.status != "unchanged" or result.gitignore_changed:
        paths = " ".join(result.paths_to_commit)
        render.note(
            f"next: git add {paths} && git commit -m 'mreg: {result.name} v{result.version}'"
        )


def show_checkout(refs: list[str], *, force: bool = False, json: bool = False) -> None:
    """The body of `mreg checkout` (see its help in mreg.cli.models.checkout_cmd)."""
    render.STATE.json = json
    from mreg.checkout import checkout_card, one_version_each, raise_for
    from mreg.project import Project
    from mreg.refs import resolve_card
    from mreg.registry import list_cards

    broken: list[str] = []
    with Project.open() as proj, proj.lock():
        if refs:
            chosen = one_version_each([resolve_card(proj, r) for r in refs], refs)
            cards = [card for card, _ in chosen]
        else:
            entries = list_cards(proj)
            cards = [e.card for e in entries if e.card is not None]
            broken = [e.error or e.path for e in entries if e.card is None]
        results = [checkout_card(proj, c, force=force) for c in cards]
    if json:
        render.emit_json(
            {
                "models": [
                    {"name": r.name, "path": r.path, "action": r.action, "conflicts": r.conflicts}
                    for r in results
                ]
            }
        )
    else:
        for r in results:
            if r.action in ("created", "updated"):
                render.note(f"{r.action} {r.path} ({r.name})")
    raise_for(results, broken)


def _plain_checkout(args: list[str]) -> tuple[list[str], bool, bool] | None:
    """(REFs, --force, --json) when args are `checkout [REF]... [-f|--force] [--json]`."""
    if args[:1] != ["checkout"]:
        return None
    flags = {"-f", "--force", "--json"}
    refs = [a for a in args[1:] if a not in flags]
    if any(a.startswith("-") or not a for a in refs):
        return None  # another option, `--`, or an empty argument: typer says what it makes of it
    rest = args[1:]
    return refs, "-f" in rest or "--force" in rest, "--json" in rest


def _plain_add(args: list[str]) -> tuple[str, str, bool] | None:
    """(NAME, PATH, --json) when args are `add NAME PATH [--json]` and nothing else."""
    json = "--json" in args
    rest = [a for a in args[1:] if a != "--json"]
    if args[:1] != ["add"] or len(rest) != 2 or len(rest) + json != len(args) - 1:
        return None
    if any(a.startswith("-") or not a for a in rest):
        return None  # an option, `--`, or an empty argument: typer says what it makes of it
    if os.path.exists(rest[1]) and not os.access(rest[1], os.R_OK):
        return None  # typer's own check of PATH says it is not readable
    return rest[0], rest[1], json


def main(args: list[str]) -> int | None:
    """Run `mreg status FLAGS`, `mreg add NAME PATH [--json]` or `mreg checkout [REF]...
    [-f] [--json]` and return the exit code; None when args are none of them."""
    plain_add = _plain_add(args)
    plain_checkout = _plain_checkout(args)
    status = args[:1] == ["status"] and set(args[1:]) <= set(FLAGS)
    if plain_add is None and plain_checkout is None and not status:
        return None
    render.STATE.debug = os.environ.get("MREG_DEBUG", "") not in ("", "0")
    try:
        if plain_add is not None:
            name, path, json = plain_add
            show_add(name, Path(path), json=json)
        elif plain_checkout is not None:
            refs, force, json = plain_checkout
            show_checkout(refs, force=force, json=json)
        else:
            show_status(json="--json" in args, md="--md" in args, remote="--remote" in args)
    except (Exception, KeyboardInterrupt) as exc:
        code = render.report(exc)
        if code is None:
            raise
        return code
    return 0
