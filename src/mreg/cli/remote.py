"""Commands that talk to remotes: remote add/list/remove/default, push, fetch, pull, get,
gc and verify. Progress bars only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from mreg.cli import render
from mreg.errors import EXIT_NEGATIVE, InvalidPath, WorktreeConflict

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (see docs/scripting.md).")]
RemoteOpt = Annotated[
    str | None,
    typer.Option("-r", "--remote", help="Remote name (default: core.remote).", metavar="NAME"),
]
JobsOpt = Annotated[
    int | None,
    typer.Option("-j", "--jobs", help="Parallel transfers (default: 4 x CPU cores).", min=1),
]
RefsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Model references (default: every model in the work tree).", metavar="[REF]..."
    ),
]


def _project() -> Any:
    from mreg.project import Project

    return Project.open()


class _Bar:
    """A rich progress bar on stderr, drawn only on a terminal (and never with --json).

    Redrawn from advance() at most every REDRAW seconds rather than by rich's refresh
    thread: with a thread running, the process may not fork the helper that takes half
    of many small blobs (mreg.forkshare). The helper's share shows when it is done.
    """

    REDRAW = 0.1

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None
        self._drawn = 0.0

    def start(self, total_bytes: int, count: int, what: str) -> None:
        if self._progress is not None or not count:
            return
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn(f"{what} {count} blob(s)"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=render._console(stderr=True),
            auto_refresh=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(what, total=total_bytes)

    def advance(self, nbytes: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=nbytes)
            now = time.monotonic()
            if now - self._drawn >= self.REDRAW:
                self._drawn = now
                self._progress.refresh()

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@contextmanager
def _bar(json: bool) -> Iterator[_Bar | None]:
    if json or not sys.stderr.isatty():
        yield None
        return
    bar = _Bar()
    try:
        yield bar
    finally:
        bar.stop()


# ------------------------------------------------------------------------------ remote

remote_app = typer.Typer(
    name="remote",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@remote_app.callback()
def remote_group() -> None:
    """Configure remotes: where blobs are pushed to and fetched from.

    Remotes live in .mreg/config.yaml (committed); secrets in config.local.yaml.

    \b
    Examples:
      mreg remote add origin s3://my-bucket/models -d
      mreg remote list
      mreg remote default origin
      mreg remote remove origin
    """


@remote_app.command("add")
def remote_add_cmd(
    name: Annotated[str, typer.Argument(help="A name for the remote, e.g. origin.")],
    url: Annotated[
        str,
        typer.Argument(
            help="A path, file://, s3://, gs://, az://, abfs://, ssh://, sftp:// or memory:// URL."
        ),
    ],
    default: Annotated[
        bool, typer.Option("-d", "--default", help="Make it the default remote.")
    ] = False,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "-o",
            "--option",
            help="A backend option KEY=VALUE (endpoint_url, profile, region, ...); repeatable."
            " VALUE may say ${ENV_VAR}.",
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option("--local", help="Write to config.local.yaml (git-ignored): for secrets."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Replace a remote of that name.")
    ] = False,
) -> None:
    """Add a remote to .mreg/config.yaml (committed) or, with --local, config.local.yaml.

    Options whose names say key, secret, token, password or credential are refused in the
    committed file: use --local, or write the value as ${ENV_VAR} (expanded when used).

    \b
    Examples:
      mreg remote add origin s3://my-bucket/models -d
      mreg remote add minio s3://models -o endpoint_url=http://minio:9000
      mreg remote add nas ssh://me@nas.local/srv/models -o known_hosts=~/.ssh/known_hosts
      mreg remote add origin s3://b/m -o key=AKIA... -o secret=... --local
    """
    from mreg.remote import MalformedOption, add_remote, parse_options

    try:
        options = parse_options(option)
    except MalformedOption as exc:
        raise typer.BadParameter(exc.detail, param_hint="--option") from None
    with _project() as proj:
        path = add_remote(
            proj.mreg_dir,
            name,
            url,
            options,
            default=default,
            local=local,
            force=force,
        )
        rel = proj.relpath(path)
    render.note(f"Added remote {name} -> {rel}" + (" (default)" if default else ""))


@remote_app.command("list")
def remote_list_cmd(json: JsonOpt = False) -> None:
    """List the remotes (secret option values shown as ***).

    \b
    Examples:
      mreg remote list
      mreg remote list --json
    """
    render.STATE.json = json
    from mreg.remote import list_remotes

    with _project() as proj:
        rows = list_remotes(proj.config)
    if json:
        render.emit_json(
            {
                "remotes": [
                    {
                        "name": r.name,
                        "url": r.url,
                        "default": r.default,
                        "options": r.options,
                        "local": r.local,
                    }
                    for r in rows
                ]
            }
        )
        return
    if not rows:
        render.note("no remotes yet: mreg remote add NAME URL -d")
        return
    import json as json_mod

    render.table(
        ["Name", "URL", "Default", "Options", "Where"],
        [
            [
                r.name,
                r.url,
                "*" if r.default else "",
                json_mod.dumps(r.options) if r.options else "",
                "local" if r.local else "config",
            ]
            for r in rows
        ],
    )


@remote_app.command("remove")
def remote_remove_cmd(name: Annotated[str, typer.Argument(help="The remote to remove.")]) -> None:
    """Remove a remote from both config files (its blobs stay where they are).

    \b
    Examples:
      mreg remote remove old-nas
    """
    from mreg.remote import remove_remote

    with _project() as proj:
        remove_remote(proj.mreg_dir, name)
    render.note(f"Removed remote {name}")


@remote_app.command("default")
def remote_default_cmd(
    name: Annotated[str, typer.Argument(help="The remote to use when -r is not given.")],
    local: Annotated[
        bool, typer.Option("--local", help="Set it in config.local.yaml only.")
    ] = False,
) -> None:
    """Set the default remote (core.remote).

    \b
    Examples:
      mreg remote default origin
    """
    from mreg.remote import set_default

    with _project() as proj:
        set_default(proj.mreg_dir, proj.config, name, local=local)
    render.note(f"Default remote: {name}")


# ----------------------------------------------------------------------------- transfers


def _summary(verb: str, result: Any, json: bool) -> None:
    if json:
        render.emit_json(
            {
                "remote": result.remote,
                "url": result.url,
                "models": result.models,
                "transferred": result.transferred,
                "present": result.present,
                "bytes": result.bytes,
                "seconds": round(result.seconds, 3),
                "missing": sorted(result.missing),
                "corrupt": sorted(result.corrupt),
                "repaired": sorted(result.repaired),
            }
        )
        return
    done = "pushed" if verb == "push" else "fetched"
    there = "already there" if verb == "push" else "already in the cache"
    render.note(
        f"{verb} {result.remote}: {result.transferred} {done}, {result.present} {there},"
        f" {render.human_size(result.bytes)} in {result.seconds:.1f}s"
    )
    for oid, who in sorted(result.missing.items()):
        render.note(f"  missing {oid} ({', '.join(who) or '-'})")
    for oid, who in sorted(result.corrupt.items()):
        render.note(f"  corrupt {oid} ({', '.join(who) or '-'})")
    for oid, who in sorted(result.repaired.items()):
        if verb == "push":
            render.note(
                f"  repaired {oid} ({', '.join(who) or '-'}): damaged on the remote, uploaded again"
            )
            continue
        state = "missing" if oid in result.missing else "fetched again"
        render.note(f"  repaired {oid} ({', '.join(who) or '-'}): damaged in the cache, {state}")


def push_cmd(
    refs: RefsArg = None,
    remote: RemoteOpt = None,
    all_versions: Annotated[
        bool,
        typer.Option(
            "--all-versions",
            help="Every version in the history of the current branch too (with REFs: of"
            " those models).",
        ),
    ] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Re-hash the remote's copies of these blobs first and upload again any"
            " that are damaged.",
        ),
    ] = False,
    jobs: JobsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Upload the blobs the models need to a remote, skipping what it already holds.

    \b
    Examples:
      mreg push
      mreg push churn -r origin
      mreg push churn --all-versions
      mreg push --all-versions -j 32
      mreg push churn --repair
    """
    render.STATE.json = json
    from mreg.transfer import push, raise_for

    with _project() as proj, _bar(json) as bar:
        result = push(
            proj,
            refs,
            remote,
            all_versions=all_versions,
            jobs=jobs,
            progress=bar,
            repair=repair,
        )
    _summary("push", result, json)
    raise_for(result, "push")


