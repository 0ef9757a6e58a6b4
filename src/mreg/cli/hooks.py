"""Commands for git integration: hooks install|uninstall|status, check, and the hidden
`hook NAME` (what the shims run) and `merge-driver` (what git runs for cards)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mreg.cli import render
from mreg.cli.models import JsonOpt, MdOpt, _project
from mreg.errors import EXIT_NEGATIVE, MregError

hooks_app = typer.Typer(
    name="hooks",
    help="Install, remove or show mreg's git hooks and card merge driver."
    "\n\n\b\nExamples:\n  mreg hooks install\n  mreg hooks status\n  mreg hooks uninstall",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

HookOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--hook",
        help="Only this hook: pre-commit, post-checkout, post-merge, pre-push (repeatable).",
    ),
]


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@hooks_app.command("install")
def install_cmd(
    hook: HookOpt = None,
    chain: Annotated[
        bool,
        typer.Option(
            "--chain", help="Keep a hook mreg did not write: move it aside, run it first."
        ),
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Install mreg's git hooks and register the card merge driver.

    Hooks go where git looks for them (core.hooksPath is honoured; linked worktrees
    share the main repository's). A hook mreg did not write is never overwritten: it is
    named and left alone (exit 1), or with --chain moved to NAME.pre-mreg and run before
    mreg's. Running it again is safe. MREG_SKIP_HOOKS=1 makes every mreg hook do nothing.

    \b
    Examples:
      mreg hooks install
      mreg hooks install --chain
      mreg hooks install --hook pre-commit --hook pre-push
      git add .gitattributes && git commit -m "mreg card merge driver"
    """
    render.STATE.json = json
    from mreg import hooks

    res = hooks.install(Path.cwd(), hook, chain)
    if json:
        render.emit_json(
            {
                "hooks_dir": str(res.hooks_dir),
                "hooks": res.actions,
                "merge_driver_changed": res.merge_driver_changed,
                "gitattributes_changed": res.gitattributes_changed,
            }
        )
    else:
        folder = res.hooks_dir
        for name, action in res.actions.items():
            path = _rel(folder / name)
            orig = _rel(folder / f"{name}{hooks.CHAINED_SUFFIX}")
            if name in res.chain_taken:
                render.note(
                    f"left alone: {path} is not mreg's hook, and --chain cannot move it to"
                    f" {orig}: that holds the hook chained before, which is never overwritten"
                )
                render.note(
                    f"hint: merge the two by hand into {orig} (it runs first), delete {path},"
                    " then rerun: mreg hooks install"
                )
            elif action == "foreign":
                render.note(
                    f"left alone: {path} is not mreg's hook"
                    " (rerun with --chain to run it first, then mreg's)"
                )
            elif action == "chained":
                render.note(f"chained:    {path} (the hook that was there runs first: {orig})")
            else:
                render.note(f"{action + ':':<11} {path}")
            if name in res.not_executable:
                render.note(
                    f"note: {orig} is not executable, so git would not run it and neither"
                    f" does mreg's hook; to have it run first: chmod +x {orig}"
                )
        if res.merge_driver_changed:
            render.note(f"merge driver: {hooks.MERGE_DRIVER} registered in .git/config")
        if res.gitattributes_changed:
            render.note("updated .gitattributes: commit it (git add .gitattributes)")
    if res.foreign:
        raise typer.Exit(EXIT_NEGATIVE)


