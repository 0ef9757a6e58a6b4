"""Commands on model history: log, diff, tag, promote, demote, stages, which, check-ref."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from mreg.cli import render
from mreg.cli.models import JsonOpt, MdOpt, _headline, _project
from mreg.errors import EXIT_NEGATIVE


def log_cmd(
    name: Annotated[str, typer.Argument(help="The model.")],
    number: Annotated[
        int | None, typer.Option("-n", "--max-count", help="Show at most N rows.")
    ] = None,
    all_refs: Annotated[
        bool, typer.Option("--all", help="Follow every branch and tag, not only HEAD.")
    ] = False,
    json: JsonOpt = False,
    md: MdOpt = False,
) -> None:
    """Show a model's versions through git history, newest first.

    One row per commit that changed the card: version, commit, date, author, subject,
    headline metrics, tags and stages. "meta" marks a metadata-only update (same bytes).

    \b
    Examples:
      mreg log churn
      mreg log churn -n 5 --json
    """
    render.STATE.json = json
    from mreg.diff import jsonable
    from mreg.history import log

    if number is not None and number < 0:
        raise typer.BadParameter(f"{number} is below 0", param_hint="'-n' / '--max-count'")
    with _project() as proj:
        entries = log(proj, name, limit=number, all_refs=all_refs)
        _note_if_shallow(proj, "older versions")
    if json:
        render.emit_json(
            {
                "name": name,
                "entries": [
                    {
                        "commit": e.commit.sha,
                        "date": e.commit.date,
                        "author": e.commit.author,
                        "subject": e.commit.subject,
                        "version": e.card.version if e.card else None,
                        "oid": e.card.artifact.oid if e.card else None,
                        "metrics": jsonable(e.card.metrics) if e.card else {},
                        "metadata_only": e.metadata_only,
                        "deleted": e.deleted,
                        "error": e.error,
                        "tags": e.tags,
                        "stages": e.stages,
                    }
                    for e in entries
                ],
            }
        )
        return
    rows = []
    for e in entries:
        if e.deleted:
            version = "deleted"
        elif e.card is None:
            version = "broken"
        else:
            version = f"v{e.card.version}" + (" (meta)" if e.metadata_only else "")
        marks = ", ".join(e.tags + [f"#{s}" for s in e.stages])
        rows.append(
            [
                version,
                e.commit.sha[:12],
                e.commit.date[:19].replace("T", " "),
                e.commit.author.split(" <")[0],
                e.commit.subject,
                _headline(e.card.metrics) if e.card else (e.error or ""),
                marks,
            ]
        )
    cols = ["Version", "Commit", "Date", "Author", "Subject", "Metrics", "Tags"]
    if not rows:
        if number != 0:  # -n 0 asked for no rows, as `git log -n 0` does
            render.note(f"{name} has no committed versions yet")
        return
    (render.markdown_table if md else render.table)(cols, rows)


def _note_if_shallow(proj: Any, what: str) -> None:
    """Say on stderr that `what` may be missing: a shallow clone has part of the history
    and only the tags on it, and an answer from it looks complete when it is not."""
    from mreg.history import UNSHALLOW_FIX

    if proj.git.is_shallow():
        render.note(f"this clone is shallow, {what} may be missing: {UNSHALLOW_FIX}")


def diff_cmd(
    a: Annotated[
        str | None, typer.Argument(help="Git revision or model ref (default HEAD).")
    ] = None,
    b: Annotated[
        str | None, typer.Argument(help="Git revision or model ref (default: the work tree).")
    ] = None,
    names: Annotated[
        list[str] | None, typer.Option("-n", "--name", help="Only this model (repeatable).")
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Show unchanged rows too.")] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when anything differs (like git diff).")
    ] = False,
    precision: Annotated[
        int, typer.Option("--precision", min=0, max=15, help="Digits after the point.")
    ] = 5,
    json: JsonOpt = False,
    md: MdOpt = False,
) -> None:
    """Compare metrics, params, data, labels, versions and artifacts.

    A and B are git revisions (default: HEAD against the work tree) or model refs
    (churn@v1, churn@main, churn#production). Beside a model ref, a bare model name on
    either side is its work-tree card, even when a branch has that name (churn@churn is
    the card there); with no model ref, both are revisions, as in git diff. Cards are read
    from git objects; nothing is checked out.

    \b
    Examples:
      mreg diff
      mreg diff HEAD~1 HEAD
      mreg diff origin/main HEAD --md >> "$GITHUB_STEP_SUMMARY"
      mreg diff churn@v1 churn@v3 --json
      mreg diff churn#production churn
      mreg diff churn churn@v1
    """
    render.STATE.json = json
    from mreg.diff import changed, diff_cards, fmt_change, fmt_number, to_json
    from mreg.hashing import short
    from mreg.history import compare

    with _project() as proj:
        comp = compare(proj, a, b, names)
    for note in comp.notes:
        render.note(note)
    rows = diff_cards(comp.old, comp.new)
    shown = rows if show_all else changed(rows)
    if json:
        render.emit_json(to_json(shown))
    elif not shown:
        render.note("no changes")
    else:

        def cell(row: Any, value: Any) -> str:
            if row.kind == "artifact" and isinstance(value, str) and value.startswith("sha256:"):
                return short(value)
            if row.kind == "model":
                return "-" if value is None else str(value)
            return fmt_number(value, precision) if value is not None else "-"

        table_rows = [
            [
                r.model,
                r.kind if r.kind != "model" else r.status,
                r.key,
                cell(r, r.old),
                cell(r, r.new),
                fmt_change(r, precision),
            ]
            for r in shown
        ]
        cols = ["Model", "Kind", "Key", comp.label_a, comp.label_b, "Change"]
        (render.markdown_table if md else render.table)(cols, table_rows)
    if exit_code and changed(rows):
        raise typer.Exit(EXIT_NEGATIVE)


def tag_cmd(
    ref: Annotated[str, typer.Argument(help="NAME@vN (or NAME for its current version).")],
    json: JsonOpt = False,
) -> None:
    """Create the annotated version tag NAME@vN on the commit of that version.

    An existing tag on another commit is an error, never moved.

    \b
    Examples:
      mreg tag churn@v3
      git push origin churn@v3
    """
    render.STATE.json = json
    from mreg.stages import tag_version

    with _project() as proj:
        res = tag_version(proj, ref)
    _print_tag(res, json, "tagged" if res.created else "already tagged")


def _print_tag(res: Any, json: bool, verb: str) -> None:
    if json:
        render.emit_json(
            {
                "tag": res.tag,
                "name": res.name,
                "version": res.version,
                "commit": res.commit,
                "stage": res.stage,
                "created": res.created,
            }
        )
    else:
        version = "" if res.version is None else f" v{res.version}"  # a tag made by hand
        render.note(f"{verb} {res.tag} -> {res.name}{version} ({res.commit[:12]})")
        if res.created:
            render.note(f"next: git push origin {res.tag}")


def promote_cmd(
    ref: Annotated[str, typer.Argument(help="The version: NAME@vN, NAME@REV or NAME.")],
    stage: Annotated[str, typer.Argument(help="Stage name, e.g. production.")],
    message: Annotated[str | None, typer.Option("-M", "--message", help="Tag message.")] = None,
    json: JsonOpt = False,
) -> None:
    """Assign a stage to a version: annotated tag NAME#STAGE#N (GTO's convention).

    A version already in the stage (its current tag on that version's commit) is left
    as it is: no new tag, -M is not recorded, exit 0 (created: false with --json).

    \b
    Examples:
      mreg promote churn@v3 production
      mreg promote churn staging -M "passed offline eval"
      git push origin --tags
    """
    render.STATE.json = json
    from mreg.stages import check_message, promote

    with _project() as proj:
        res = promote(proj, ref, stage, check_message(message))
    if res.created or json:
        _print_tag(res, json, f"promoted to {stage}:")
        return
    unused = ", the -M message is not recorded" if message is not None else ""
    render.note(
        f"{res.name} v{res.version} is already in {stage} ({res.tag} on {res.commit[:12]}): "
        f"no new tag{unused}"
    )


def demote_cmd(
    name: Annotated[str, typer.Argument(help="The model.")],
    stage: Annotated[str, typer.Argument(help="The stage to clear.")],
    message: Annotated[str | None, typer.Option("-M", "--message", help="Tag message.")] = None,
    json: JsonOpt = False,
) -> None:
    """Clear a stage of a model: annotated tag NAME#STAGE!#N.

    \b
    Examples:
      mreg demote churn production
    """
    render.STATE.json = json
    from mreg.stages import check_message, demote

    with _project() as proj:
        res = demote(proj, name, stage, check_message(message))
    _print_tag(res, json, f"removed {stage}:")


def stages_cmd(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Every assignment, oldest first.")
    ] = False,
    json: JsonOpt = False,
    md: MdOpt = False,
) -> None:
    """List each model's stages: the version in each, when and by whom it was assigned.

    \b
    Examples:
      mreg stages
      mreg stages churn --history
      mreg stages --json
    """
    render.STATE.json = json
    from mreg.stages import list_stages

    with _project() as proj:
        rows = list_stages(proj, name, history)
        _note_if_shallow(proj, "stage tags")
    if json:
        render.emit_json(
            {
                "stages": [
                    {
                        "name": r.name,
                        "stage": r.stage,
                        "version": r.version,
                        "commit": r.commit,
                        "tag": r.tag,
                        "by": r.by,
                        "at": r.at,
                        "assigned": r.assigned,
                        "message": r.message,
                    }
                    for r in rows
                ]
            }
        )
        return
    if not rows:
        render.note("no stages assigned yet: mreg promote NAME@vN STAGE")
        return
    cols = ["Model", "Stage", "Version", "Event", "At", "By", "Tag"]
    table_rows = [
        [
            r.name,
            r.stage,
            f"v{r.version}" if r.version else "-",
            "assigned" if r.assigned else "removed",
            r.at[:19].replace("T", " "),
            r.by.split(" <")[0],
            r.tag,
        ]
        for r in rows
    ]
    (render.markdown_table if md else render.table)(cols, table_rows)


def which_cmd(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@vN, NAME@REV or NAME#STAGE.")],
    json: JsonOpt = False,
) -> None:
    """Resolve a reference for scripts: name, version, commit, oid, path, stage.

    \b
    Examples:
      mreg which churn#production
      mreg which churn@v3 --json | jq -r .oid
    """
    render.STATE.json = json
    from mreg.history import resolve
    from mreg.refs import parse_ref

    with _project() as proj:
        res = resolve(proj, parse_ref(ref))
        if res.stage is not None:
            _note_if_shallow(proj, "stage tags")
    card = res.card
    doc = {
        "ref": ref,
        "name": card.name,
        "version": card.version,
        "commit": res.commit,
        "oid": card.artifact.oid,
        "path": card.artifact.path,
        "kind": card.artifact.kind,
        "size": card.artifact.size,
        "stage": res.stage,
    }
    if json:
        render.emit_json(doc)
        return
    for key in ("name", "version", "commit", "oid", "path", "stage"):
        render.out(f"{key}: {'' if doc[key] is None else doc[key]}")


def check_ref_cmd(
    ref: Annotated[str, typer.Argument(help="A git ref name, e.g. refs/tags/churn#production#3.")],
    json: JsonOpt = False,
) -> None:
    """Say what a pushed git ref means to mreg (for CI on tag pushes).

    Prints the event (registration, assignment, unassignment), name, version and stage.
    A ref that is not an mreg tag prints nothing and exits 0.

    \b
    Examples:
      mreg check-ref "$GITHUB_REF" --json
      mreg check-ref refs/tags/churn@v3
    """
    render.STATE.json = json
    from mreg.tags import parse_tag

    event = parse_tag(ref)
    if event is None:
        return
    version = event.version
    commit = None
    if version is None:
        found, version, commit = _stage_tag_version(ref)
        if found is False:
            return  # a lightweight tag is no stage assignment
    doc = {
        "event": event.kind,
        "name": event.name,
        "version": version,
        "stage": event.stage,
        "tag": ref.removeprefix("refs/tags/"),
        "commit": commit,
    }
    if json:
        render.emit_json(doc)
        return
    for key in ("event", "name", "version", "stage"):
        if doc[key] is not None:
            render.out(f"{key}: {doc[key]}")


def _stage_tag_version(ref: str) -> tuple[bool | None, int | None, str | None]:
    """(annotated?, version, commit) of a stage tag in the repository we are in; all
    None when we are in none or the tag is not there (CI may check a ref before
    fetching it)."""
    from mreg.errors import MregError
    from mreg.stages import _version_at

    tag = ref.removeprefix("refs/tags/")
    try:
        with _project() as proj:
            info = {t.name: t for t in proj.git.tags()}.get(tag)
            if info is None:
                return None, None, None
            if not info.annotated:
                return False, None, None
            event_name = tag.split("#", 1)[0]
            return True, _version_at(proj, event_name, info.commit), info.commit
    except MregError:
        return None, None, None


COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("log", log_cmd),
    ("diff", diff_cmd),
    ("tag", tag_cmd),
    ("promote", promote_cmd),
    ("demote", demote_cmd),
    ("stages", stages_cmd),
    ("which", which_cmd),
    ("check-ref", check_ref_cmd),
]