def fetch_cmd(
    refs: RefsArg = None,
    remote: RemoteOpt = None,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Re-hash the cache's copies of these blobs first and download again any"
            " that are damaged.",
        ),
    ] = False,
    jobs: JobsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Download the blobs the models need into the cache (digest checked; resumable).

    A blob already in the cache is taken as it is; with --repair it is re-hashed first
    (as mreg verify does) and fetched again if its bytes do not match.

    \b
    Examples:
      mreg fetch
      mreg fetch churn@v2 -r origin
      mreg fetch churn --repair
    """
    render.STATE.json = json
    from mreg.transfer import fetch, raise_for

    with _project() as proj, _bar(json) as bar:
        result = fetch(proj, refs, remote, jobs=jobs, progress=bar, repair=repair)
    _summary("fetch", result, json)
    raise_for(result, "fetch")


def pull_cmd(
    refs: RefsArg = None,
    remote: RemoteOpt = None,
    force: Annotated[
        bool,
        typer.Option("--force", "-f", help="Overwrite files whose changes are not in the cache."),
    ] = False,
    jobs: JobsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Fetch, then check the artifacts out into the work tree.

    Nothing is checked out when a blob is missing or corrupt.

    \b
    Examples:
      mreg pull
      mreg pull churn#production
    """
    render.STATE.json = json
    from mreg.transfer import pull

    with _project() as proj, _bar(json) as bar:
        result = pull(proj, refs, remote, force=force, jobs=jobs, progress=bar)
    if json:
        f = result.fetch
        render.emit_json(
            {
                "remote": f.remote,
                "transferred": f.transferred,
                "present": f.present,
                "bytes": f.bytes,
                "models": [
                    {"name": r.name, "path": r.path, "action": r.action, "conflicts": r.conflicts}
                    for r in result.checkouts
                ],
            }
        )
    else:
        _summary("pull", result.fetch, False)
        for r in result.checkouts:
            if r.action in ("created", "updated"):
                render.note(f"{r.action} {r.path} ({r.name})")
    conflicts = [r for r in result.checkouts if r.action == "conflict"]
    if conflicts:
        paths = ", ".join(p for r in conflicts for p in r.conflicts)
        raise WorktreeConflict(
            f"not overwritten, changes not in the cache: {paths}",
            hint="mreg add them to keep them, or mreg pull --force to discard them",
        )


