"""Writing a benchmark's RESULTS-*.md: header, machine, table, and the kept `## Notes`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("?" elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def fs_type(path: Path) -> str:
    """The type of the file system holding path (df -T), "?" if unknown."""
    df = subprocess.run(["df", "-T", str(path)], capture_output=True, text=True).stdout
    return df.splitlines()[-1].split()[1] if df.strip() else "?"


def compile_mreg() -> None:
    """Write mreg's bytecode now. An installed package has its .pyc files (pip compiles
    them), but with PYTHONDONTWRITEBYTECODE set an editable install never gets them for
    new modules, and every timed command would compile those again."""
    import compileall

    import mreg

    compileall.compile_dir(Path(mreg.__file__).parent, quiet=1)


def find_mreg(script: str) -> str:
    """The installed console script (next to this interpreter, else on PATH), with
    mreg's bytecode compiled."""
    compile_mreg()
    beside = Path(sys.executable).parent / "mreg"
    if beside.exists():
        return str(beside)
    found = shutil.which("mreg")
    if found is None:
        sys.exit(f"{script}: no mreg console script found (pip install -e .)")
    return found


def run_ok(script: str, cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run cmd and return its stdout; exit the benchmark, with stderr's tail, if it fails."""
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"{script}: {' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return res.stdout


def machine_lines(load_start: str) -> list[str]:
    """The lines every RESULTS file starts its Machine section with."""
    import platform

    gitv = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"- nproc: {os.cpu_count()}; load average (1, 5, 15 min): {load_start} at the start, "
        f"{load} at the end",
        f"- CPU: {cpu_model()}",
        f"- Python: {platform.python_version()} ({sys.executable})",
        f"- {gitv}; {platform.platform()}",
    ]


def write_random(path: Path, size: int) -> None:
    """A file of `size` random bytes (written 16 MiB at a time)."""
    chunk = 16 * 1024 * 1024
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(chunk, left)
            f.write(os.urandom(n))
            left -= n


def peers_venv(tmp: Path, venv: Path | None, packages: tuple[str, ...]) -> tuple[Path, str | None]:
    """The peers' venv: `venv` (--peers-venv), or a new one in tmp with `packages`
    installed; (venv, why it could not be made, or None)."""
    if venv is not None:
        return venv, None
    venv = tmp / "peers"
    print(f"installing {', '.join(packages)} into {venv} ...", file=sys.stderr)
    for cmd in (
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", "-q", *packages],
    ):
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            tail = " / ".join((res.stderr or res.stdout).strip().splitlines()[-5:])
            return venv, f"`{' '.join(cmd)}` failed ({res.returncode}): {tail}"
    return venv, None


def pip_versions(venv: Path, names: tuple[str, ...]) -> str:
    """ "name version, ..." of these distributions in venv ("?" when absent)."""
    res = subprocess.run(
        [str(venv / "bin" / "pip"), "list", "--format=json"], capture_output=True, text=True
    )
    have = {p["name"].lower(): p["version"] for p in json.loads(res.stdout or "[]")}
    return ", ".join(f"{k} {have.get(k, '?')}" for k in names)


def ratio(a: float | None, b: float | None) -> str:
    """a / b to two places, "-" when either is missing."""
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def write_results(out: Path, title: str, script: str, desc: list[str], body: str) -> None:
    """Write out, keeping a `## Notes` section a person added to the previous file."""
    notes = ""
    if out.exists():
        old = out.read_text()
        at = old.find("\n## Notes")
        if at >= 0:
            notes = old[at:]
    cmd = " ".join(["python", f"benchmarks/{script}", *sys.argv[1:]])
    made = f"Made by `{cmd}` on {time.strftime('%Y-%m-%d %H:%M %Z')}."
    text = "\n".join(
        [f"# {title}", "", made, "", "## Machine", "", *desc, "", "## Results", "", body, ""]
    )
    if notes:
        text += "\n" + notes.strip("\n") + "\n"
    out.write_text(text)


# --- The suite's one table (issue 6) -------------------------------------------------
# Every script also writes its rows as JSON (benchmarks/rows-<script>.json); run.py joins
# them into RESULTS.md's table: operation, mreg, peer, limit, mreg/peer, mreg/limit.


@dataclass
class Row:
    """One line of the suite's table; times in seconds (or MiB when unit is "MiB")."""

    operation: str
    mreg: float
    peer: float | None = None
    peer_name: str = ""  # e.g. "dvc add"
    limit: float | None = None
    limit_name: str = ""  # e.g. "max(openssl, cp)"
    target: str = ""  # e.g. "<= 0.5x peer", "<= 1.3x limit"
    met: bool | None = None  # None: no target, or its operand was not measured
    unit: str = "s"


def write_rows(script: str, rows: list[Row]) -> Path:
    """Write rows for run.py next to this file as rows-<script>.json."""
    out = Path(__file__).resolve().parent / f"rows-{script}.json"
    out.write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n")
    return out


def read_rows(path: Path) -> list[Row]:
    """Rows written by write_rows."""
    return [Row(**item) for item in json.loads(path.read_text())]


def verdict(value: float | None, bound: float | None, factor: float) -> bool | None:
    """value <= factor x bound, or None when either side was not measured."""
    if value is None or bound is None:
        return None
    return value <= factor * bound
