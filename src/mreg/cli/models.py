"""Commands on models in the work tree: init, add, ls, show, status, checkout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from mreg.cli import render
from mreg.cli.options import parse_pairs, read_mapping_file

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (see docs/scripting.md).")]
MdOpt = Annotated[bool, typer.Option("--md", help="Print a GitHub markdown table.")]


def _project() -> Any:
    from mreg.project import Project

    return Project.open()


def init_cmd(json: JsonOpt = False) -> None:
    """Create .mreg/ in this git repository (running it again changes nothing).

    \b
    Examples:
      git init && mreg init
      git add .mreg && git commit -m "mreg init"
    """
    render.STATE.json = json
    from mreg.project import init

    proj, created = init()
    proj.close()
    if json:
        render.emit_json({"root": str(proj.root), "created": created})
        return
    where = proj.mreg_dir
    if created:
        render.note(f"Initialised mreg in {where}")
        render.note("next: git add .mreg && git commit -m 'mreg init'")
    else:
        render.note(f"mreg is already initialised in {where}")


def add_cmd(
    name: Annotated[
        str, typer.Argument(help="Model name: lower-case segments, e.g. vision/resnet50.")
    ],
    path: Annotated[Path, typer.Argument(help="The model file or folder, inside this repository.")],
    param: Annotated[
        list[str] | None, typer.Option("-p", "--param", help="A param KEY=VALUE (repeatable).")
    ] = None,
    params_file: Annotated[
        Path | None, typer.Option("--params", help="A JSON or YAML file of params.")
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option("-m", "--metric", help="A metric KEY=VALUE (repeatable).")
    ] = None,
    metrics_file: Annotated[
        Path | None, typer.Option("--metrics", help="A JSON or YAML file of metrics.")
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option("--data", help="Lineage: [ROLE=]PATH|URI; local paths are hashed."),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="What the model is, in a line.")
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="A label KEY=VALUE (repeatable).")
    ] = None,
    framework: Annotated[
        str | None, typer.Option("--framework", help="Framework name (guessed from the suffix).")
    ] = None,
    started: Annotated[
        str | None, typer.Option("--started", help="Training start, ISO-8601.")
    ] = None,
    finished: Annotated[
        str | None, typer.Option("--finished", help="Training end, ISO-8601.")
    ] = None,
    commit: Annotated[
        bool,
        typer.Option("--commit", help="Also git-commit the card and .gitignore (and tag NAME@vN)."),
    ] = False,
    message: Annotated[
        str | None, typer.Option("-M", "--message", help="Commit message for --commit.")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Register a model version: store the bytes in the cache, write the card.

    The same bytes with new metadata keep the version; new bytes make version N+1.
    PATH is added to .gitignore so the bytes never go into git.

    \b
    Examples:
      mreg add churn out/model.pkl -p lr=0.01 -p tree.depth=6 -m auc=0.91
      mreg add churn out/model.pkl --metrics metrics.json --data train=data/train.csv
      mreg add vision/resnet50 checkpoints/ --framework pytorch --commit
    """
    render.STATE.json = json  # before the option files are read: their errors too
    from mreg.cli.quick import show_add
    from mreg.registry import deep_merge

    # k=v options go on top of the file, nested into it (-p optimizer.lr=1e-3).
    params = deep_merge(read_mapping_file(params_file, "--params"), parse_pairs(param, "--param"))
    metrics = deep_merge(
        read_mapping_file(metrics_file, "--metrics"), parse_pairs(metric, "--metric")
    )
    labels = parse_pairs(label, "--label")
    show_add(
        name,
        path,
        json=json,
        params=params or None,
        metrics=metrics or None,
        data=data,
        description=description,
        labels=labels or None,
        framework=framework,
        started=started,
        finished=finished,
        commit=commit,
        message=message,
    )


def _headline(metrics: dict[str, Any], n: int = 3) -> str:
    from mreg.card import flatten

    flat = flatten(metrics)
    return ", ".join(f"{k}={render.fmt_value(v)}" for k, v in list(flat.items())[:n])