def get_cmd(
    ref: Annotated[str, typer.Argument(help="A model reference: NAME, NAME@vN, NAME#STAGE.")],
    output: Annotated[
        str,
        typer.Option("-o", "--output", help="Where to write the artifact.", metavar="PATH"),
    ],
    repo: Annotated[
        str | None,
        typer.Option(
            "--repo", help="Read the card from this git repository instead.", metavar="GIT_URL"
        ),
    ] = None,
    remote: RemoteOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            "-f",
            help="Replace PATH if it exists: a file, or a folder when the artifact is a"
            " folder (a file never replaces a folder). Never the current folder, the"
            " repository, its .git or .mreg, or the cache.",
        ),
    ] = False,
    jobs: JobsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write one artifact to PATH without touching the work tree (digest checked).

    From the cache when it holds the blobs, else straight from the remote. With --repo,
    that repository is cloned (no file contents, only .mreg/) to a temp folder and its
    committed remote config is used.

    \b
    Examples:
      mreg get churn@v3 -o /srv/models/churn.pkl
      mreg get churn#production -o model.pkl --repo git@github.com:acme/models.git
    """
    render.STATE.json = json
    from mreg.transfer import get

    if not output.strip():  # Path("") would be the current folder
        raise InvalidPath("-o/--output is empty", hint="give the path to write, e.g. -o model.pkl")
    with _bar(json) as bar:
        result = get(
            ref,
            Path(output),
            repo_url=repo,
            remote_name=remote,
            force=force,
            jobs=jobs,
            progress=bar,
        )
    if json:
        render.emit_json(
            {
                "name": result.name,
                "version": result.version,
                "oid": result.oid,
                "kind": result.kind,
                "path": result.path,
                "size": result.size,
                "source": result.source,
            }
        )
        return
    render.note(
        f"Wrote {result.name} v{result.version} ({render.human_size(result.size)}) to"
        f" {result.path} from the {result.source}"
    )


def gc_cmd(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Only say what would be removed.")
    ] = False,
    remote: RemoteOpt = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Needed for a remote (or a shared cache.dir)."),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Delete blobs nothing refers to: not the work tree, the index, nor any commit
    reachable from a branch, tag or stash. Also stale temp files (older than an hour).

    On a remote (-r) it refuses without --force: other repositories that share the
    remote cannot be seen from here.

    \b
    Examples:
      mreg gc --dry-run
      mreg gc
      mreg gc -r origin --dry-run && mreg gc -r origin --force
    """
    render.STATE.json = json
    from mreg.gc import gc

    with _project() as proj:
        result = gc(proj, dry_run=dry_run, remote_name=remote, force=force)
    if json:
        render.emit_json(
            {
                "where": result.where,
                "dry_run": result.dry_run,
                "removed": [{"oid": o, "size": s} for o, s in sorted(result.removed.items())],
                "temp_files": result.temp_files,
                "kept": result.kept,
                "bytes_freed": result.bytes_freed,
            }
        )
        return
    for warning in result.warnings:
        render.note(f"warning: {warning}")
    verb = "would remove" if dry_run else "removed"
    for oid, size in sorted(result.removed.items()):
        render.out(f"{verb} {oid} ({render.human_size(size)})")
    for path in result.temp_files:
        render.out(f"{verb} {path}")
    render.note(
        f"gc {result.where}: {verb} {len(result.removed)} blob(s) and"
        f" {len(result.temp_files)} temp file(s), {render.human_size(result.bytes_freed)};"
        f" kept {result.kept}"
    )


