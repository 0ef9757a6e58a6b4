"""Benchmark the pre-commit hook's fast path (issue 5's speed clause).

In a repository with --models models (registered through the Python API) and one staged
file that is not a card, times in one run, median of --runs each, interleaved so that
machine load hits every command alike:

- `python -c pass`: the interpreter's own start-up, the floor;
- `mreg --version`: the console script's start-up;
- `mreg hook pre-commit`: what git runs on every commit (no card staged: the fast path);
- with --dvc VENV: `VENV/bin/dvc git-hook pre-commit` in the same repository after
  `dvc init`, for comparison.

The target is `mreg hook pre-commit` <= 3 x `python -c pass`. Prints a markdown table and
writes it, with a short description of the machine, to --out.

    python benchmarks/bench_hooks.py
    python benchmarks/bench_hooks.py --dvc /path/to/venv-with-dvc
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = 3.0
BIN = Path(sys.executable).parent


def sh(cwd: Path, *cmd: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env=env)


def make_repo(root: Path, models: int) -> None:
    sh(root, "git", "init", "-q")
    sh(root, "git", "config", "user.name", "Bench")
    sh(root, "git", "config", "user.email", "bench@example.com")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        import mreg

        mreg.init(root)
        for i in range(models):
            path = root / "out" / f"m{i:02d}.bin"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(os.urandom(4096))
            mreg.add(f"model-{i:02d}", path, metrics={"auc": 0.5 + i / 200})
    finally:
        os.chdir(cwd)
    sh(root, "git", "add", "-A")
    sh(root, "git", "commit", "-q", "-m", "models")
    (root / "README.md").write_text("a change that is not a card\n")
    sh(root, "git", "add", "README.md")


def median_seconds(cwd: Path, cmds: dict[str, list[str]], runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in cmds}
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("MREG_SKIP_HOOKS", None)
    for cmd in cmds.values():  # warm the page cache and any bytecode
        subprocess.run(cmd, cwd=cwd, capture_output=True, env=env)
    for _ in range(runs):
        for label, cmd in cmds.items():
            start = time.perf_counter()
            done = subprocess.run(cmd, cwd=cwd, capture_output=True, env=env)
            times[label].append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"{label} failed ({done.returncode}): {done.stderr.decode()}")
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--dvc", type=Path, help="a virtualenv with dvc installed")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS-hooks.md")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="mreg-bench-hooks-"))
    try:
        make_repo(work, args.models)
        cmds = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "mreg --version": [str(BIN / "mreg"), "--version"],
            "mreg hook pre-commit": [str(BIN / "mreg"), "hook", "pre-commit"],
        }
        if args.dvc is not None:
            dvc = args.dvc / "bin" / "dvc"
            sh(work, str(dvc), "init", "-q")
            sh(work, "git", "add", "README.md")
            cmds["dvc git-hook pre-commit"] = [str(dvc), "git-hook", "pre-commit"]
        medians = median_seconds(work, cmds, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    floor = medians["python -c pass"]
    lines = [
        f"| command ({args.models} models, median of {args.runs}) | ms | x python -c pass |",
        "|---|---:|---:|",
    ]
    for label, secs in medians.items():
        lines.append(f"| `{label}` | {secs * 1000:.1f} | {secs / floor:.2f} |")
    ratio = medians["mreg hook pre-commit"] / floor
    verdict = "meets" if ratio <= TARGET else "MISSES"
    lines.append("")
    lines.append(
        f"`mreg hook pre-commit` is {ratio:.2f} x `python -c pass`: {verdict} <= {TARGET}x."
    )
    table = "\n".join(lines)
    print(table)
    machine = (
        f"{platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    args.out.write_text(
        "# Hook start-up benchmark\n\n"
        "Written by `python benchmarks/bench_hooks.py` (see its docstring).\n\n"
        f"Machine: {machine}.\n\n{table}\n",
        encoding="utf-8",
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