def ls_cmd(
    rev: Annotated[
        str | None,
        typer.Option("--rev", help="List the cards as committed at this git revision."),
    ] = None,
    json: JsonOpt = False,
    md: MdOpt = False,
) -> None:
    """List every model: version, kind, size, oid, when registered, headline metrics.

    A card that fails to load is listed as broken, with its file and the reason.
    With --rev the cards are read from git objects; nothing is checked out.

    \b
    Examples:
      mreg ls
      mreg ls --rev main~3
      mreg ls --json | jq '.models[].name'
    """
    render.STATE.json = json
    from mreg.card import flatten
    from mreg.hashing import short
    from mreg.registry import CardEntry, list_cards

    with _project() as proj:
        if rev is None:
            entries = list_cards(proj)
        else:
            from mreg.history import card_relpath, cards_at

            entries = [
                CardEntry(name, card_relpath(name), None, got)
                if isinstance(got, str)
                else CardEntry(name, card_relpath(name), got)
                for name, got in sorted(cards_at(proj, rev).items())
            ]
    if json:
        rows_json = []
        for e in entries:
            c = e.card
            rows_json.append(
                {
                    "name": e.name,
                    "card": e.path,
                    "version": c.version if c else None,
                    "kind": c.artifact.kind if c else None,
                    "size": c.artifact.size if c else None,
                    "files": c.artifact.files if c else None,
                    "oid": c.artifact.oid if c else None,
                    "path": c.artifact.path if c else None,
                    "registered_at": c.registered.at if c else None,
                    "metrics": flatten(c.metrics) if c else {},
                    "error": e.error,
                }
            )
        render.emit_json({"models": rows_json})
        return
    if not entries:
        render.note("no models yet: mreg add NAME PATH")
        return
    cols = ["Model", "Version", "Kind", "Size", "Oid", "Registered", "Metrics"]
    rows = []
    for e in entries:
        c = e.card
        if c is None:
            rows.append([e.name, "broken", "", "", "", "", f"{e.error}"])
            continue
        rows.append(
            [
                e.name,
                f"v{c.version}",
                c.artifact.kind,
                render.human_size(c.artifact.size),
                short(c.artifact.oid),
                c.registered.at or "-",
                _headline(c.metrics),
            ]
        )
    (render.markdown_table if md else render.table)(cols, rows)


def show_cmd(
    ref: Annotated[
        str, typer.Argument(help="A model reference: NAME, NAME@vN, NAME@REV, NAME#STAGE.")
    ],
    json: JsonOpt = False,
    md: MdOpt = False,
) -> None:
    """Show one model's card in full.

    \b
    Examples:
      mreg show churn
      mreg show churn --json
      mreg show churn --md >> "$GITHUB_STEP_SUMMARY"
    """
    render.STATE.json = json
    from mreg.card import dump, flatten
    from mreg.refs import resolve_card

    with _project() as proj:
        card = resolve_card(proj, ref)
    doc = card.to_dict()
    if json:
        render.emit_json(doc)
    elif md:
        render.out(f"### {card.name} v{card.version}\n")
        render.markdown_table(
            ["Key", "Value"], [[k, render.fmt_value(v)] for k, v in flatten(doc).items()]
        )
    else:
        render.out(dump(card).rstrip("\n"))


def status_cmd(
    json: JsonOpt = False,
    md: MdOpt = False,
    remote: Annotated[
        bool,
        typer.Option("--remote", help="Also check whether the blobs are on the default remote."),
    ] = False,
) -> None:
    """Compare each model's work-tree artifact, cache and card (against HEAD).

    Work tree: ok, modified or missing. Cache: ok, missing, partial (a folder with
    some files missing) or corrupt (a folder's manifest). Card: unchanged, new or
    modified against HEAD. Exits 0 whatever the states; with --remote, 3 or 5 when the
    remote is not set up or not there.

    \b
    Examples:
      mreg status
      mreg status --json
      mreg status --remote
    """
    from mreg.cli.quick import show_status

    show_status(json=json, md=md, remote=remote)


def checkout_cmd(
    refs: Annotated[
        list[str] | None,
        typer.Argument(help="Models to check out (default: all).", metavar="[REF]..."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", "-f", help="Overwrite files whose changes are not in the cache."),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Put artifacts into the work tree from the cache, as the cards say.

    Links as cache.link in .mreg/config.yaml says (default: reflink, then copy); every
    byte is checked against its digest. A file whose current bytes are not in the cache
    is not overwritten without --force.

    \b
    Examples:
      mreg checkout
      mreg checkout churn@v1
      mreg checkout churn --force
    """
    from mreg.cli.quick import show_checkout

    show_checkout(refs or [], force=force, json=json)


COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("init", init_cmd),
    ("add", add_cmd),
    ("ls", ls_cmd),
    ("show", show_cmd),
    ("status", status_cmd),
    ("checkout", checkout_cmd),
]
