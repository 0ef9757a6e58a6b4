"""Benchmark `mreg add` against the hardware limits (issue 2's speed clause).

Makes one file of random bytes and times, in one run (median of --runs each, page cache
warm, `sync` before every timed step so no step pays for another's write-back):

- `openssl dgst -sha256 FILE`: the hashing limit;
- `cp FILE DEST`: the writing limit;
- `mreg add m FILE` in a fresh `git init` + `mreg init` repository each run, through the
  installed console script; then, in that repository, a re-add with nothing changed
  (the hash-state cache), `mreg status`, and `mreg checkout` of the file after deleting
  it (link type copy);
- `mreg add` of a folder of --small-files files of --small-kib KiB each, against hashing
  the same bytes in this Python process with one thread (and `cp -r` of the folder, for
  reference: the file system's own cost of writing that many files); then `mreg checkout`
  of the folder after moving it away.

With --baseline-src DIR the mreg steps are also run with mreg imported from DIR (say the
`src/` of an older checkout), interleaved with the installed one in every run, so that a
change is measured against its baseline under the same machine load.

The target is `mreg add` <= 1.3 x max(openssl, cp). Prints a markdown table and writes it,
with a short description of the machine, to --out (a `## Notes` section already in that
file is kept).

    python benchmarks/bench_add.py --size-mib 64 --runs 3 --small-files 1000 --no-write
    python benchmarks/bench_add.py --runs 5                  # 1 GiB
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from _results import write_results

HERE = Path(__file__).resolve().parent
TARGET = 1.3
LIMIT_ROWS = ("openssl", "cp")


def find_mreg() -> str:
    """The installed console script: next to this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "mreg"
    if beside.exists():
        return str(beside)
    found = shutil.which("mreg")
    if found is None:
        sys.exit("bench_add: no mreg console script found (pip install -e .)")
    return found


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    res = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if res.returncode != 0:
        sys.exit(f"bench_add: {' '.join(cmd)} failed ({res.returncode}): {res.stderr.decode()}")


def free(path: Path) -> None:
    """Delete a big file (or a folder holding one) just before a writing step.

    On this kind of VM (firecracker, free-page reporting) memory idle for ~2 s goes
    back to the host and the first touch of each page then costs a host fault: writing
    1 GiB into fresh page cache takes 0.3 s to 2.5 s depending on that alone. Every
    writing step is therefore preceded by freeing a 1 GiB file, so that all writers
    start alike and the times measure the software.
    """
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()


def timed(fn: Callable[[], object]) -> float:
    os.sync()  # write-back of earlier steps is not charged to this one
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def write_random(path: Path, size: int) -> None:
    chunk = 16 * 1024 * 1024
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(chunk, left)
            f.write(os.urandom(n))
            left -= n


def warm(paths: list[Path]) -> None:
    """Read every file once so all timings start from a warm page cache."""
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while f.read(8 * 1024 * 1024):
                pass


def new_repo(repo: Path, mreg: str, env: dict[str, str] | None) -> None:
    """A brand-new git + mreg repository at repo, checking out by copy."""
    repo.mkdir()
    run(["git", "init", "-q"], repo)
    run([mreg, "init"], repo, env)
    cfg = repo / ".mreg" / "config.yaml"
    text = cfg.read_text()
    new = text.replace("link: [reflink, copy]", "link: [copy]")
    if new == text:
        sys.exit("bench_add: could not set cache.link to [copy] in .mreg/config.yaml")
    cfg.write_text(new)


def hash_files_one_thread(files: list[Path]) -> None:
    for p in files:
        with open(p, "rb", buffering=0) as f:
            hashlib.sha256(f.read()).hexdigest()


