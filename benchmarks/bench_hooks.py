"""Benchmark mreg's start-up, `status` and pre-commit hook against DVC (issues 5 and 6).

Builds, in a temp folder, a repository with --models models (registered through the
Python API, 4 KiB each, committed) and one staged file that is not a card; with
--peers-venv VENV (a venv with dvc) also the equivalent DVC repository: the same number
of 4 KiB files, each tracked by its own `.dvc` file (`dvc add`), committed, one staged
file. Nothing is changed in either. Then times, median of --runs each, every command a
fresh process with stdout to /dev/null, interleaved so that machine load hits every
command alike (wall time, and the CPU time of the process and its children):

- `python -c pass`: the interpreter's own start-up, the limit of every row;
- `mreg --version` vs `dvc --version`: the console scripts' start-up;
- `mreg status` vs `dvc status`: nothing changed, each in its own repository;
- `mreg hook pre-commit` vs `dvc git-hook pre-commit`: what git runs on every commit
  (no card staged: mreg's fast path; DVC's hook runs `dvc status`).

Targets: each mreg command <= 0.2 x its DVC peer (issue 6); `mreg hook pre-commit`
<= 3 x `python -c pass` (issue 5). Prints a markdown table, writes it with the machine to
--out (a `## Notes` section already there is kept) and the suite's rows to
benchmarks/rows-hooks.json (for run.py). Exits 0 once measured, targets met or not.

    python benchmarks/bench_hooks.py --runs 5                            # mreg only
    python benchmarks/bench_hooks.py --peers-venv /path/to/venv-with-dvc
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _results import (
    Row,
    compile_mreg,
    machine_lines,
    ratio,
    verdict,
    write_results,
    write_rows,
)

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
PEER_FACTOR = 0.2  # issue 6: each row at most a fifth of DVC's time
FLOOR_FACTOR = 3.0  # issue 5: the hook at most 3 x `python -c pass`
FILE_BYTES = 4096
# Quiet, offline DVC: no analytics, no update check.
PEER_ENV = {"DO_NOT_TRACK": "1", "DVC_NO_ANALYTICS": "1"}


def sh(cwd: Path, *cmd: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"bench_hooks: {' '.join(cmd)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def git_repo(root: Path) -> None:
    root.mkdir(parents=True)
    sh(root, "git", "init", "-q", "-b", "main")
    sh(root, "git", "config", "user.name", "Bench")
    sh(root, "git", "config", "user.email", "bench@example.com")


def commit_and_stage(root: Path) -> None:
    """Commit everything, then stage one change that is not a model."""
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-q", "-m", "models")
    (root / "README.md").write_text("a change that is not a card\n")
    sh(root, "git", "add", "README.md")


def make_mreg_repo(root: Path, models: int) -> None:
    git_repo(root)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        import mreg

        mreg.init(root)
        for i in range(models):
            path = root / "out" / f"m{i:02d}.bin"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(os.urandom(FILE_BYTES))
            mreg.add(f"model-{i:02d}", path, metrics={"auc": 0.5 + i / 200})
    finally:
        os.chdir(cwd)
    commit_and_stage(root)


def make_dvc_repo(root: Path, files: int, dvc: str, env: dict[str, str]) -> None:
    git_repo(root)
    sh(root, dvc, "init", "-q", env=env)
    sh(root, dvc, "config", "core.analytics", "false", env=env)
    paths = []
    for i in range(files):
        path = root / "out" / f"m{i:02d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(os.urandom(FILE_BYTES))
        paths.append(str(path.relative_to(root)))
    sh(root, dvc, "add", "-q", *paths, env=env)
    commit_and_stage(root)


def check_clean(mreg_repo: Path, dvc_repo: Path | None, dvc: str, env: dict[str, str]) -> None:
    """Both tools see an unchanged repository (or the comparison would be unfair)."""
    mreg = str(BIN / "mreg")
    st = json.loads(sh(mreg_repo, mreg, "status", "--json", env=env))
    models = st["models"] if isinstance(st, dict) else st
    bad = [m for m in models if m.get("worktree") != "ok" or m.get("card") != "unchanged"]
    if bad:
        sys.exit(f"bench_hooks: mreg status is not clean: {bad[:3]}")
    if dvc_repo is not None:
        out = json.loads(sh(dvc_repo, dvc, "status", "--json", env=env) or "{}")
        if out:
            sys.exit(f"bench_hooks: dvc status is not clean: {str(out)[:300]}")


@dataclass
class Cmd:
    label: str
    argv: list[str]
    cwd: Path


def timed(cmd: Cmd, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and the children it waited for)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        cmd.argv, cwd=cmd.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    took = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"bench_hooks: {cmd.label} failed ({done.returncode}): {done.stderr.decode()}")
    return took, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def medians(
    cmds: list[Cmd], runs: int, env: dict[str, str]
) -> tuple[dict[str, float], dict[str, float]]:
    wall: dict[str, list[float]] = {c.label: [] for c in cmds}
    cpu: dict[str, list[float]] = {c.label: [] for c in cmds}
    for c in cmds:  # warm the page cache and any bytecode
        timed(c, env)
    for r in range(runs):
        print(f"run {r + 1}/{runs}", file=sys.stderr)
        for c in cmds:
            w, u = timed(c, env)
            wall[c.label].append(w)
            cpu[c.label].append(u)
    return (
        {k: statistics.median(v) for k, v in wall.items()},
        {k: statistics.median(v) for k, v in cpu.items()},
    )


def machine(dvc_version: str, load_start: str) -> list[str]:
    return [*machine_lines(load_start), f"- peer: {dvc_version or 'not run'}"]


def ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1000:.1f}"


# (operation, mreg label, peer label)
PAIRS = [
    ("mreg --version", "mreg --version", "dvc --version"),
    ("mreg status", "mreg status", "dvc status"),
    ("mreg hook pre-commit", "mreg hook pre-commit", "dvc git-hook pre-commit"),
]
FLOOR = "python -c pass"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50, help="models (and DVC files)")
    parser.add_argument("--runs", type=int, default=20, help="runs per command (median)")
    parser.add_argument(
        "--peers-venv", "--dvc", dest="peers_venv", type=Path, help="a venv with dvc installed"
    )
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-hooks.md")
    parser.add_argument("--no-write", action="store_true", help="print only, write no file")
    args = parser.parse_args(argv)
    if args.models < 1 or args.runs < 1:
        parser.error("need --models >= 1 and --runs >= 1")

    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    env = {**os.environ, **PEER_ENV, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("MREG_SKIP_HOOKS", None)
    compile_mreg()
    mreg = str(BIN / "mreg")
    dvc = ""
    dvc_version = ""
    if args.peers_venv is not None:
        dvc = str(args.peers_venv / "bin" / "dvc")
        if not Path(dvc).exists():
            sys.exit(f"bench_hooks: no dvc in {args.peers_venv}/bin")
        dvc_version = "dvc " + sh(HERE, dvc, "--version", env=env).strip()

    work = Path(tempfile.mkdtemp(prefix="mreg-bench-hooks-"))
    try:
        mrepo, drepo = work / "mreg-repo", work / "dvc-repo"
        make_mreg_repo(mrepo, args.models)
        if dvc:
            make_dvc_repo(drepo, args.models, dvc, env)
        check_clean(mrepo, drepo if dvc else None, dvc, env)
        cmds = [
            Cmd(FLOOR, [sys.executable, "-c", "pass"], mrepo),
            Cmd("mreg --version", [mreg, "--version"], mrepo),
            Cmd("mreg status", [mreg, "status"], mrepo),
            Cmd("mreg hook pre-commit", [mreg, "hook", "pre-commit"], mrepo),
        ]
        if dvc:
            cmds += [
                Cmd("dvc --version", [dvc, "--version"], drepo),
                Cmd("dvc status", [dvc, "status"], drepo),
                Cmd("dvc git-hook pre-commit", [dvc, "git-hook", "pre-commit"], drepo),
            ]
        wall, cpu = medians(cmds, args.runs, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    floor = wall[FLOOR]
    rows: list[Row] = []
    head = (
        "| operation (mreg / DVC) | mreg ms | DVC ms | python -c pass ms | mreg/DVC | mreg/python |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|"]
    cpu_lines = [head.replace(" ms |", " CPU ms |"), lines[1]]
    verdicts = []
    for op, mlabel, plabel in PAIRS:
        for table, d in ((lines, wall), (cpu_lines, cpu)):
            m, p, f = d[mlabel], d.get(plabel), d[FLOOR]
            cells = [ms(m), ms(p), ms(f), ratio(m, p), ratio(m, f)]
            table.append(f"| `{mlabel}` / `{plabel}` | {' | '.join(cells)} |")
        m, p = wall[mlabel], wall.get(plabel)
        met = verdict(m, p, PEER_FACTOR)
        rows.append(
            Row(
                operation=op + (f" ({args.models} models)" if op == "mreg status" else ""),
                mreg=m,
                peer=p,
                peer_name=plabel,
                limit=floor,
                limit_name=FLOOR,
                target=f"<= {PEER_FACTOR:g}x peer",
                met=met,
            )
        )
        state = "not measured (no peer)" if met is None else ("met" if met else "NOT met")
        extra = "" if p is None else f" ({m / p:.2f}x)"
        verdicts.append(f"`{mlabel}` <= {PEER_FACTOR:g}x `{plabel}`: **{state}**{extra}")
    hook = wall["mreg hook pre-commit"] / floor
    verdicts.append(
        f"`mreg hook pre-commit` <= {FLOOR_FACTOR:g}x `{FLOOR}` (issue 5): "
        f"**{'met' if hook <= FLOOR_FACTOR else 'NOT met'}** ({hook:.2f}x)"
    )
    repos = f"{args.models} models registered with mreg"
    if dvc:
        repos += f"; DVC: {args.models} files of {FILE_BYTES} B, one `.dvc` file each"
    text = "\n".join(
        [
            "Wall time, median:",
            "",
            *lines,
            "",
            *(f"- {v}" for v in verdicts),
            "",
            "CPU time (user + system, the command and the processes it waited for), median:",
            "",
            *cpu_lines,
            "",
            f"Repositories: {repos}; everything committed, one staged file that is not a "
            f"model, nothing changed. Median of {args.runs} interleaved runs, each command a "
            "fresh process, stdout to /dev/null.",
        ]
    )
    print(text)
    if not args.no_write:
        write_results(
            args.out,
            "mreg start-up, status and pre-commit hook: speed against DVC",
            "bench_hooks.py",
            machine(dvc_version, load_start),
            text,
        )
        print(f"wrote {args.out} and {write_rows('hooks', rows)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