@hooks_app.command("uninstall")
def uninstall_cmd(hook: HookOpt = None, json: JsonOpt = False) -> None:
    """Remove mreg's hooks (a chained original is put back) and its merge driver.

    Hooks mreg did not write are left alone.

    \b
    Examples:
      mreg hooks uninstall
      mreg hooks uninstall --hook post-checkout
    """
    render.STATE.json = json
    from mreg import hooks

    res = hooks.uninstall(Path.cwd(), hook)
    if json:
        render.emit_json(
            {
                "hooks_dir": str(res.hooks_dir),
                "hooks": res.actions,
                "merge_driver_removed": res.merge_driver_removed,
                "gitattributes_changed": res.gitattributes_changed,
            }
        )
        return
    for name, action in res.actions.items():
        path = _rel(res.hooks_dir / name)
        if name in res.chain_left:
            orig = _rel(res.hooks_dir / f"{name}{hooks.CHAINED_SUFFIX}")
            render.note(
                f"left alone: {path} is not mreg's hook, and {orig} (the hook mreg chained"
                " before it) is kept too: merge or remove them by hand"
            )
        elif action == "foreign":
            render.note(f"left alone: {path} is not mreg's hook")
        elif action != "absent":
            render.note(f"{action + ':':<11} {path}")
    if res.merge_driver_removed:
        render.note(f"merge driver: {hooks.MERGE_DRIVER} removed from .git/config")
    if res.gitattributes_changed:
        render.note("updated .gitattributes: commit it")


@hooks_app.command("status")
def status_cmd(json: JsonOpt = False) -> None:
    """Show each hook (mreg, chained, foreign, outdated, absent) and the merge driver.

    \b
    Examples:
      mreg hooks status
      mreg hooks status --json
    """
    render.STATE.json = json
    from mreg import hooks

    st = hooks.status(Path.cwd())
    if json:
        render.emit_json(
            {
                "hooks_dir": str(st.hooks_dir),
                "hooks": {
                    h.name: {
                        "state": h.state,
                        "path": str(h.path),
                        "chained": str(h.chained_path) if h.chained_path else None,
                    }
                    for h in st.hooks
                },
                "merge_driver": st.merge_driver,
                "gitattributes": st.gitattributes,
                "skipped": st.skipped,
            }
        )
        return
    explain = {
        "mreg": "installed",
        "chained": "installed; runs {chained} first",
        "foreign": "not mreg's (mreg hooks install --chain runs it first, then mreg's)",
        "outdated": "mreg's, from another version: mreg hooks install updates it",
        "absent": "not installed",
    }
    rows = []
    for h in st.hooks:
        meaning = explain[h.state].format(chained=h.chained_path.name if h.chained_path else "")
        if h.chained_path and not hooks.is_executable(h.chained_path):
            # as git does with a hook that is not executable (see docs/hooks.md)
            meaning = (
                f"installed; skips {h.chained_path.name}, which is not executable"
                f" (chmod +x {h.chained_path.name} to run it first)"
            )
        rows.append([h.name, h.state, meaning])
    rows.append(
        [
            "merge driver",
            "mreg" if st.merge_driver and st.gitattributes else "absent",
            "registered" if st.merge_driver and st.gitattributes else "mreg hooks install",
        ]
    )
    render.table(["Hook", "State", "Meaning"], rows, title=f"hooks in {_rel(st.hooks_dir)}")
    if st.skipped:
        render.note("MREG_SKIP_HOOKS is set: every mreg hook does nothing")


def hook_cmd(
    name: Annotated[str, typer.Argument(help="The git hook being run.")],
    args: Annotated[list[str] | None, typer.Argument(help="git's arguments.")] = None,
) -> None:
    """Run one git hook (the shims call this)."""
    from mreg import hooks

    argv = list(args or [])
    stdin = ""
    if name == "pre-push" and not sys.stdin.isatty():
        stdin = sys.stdin.read()
    try:
        report = hooks.run(name, argv, stdin)
    except MregError as exc:
        if name in ("post-checkout", "post-merge"):
            # The checkout is done and cannot be undone: say so, never fail it.
            render.note(f"mreg: warning: work-tree models not updated: {exc.message}")
            if exc.hint:
                render.note(f"hint: {exc.hint}")
            return
        if name == "pre-push":
            exc.message = f"pre-push: the git push is stopped: {exc.message}"
        raise
    _print_report(report)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _print_report(report: Any) -> None:
    for note in report.notes:
        render.note(f"mreg: {note}")
    for warning in report.warnings:
        render.note(f"mreg: warning: {warning}")
    for p in report.problems:
        render.note(f"mreg: {report.hook}: {p.model}: {p.message}")
        render.note(f"  fix: {p.fix}")
    if report.problems:
        count = len(report.problems)
        render.note(f"mreg: {report.hook}: the commit is blocked ({count} problem(s))")
    for hint in report.hints:
        render.note(f"hint: {hint}")


