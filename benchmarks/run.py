"""Run every mreg benchmark in one go and collect the tables in benchmarks/RESULTS.md.

    python benchmarks/run.py              # mreg against the machine's limits
    python benchmarks/run.py --compare    # also DVC and GTO, installed into a temp venv
    python benchmarks/run.py --quick      # small sizes, to try the suite out

Each script builds its own data and repositories in a temp folder and writes its own
RESULTS-*.md; this runner calls them in turn (so they never compete for the two cores)
and writes RESULTS.md with the machine's description and every table.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"- {platform.platform()}, {os.cpu_count()} cores, CPU {cpu}\n"
        f"- Python {platform.python_version()}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )


def peers_venv(parent: Path) -> Path:
    """A throw-away venv with DVC and GTO (never the project's own venv)."""
    venv = parent / "peers"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "dvc", "gto"], check=True)
    return venv


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", action="store_true", help="install DVC and GTO and compare")
    ap.add_argument("--peers-venv", type=Path, help="reuse a venv that has dvc and gto")
    ap.add_argument("--quick", action="store_true", help="small sizes, few runs")
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="mreg-bench-") as tmp:
        venv = args.peers_venv
        if args.compare and venv is None:
            venv = peers_venv(Path(tmp))
        add = [py, str(HERE / "bench_add.py")]
        hist = [py, str(HERE / "bench_history.py")]
        hooks = [py, str(HERE / "bench_hooks.py")]
        if args.quick:
            add += ["--size-mib", "64", "--runs", "3", "--small-files", "1000"]
            hist += ["--runs", "3", "--commits", "100", "--tags", "200"]
            hooks += ["--runs", "5"]
        if venv is not None:
            hist += ["--peers-venv", str(venv)]
            hooks += ["--dvc", str(venv)]
        else:
            hist += ["--no-peers"]
        for cmd in (add, hist, hooks):
            print("$", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
    parts = ["# mreg benchmarks\n", "Made by `python benchmarks/run.py`.\n", machine()]
    for name in ("RESULTS-add.md", "RESULTS-history.md", "RESULTS-hooks.md"):
        path = HERE / name
        if path.exists():
            parts.append(f"\n---\n\n<!-- {name} -->\n")
            parts.append(path.read_text())
    (HERE / "RESULTS.md").write_text("\n".join(parts))
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