def machine(work: Path) -> list[str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    df = subprocess.run(["df", "-T", str(work)], capture_output=True, text=True).stdout
    fstype = df.splitlines()[-1].split()[1] if df.strip() else "?"
    ossl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    return [
        f"- nproc: {os.cpu_count()}",
        f"- CPU: {cpu}",
        f"- Python: {platform.python_version()} ({sys.executable})",
        f"- temp dir: {work} (file system: {fstype})",
        f"- {ossl}; {platform.platform()}",
    ]


class Bench:
    """Runs the steps and keeps every time, by row key (and variant for mreg rows)."""

    def __init__(self, args: argparse.Namespace, mreg: str, work: Path) -> None:
        self.args = args
        self.mreg = mreg
        self.work = work
        self.size = args.size_mib * 1024 * 1024
        self.times: dict[str, list[float]] = {}
        self.variants: dict[str, dict[str, str] | None] = {"": None}
        if args.baseline_src:
            env = dict(os.environ, PYTHONPATH=str(args.baseline_src.resolve()))
            self.variants["baseline"] = env
        self.big = work / "model.bin"
        self.folder = work / "folder"
        self.spare = work / "spare.bin"  # a 1 GiB file to free before the next write

    def note(self, key: str, seconds: float) -> None:
        self.times.setdefault(key, []).append(seconds)
        print(f"  {key}: {seconds:.3f}s", file=sys.stderr)

    def timed_run(self, key: str, cmd: list[str], cwd: Path, env: dict[str, str] | None) -> None:
        self.note(key, timed(lambda: run(cmd, cwd, env)))

    def prepare(self) -> None:
        write_random(self.big, self.size)
        shutil.copyfile(self.big, self.spare)
        small = self.args.small_kib * 1024
        for i in range(self.args.small_files):
            p = self.folder / f"{i // 1000:02d}" / f"f{i:05d}.bin"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(os.urandom(small))
        warm([self.big, *sorted(self.folder.rglob("*.bin"))])

    def one_run(self, i: int) -> None:
        """One run. Nothing is deleted before the end but big files: on ext4 without a
        journal (this VM's disk) creating a file scans past inodes freed in the last
        minutes, so deleting 10,000 blobs would slow the next 10,000 creates."""
        work, big = self.work, self.big
        self.timed_run("openssl", ["openssl", "dgst", "-sha256", str(big)], work, None)
        free(self.spare)
        dest = work / "copy.bin"
        self.timed_run("cp", ["cp", str(big), str(dest)], work, None)
        self.spare = dest
        names = list(self.variants)
        if i % 2:
            names.reverse()  # neither variant always goes first
        for name in names:
            self.mreg_steps(i, name)

    def mreg_steps(self, i: int, name: str) -> None:
        env, mreg, tag = self.variants[name], self.mreg, f"{name}:" if name else ""
        repo = self.work / f"r{i}{name}"
        new_repo(repo, mreg, env)
        self.big = self.big.rename(repo / "model.bin")
        free(self.spare)
        self.timed_run(f"{tag}add", [mreg, "add", "m", "model.bin"], repo, env)
        self.timed_run(f"{tag}readd", [mreg, "add", "m", "model.bin"], repo, env)
        self.timed_run(f"{tag}status", [mreg, "status"], repo, env)
        free(self.big)
        self.timed_run(f"{tag}checkout", [mreg, "checkout", "m"], repo, env)
        if not self.big.is_file() or self.big.stat().st_size != self.size:
            sys.exit("bench_add: checkout did not restore model.bin")
        self.spare = repo / ".mreg" / "cache"  # the blob: freed before the next write

        drepo = self.work / f"d{i}{name}"
        new_repo(drepo, mreg, env)
        self.folder = self.folder.rename(drepo / "folder")
        if not name:
            files = sorted(self.folder.rglob("*.bin"))
            self.note("pyhash", timed(lambda: hash_files_one_thread(files)))
            target = self.work / f"cpr{i}"
            self.timed_run("cpr", ["cp", "-r", str(self.folder), str(target)], self.work, None)
        self.timed_run(f"{tag}adddir", [mreg, "add", "d", "folder"], drepo, env)
        if not name:  # not with --baseline-src: a thread per copy made it ~11 ms a file
            self.folder.rename(self.work / f"away{i}")  # moved, not deleted: see one_run
            self.timed_run("checkoutdir", [mreg, "checkout", "d"], drepo, env)
            if not self.folder.is_dir():
                sys.exit("bench_add: checkout did not restore the folder")
        self.timed_run(f"{tag}startup", [mreg, "ls"], drepo, env)

    def rows(self) -> list[tuple[str, list[float], str, list[float] | None]]:
        """(label, times, ratio, baseline times) per table row."""
        t = self.times
        med = {k: statistics.median(v) for k, v in t.items()}
        limit = max(med[k] for k in LIMIT_ROWS)
        mib, n, kib = self.args.size_mib, self.args.small_files, self.args.small_kib
        labels = {
            "openssl": f"`openssl dgst -sha256` {mib} MiB (hashing limit)",
            "cp": f"`cp` {mib} MiB (writing limit)",
            "add": f"`mreg add` {mib} MiB, fresh repo",
            "readd": "`mreg add` again, unchanged",
            "status": "`mreg status` after add",
            "checkout": f"`mreg checkout` {mib} MiB (copy), file deleted",
            "pyhash": f"sha256 of {n} x {kib} KiB files, 1 Python thread (dir limit)",
            "cpr": f"`cp -r` of that folder (writing {n} files, reference)",
            "adddir": f"`mreg add` folder of {n} x {kib} KiB files",
            "checkoutdir": "`mreg checkout` of that folder (copy), folder moved away",
            "startup": "`mreg ls` (startup floor, reference)",
        }
        out = []
        for key, label in labels.items():
            if key in LIMIT_ROWS or key == "pyhash":
                ratio = "limit"
            elif key in ("adddir", "cpr", "checkoutdir"):
                ratio = f"{med[key] / med['pyhash']:.2f}x dir limit"
            elif key == "startup":
                ratio = "-"
            else:
                ratio = f"{med[key] / limit:.2f}x"
            out.append((label, t[key], ratio, t.get(f"baseline:{key}")))
        return out


def report(args: argparse.Namespace, bench: Bench, desc: list[str], load: str) -> None:
    med = {k: statistics.median(v) for k, v in bench.times.items()}
    add, limit = med["add"], max(med[k] for k in LIMIT_ROWS)
    verdict = "met" if add <= TARGET * limit else "NOT met"
    base = args.baseline_src is not None
    head = "| operation | median s | min s | ratio to limit |"
    rule = "|---|---:|---:|---:|"
    if base:
        head += " baseline median s | speed-up |"
        rule += "---:|---:|"
    lines = [head, rule]
    for label, times, ratio, btimes in bench.rows():
        row = f"| {label} | {statistics.median(times):.3f} | {min(times):.3f} | {ratio} |"
        if base:
            if btimes:
                b = statistics.median(btimes)
                row += f" {b:.3f} | {b / statistics.median(times):.2f}x |"
            else:
                row += " | |"
        lines.append(row)
    lines += [
        "",
        f"Target `mreg add` <= {TARGET}x max(openssl, cp) = {TARGET * limit:.3f} s: "
        f"**{verdict}** ({add / limit:.2f}x). Median of {args.runs} runs; ratios of the "
        f"{args.size_mib} MiB rows are to max(openssl, cp), the folder rows to the "
        f"one-thread Python hash. Load average (1 min) at start and end: {load}.",
    ]
    if base:
        lines.append(f"Baseline: mreg imported from `{args.baseline_src}`, interleaved.")
    table = "\n".join(lines)
    print(table)
    if args.no_write:
        return
    write_results(
        args.out, "mreg add: speed against the hardware limits", "bench_add.py", desc, table
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024, help="size of the big file")
    ap.add_argument("--runs", type=int, default=3, help="runs per operation (median)")
    ap.add_argument("--small-files", type=int, default=10_000, help="files in the folder")
    ap.add_argument("--small-kib", type=int, default=1, help="size of each small file")
    ap.add_argument("--work", type=Path, default=HERE / ".work", help="temp dir parent")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS-add.md")
    ap.add_argument("--no-write", action="store_true", help="print only, do not write --out")
    ap.add_argument(
        "--baseline-src",
        type=Path,
        help="also run the mreg steps with mreg imported from this folder (PYTHONPATH)",
    )
    args = ap.parse_args()
    if args.baseline_src and not (args.baseline_src / "mreg" / "__init__.py").is_file():
        sys.exit(f"bench_add: no mreg package in {args.baseline_src}")

    mreg = find_mreg()
    args.work.mkdir(parents=True, exist_ok=True)
    work = args.work / f"bench-add-{os.getpid()}"
    work.mkdir()
    load = [f"{os.getloadavg()[0]:.1f}"]
    bench = Bench(args, mreg, work)
    try:
        bench.prepare()
        for i in range(args.runs):
            print(f"run {i + 1}/{args.runs}", file=sys.stderr)
            bench.one_run(i)
        desc = machine(args.work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load.append(f"{os.getloadavg()[0]:.1f}")
    report(args, bench, desc, " / ".join(load))


if __name__ == "__main__":
    main()