def check_cmd(
    names: Annotated[list[str] | None, typer.Argument(help="Only these models.")] = None,
    baseline: Annotated[
        str, typer.Option("--baseline", help="The revision to compare with.", metavar="REV")
    ] = "HEAD",
    json: JsonOpt = False,
    md: MdOpt = False,
) -> None:
    """Apply the quality gates of .mreg/config.yaml (checks:); exit 1 on a breach.

    min/max bound the work-tree card's metric; max_drop, max_rise (absolute) and
    max_drop_pct, max_rise_pct (per cent) compare it with the card at --baseline.
    Nested metrics are dotted (loss.train). See docs/ci.md.

    \b
    Examples:
      mreg check
      mreg check churn --baseline origin/main
      mreg check --baseline origin/main --md >> "$GITHUB_STEP_SUMMARY"
    """
    render.STATE.json = json
    from mreg.checks import check

    with _project() as proj:
        report = check(proj, names, baseline)
    if json:
        render.emit_json(report.to_dict())
    elif not report.rows:
        render.note("no checks configured (checks: in .mreg/config.yaml, see docs/ci.md)")
    else:
        cols = ["Model", "Metric", "Rule", "Value", "Baseline", "Bound", "Result"]
        rows = [
            [
                r.model,
                r.metric,
                r.rule,
                render.fmt_value(r.value),
                render.fmt_value(r.baseline),
                f"{r.bound:g}",
                r.status + (f": {r.message}" if r.message else ""),
            ]
            for r in report.rows
        ]
        (render.markdown_table if md else render.table)(cols, rows)
        failed = sum(r.status == "fail" for r in report.rows)
        if failed:
            render.note(f"mreg check: {failed} breach(es) against {baseline}")
    if not report.passed:
        raise typer.Exit(EXIT_NEGATIVE)


def merge_driver_cmd(
    base: Annotated[Path, typer.Argument(help="%O: the common ancestor's version.")],
    ours: Annotated[Path, typer.Argument(help="%A: ours; the result is written here.")],
    theirs: Annotated[Path, typer.Argument(help="%B: theirs.")],
    path: Annotated[str, typer.Argument(help="%P: the card's path in the repository.")] = "",
) -> None:
    """git's merge driver for model cards (registered by mreg hooks install)."""
    from mreg.fsutil import atomic_write
    from mreg.gitrepo import merge_file_text
    from mreg.merge import merge_cards

    shown = path or str(ours)
    try:
        data = [p.read_bytes() for p in (base, ours, theirs)]
    except OSError as exc:
        raise MregError(f"merge-driver: cannot read {exc.filename}: {exc.strerror}") from None
    result = merge_cards(data[0], data[1], data[2], shown)
    if result is None:
        render.note(f"mreg merge-driver: {shown} is not a valid card on some side: text merge")
        if merge_file_text(ours, base, theirs, ("ours", "base", "theirs")):
            raise typer.Exit(EXIT_NEGATIVE)
        return
    atomic_write(ours, result.text.encode("utf-8"), fsync=False)
    for note in result.notes:
        render.note(f"mreg merge-driver: {note}")
    if not result.clean:
        render.note(
            f"mreg merge-driver: {shown}: conflict in {', '.join(result.conflicts)};"
            " both cards are in the file, with their versions and metrics: keep one"
        )
        raise typer.Exit(EXIT_NEGATIVE)


def register(app: Any, only: str | None = None) -> None:
    """Add these commands (only the one named, if given) to the root app (mreg.cli.app)."""
    if only in (None, "check"):
        app.command(name="check")(check_cmd)
    if only in (None, "hooks"):
        app.add_typer(hooks_app, name="hooks")
    if only in (None, "hook"):
        extra = {"ignore_unknown_options": True, "allow_extra_args": False}
        app.command(name="hook", hidden=True, context_settings=extra)(hook_cmd)
    if only in (None, "merge-driver"):
        app.command(name="merge-driver", hidden=True)(merge_driver_cmd)
