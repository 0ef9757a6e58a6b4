"""Run every mreg benchmark in one go and collect the results in benchmarks/RESULTS.md.

    python benchmarks/run.py                     # mreg against the machine's limits
    python benchmarks/run.py --compare           # also DVC and GTO, installed into a temp venv
    python benchmarks/run.py --peers-venv DIR    # the same, with a venv that has them
    python benchmarks/run.py --quick             # small sizes, to try the suite out
    python benchmarks/run.py --only hooks,history
    python benchmarks/run.py --render-only       # rebuild RESULTS.md from the rows

Each script (bench_add, bench_history, bench_hooks, and bench_remote when it exists)
builds its own data and repositories in a temp folder, writes its own RESULTS-*.md and
its rows as rows-*.json; this runner calls them in turn (so they never compete for the
two cores), then writes RESULTS.md from every rows-*.json there is, whether made by this
run or an earlier one: ONE table (operation, mreg, peer, limit, the two ratios, the
target and whether it was met), the machine, how many targets were met, and each
script's own RESULTS-*.md. The table is printed too. A script that fails does not stop
the others; the runner then exits 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import Row, cpu_model, read_rows

HERE = Path(__file__).resolve().parent
# name -> script, in the order they run and appear in RESULTS.md.
SCRIPTS = {
    "add": "bench_add.py",
    "history": "bench_history.py",
    "hooks": "bench_hooks.py",
    "remote": "bench_remote.py",
}
QUICK = {
    "add": [
        *("--size-mib", "64", "--runs", "1", "--small-files", "1000"),
        *("--shards", "4", "--shard-mib", "16"),
    ],
    "history": ["--runs", "3", "--commits", "100", "--tags", "200"],
    "hooks": ["--runs", "5"],
    "remote": ["--size-mib", "64", "--small-files", "1000", "--runs", "1"],
}
PEER_PACKAGES = ("dvc", "dvc-s3", "gto")
DASH = "—"


# --------------------------------------------------------------------------- running


def peers_venv(parent: Path) -> Path:
    """A throw-away venv with DVC and GTO (never the project's own venv)."""
    venv = parent / "peers"
    print(f"installing {' '.join(PEER_PACKAGES)} into {venv} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *PEER_PACKAGES], check=True)
    return venv


# Scripts that take --keep, and where their temp folders go. run.py keeps them all until
# the last script has run: on ext4 without a journal, creating files is up to 10x slower
# for minutes after many were deleted, so one script's clean-up would slow the next one.
TEMP_GLOBS = {
    "add": (HERE / ".work", "bench-add-*"),
    "history": (Path("/tmp"), "mreg-bench-history-*"),
    "remote": (Path("/tmp"), "mreg-bench-remote-*"),
}


def temp_dirs() -> set[Path]:
    """The scripts' temp folders that exist now."""
    return {p for parent, pattern in TEMP_GLOBS.values() for p in parent.glob(pattern)}


def command(name: str, quick: bool, venv: Path | None) -> list[str]:
    cmd = [sys.executable, str(HERE / SCRIPTS[name])]
    if name in TEMP_GLOBS:
        cmd.append("--keep")
    if quick:
        cmd += QUICK[name]
    if venv is not None:
        cmd += ["--peers-venv", str(venv)]
    elif name == "history":
        cmd += ["--no-peers"]  # else it would install its own peers
    return cmd


def run_scripts(names: list[str], quick: bool, venv: Path | None) -> list[str]:
    """Run each script in turn; the names of those that failed. The temp folders they
    keep are deleted at the end, after the last timing."""
    failed = []
    before = temp_dirs()
    try:
        for name in names:
            cmd = command(name, quick, venv)
            print("$", " ".join(cmd), flush=True)
            if subprocess.run(cmd).returncode != 0:
                print(f"run.py: {SCRIPTS[name]} failed; going on", file=sys.stderr, flush=True)
                failed.append(name)
    finally:
        for path in sorted(temp_dirs() - before):
            shutil.rmtree(path, ignore_errors=True)
    return failed


# --------------------------------------------------------------------------- rendering


def quantity(x: float | None, unit: str) -> str:
    """A time with sensible units (ms under 1 s), or another unit with 3 digits."""
    if x is None:
        return DASH
    if unit == "s":
        if x < 1:
            ms = x * 1000
            return f"{ms:.2f} ms" if ms < 1 else (f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms")
        return f"{x:.2f} s" if x < 100 else f"{x:.0f} s"
    return f"{x:.3g} {unit}" if abs(x) < 1000 else f"{x:.0f} {unit}"


def named(name: str, x: float | None, unit: str) -> str:
    if x is None:
        return DASH
    return f"{name} {quantity(x, unit)}".strip()


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return DASH
    r = a / b
    return f"{r:.2f}x" if r < 10 else (f"{r:.1f}x" if r < 100 else f"{r:.0f}x")


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def met_text(met: bool | None) -> str:
    return DASH if met is None else ("met" if met else "MISSED")


def rows_files() -> list[Path]:
    """Every rows-*.json, the known scripts first in their order."""
    known = [HERE / f"rows-{name}.json" for name in SCRIPTS]
    others = sorted(p for p in HERE.glob("rows-*.json") if p not in known)
    return [p for p in known if p.exists()] + others


def table(rows: list[Row]) -> str:
    lines = [
        "| operation | mreg | peer | limit | mreg/peer | mreg/limit | target | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        cells = [
            r.operation,
            quantity(r.mreg, r.unit),
            named(r.peer_name, r.peer, r.unit),
            named(r.limit_name, r.limit, r.unit),
            ratio(r.mreg, r.peer),
            ratio(r.mreg, r.limit),
            r.target or DASH,
            met_text(r.met if r.target else None),
        ]
        lines.append("| " + " | ".join(cell(c) for c in cells) + " |")
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    targeted = [r for r in rows if r.target]
    judged = [r for r in targeted if r.met is not None]
    met = sum(1 for r in judged if r.met)
    text = f"{met} of {len(judged)} targets met"
    if len(judged) < len(targeted):
        text += f" ({len(targeted) - len(judged)} more not measured: no peer or limit)"
    missed = [r.operation for r in judged if not r.met]
    if missed:
        text += "; missed: " + ", ".join(f"`{m}`" for m in missed)
    return text + "."


def machine() -> str:
    cpu = cpu_model()
    return (
        f"- {platform.platform()}, {os.cpu_count()} cores, CPU {cpu}\n"
        f"- Python {platform.python_version()}; load average now "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} (each script's section below "
        "gives the load during its run)"
    )


def demoted(markdown: str) -> str:
    """markdown with every heading one level deeper (outside code fences)."""
    out, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        out.append("#" + line if line.startswith("#") and not fenced else line)
    return "\n".join(out)


def render() -> str:
    files = rows_files()
    rows = [r for path in files for r in read_rows(path)]
    made = time.strftime("%Y-%m-%d %H:%M %Z")
    when = "; ".join(
        f"{p.name} {time.strftime('%Y-%m-%d %H:%M', time.localtime(p.stat().st_mtime))}"
        for p in files
    )
    parts = [
        "# mreg benchmarks",
        "",
        f"Made by `python benchmarks/run.py` on {made} from the rows each script wrote "
        f"({when or 'none yet'}). Times are wall-clock medians; each script's section "
        "below says how it measured.",
        "",
        table(rows),
        "",
        "## Machine",
        "",
        machine(),
        "",
        f"**{summary(rows)}**",
    ]
    for name in SCRIPTS:
        path = HERE / f"RESULTS-{name}.md"
        if path.exists():
            parts += ["", "---", "", f"<!-- {path.name} -->", "", demoted(path.read_text())]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", action="store_true", help="install DVC and GTO and compare")
    ap.add_argument("--peers-venv", type=Path, help="reuse a venv that has dvc and gto")
    ap.add_argument("--quick", action="store_true", help="small sizes, few runs")
    ap.add_argument("--only", metavar="NAME[,NAME]", help=f"run only these of {', '.join(SCRIPTS)}")
    ap.add_argument("--render-only", action="store_true", help="run nothing: rebuild RESULTS.md")
    args = ap.parse_args()
    names = list(SCRIPTS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in SCRIPTS]
        if unknown:
            ap.error(f"--only: unknown {', '.join(unknown)} (known: {', '.join(SCRIPTS)})")
    present = [n for n in names if (HERE / SCRIPTS[n]).exists()]
    for n in names:
        if n not in present:
            print(f"run.py: no {SCRIPTS[n]} yet; skipped", file=sys.stderr)
    if args.peers_venv is not None and not (args.peers_venv / "bin" / "dvc").exists():
        ap.error(f"--peers-venv: no dvc in {args.peers_venv}/bin")

    failed: list[str] = []
    if not args.render_only:
        with tempfile.TemporaryDirectory(prefix="mreg-bench-") as tmp:
            venv = args.peers_venv
            if args.compare and venv is None:
                venv = peers_venv(Path(tmp))
            failed = run_scripts(present, args.quick, venv)

    text = render()
    (HERE / "RESULTS.md").write_text(text)
    rows = [r for path in rows_files() for r in read_rows(path)]
    print()
    print(table(rows))
    print()
    print(summary(rows))
    print(f"wrote {HERE / 'RESULTS.md'}")
    if failed:
        print(f"run.py: failed: {', '.join(SCRIPTS[n] for n in failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