def verify_cmd(
    refs: Annotated[
        list[str] | None,
        typer.Argument(help="Only the blobs these models need (default: all).", metavar="[REF]..."),
    ] = None,
    remote: RemoteOpt = None,
    jobs: JobsOpt = None,
    json: JsonOpt = False,
) -> None:
    """Re-hash stored blobs (the cache, or a remote with -r); exit 1 if any is bad.

    Each corrupt or missing blob is listed with the models that need it.

    \b
    Examples:
      mreg verify
      mreg verify -r origin
      mreg verify churn
    """
    render.STATE.json = json
    from mreg.verify import verify

    with _project() as proj, _bar(json) as bar:
        result = verify(proj, refs, remote, jobs=jobs, progress=bar)
    if json:
        render.emit_json(
            {
                "where": result.where,
                "checked": result.checked,
                "bytes": result.bytes,
                "ok": result.ok,
                "bad": [
                    {"oid": b.oid, "problem": b.problem, "models": b.models} for b in result.bad
                ],
            }
        )
    else:
        for b in result.bad:
            render.out(
                f"{b.problem} {b.oid} ({', '.join(b.models) or 'no model in the work tree'})"
            )
        render.note(
            f"verify {result.where}: {result.checked} blob(s), {render.human_size(result.bytes)}"
            f" re-hashed; {len(result.bad)} bad"
        )
        if remote is None and any(b.problem == "corrupt" for b in result.bad):
            render.note("hint: mreg fetch --repair [REF]... downloads damaged blobs again")
    if not result.ok:
        raise typer.Exit(EXIT_NEGATIVE)


COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("push", push_cmd),
    ("fetch", fetch_cmd),
    ("pull", pull_cmd),
    ("get", get_cmd),
    ("gc", gc_cmd),
    ("verify", verify_cmd),
]
