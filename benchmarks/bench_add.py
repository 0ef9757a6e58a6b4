"""Benchmark `mreg add`, `status` and `checkout` against the hardware limits and DVC.

Makes, once, three shapes of random bytes and times, in every run (median of --runs each,
page cache warm, `sync` before every timed step so no step pays for another's write-back),
each tool in a fresh `git init` + `mreg init` (or `git init` + `dvc init`) repository per
run, both tools checking out by copy, through their console scripts:

- a model file of --size-mib (1 GiB): `mreg add m FILE` vs `dvc add FILE`, then a re-add
  with nothing changed, `status`, and `checkout` after deleting the file, with link type
  copy, hardlink and (if `cp --reflink=always` works here) reflink. Limits:
  `openssl dgst -sha256 FILE` (hashing), `cp FILE DEST` (writing), `ln`,
  `cp --reflink=always`;
- a checkpoint folder of --shards files of --shard-mib MiB: add, re-add, status. Limits:
  `openssl dgst -sha256` of all shards, `cp -r` of the folder;
- a folder of --small-files files of --small-kib KiB: add, re-add, status, then (mreg only)
  `checkout` after moving the folder away, and (mreg only) an add of it in one process
  (`MREG_PROCESSES=1`: no helper process). Limit: hashing the same bytes in this Python
  process with one thread (which writes nothing); `cp -r` for reference, the file
  system's own cost of writing that many files. A second row sets the add against the
  add in one process: the issue's "at least 1.5x faster than one thread" read as mreg's
  own speed-up from the second core;
- re-add and status are set against `os.stat` of every file, in this process; for
  reference, `python -c pass` and a Python that imports the standard-library modules
  `mreg status` loads (found by running it), which no command using them can go below;
- peak memory (max RSS, from `wait4`) of `mreg add` of the model file vs `dvc add`, and of
  `mreg add` of a file a quarter that size.

DVC comes from --peers-venv DIR (a venv with `dvc`); without it the peer columns stay
empty. --peer-runs N runs DVC in the first N runs only (it is slow on many small files).
Each tool's output is checked once outside the timings (the card or `.dvc` file, every
cache entry, the restored files, the hard links).

With --baseline-src DIR the mreg steps are also run with mreg imported from DIR (say the
`src/` of an older checkout), interleaved with the installed one in every run, so that a
change is measured against its baseline under the same machine load.

Targets (issues 2 and 6): add <= 0.5x DVC and <= 1.3x max(openssl, cp) (folder of small
files: <= one-thread hash / 1.5, and <= the add in one process / 1.5); re-add and status
<= 0.5x DVC and <= 5% of that shape's first add; checkout <= 0.5x DVC. Prints markdown
tables and writes them, with a short description of the machine, to --out (a `## Notes`
section already in that file is kept), and the suite's rows to benchmarks/rows-add.json.

    python benchmarks/bench_add.py --size-mib 64 --runs 1 --small-files 1000 --shards 4 \\
        --shard-mib 16 --no-write --peers-venv /tmp/mreg-bench-peers
    python benchmarks/bench_add.py --runs 3 --peers-venv /tmp/mreg-bench-peers
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from _results import (
    Row,
    cpu_model,
    find_mreg,
    fs_type,
    verdict,
    write_random,
    write_results,
    write_rows,
)

HERE = Path(__file__).resolve().parent
TARGET = 1.3  # add <= TARGET x max(openssl, cp)
PEER = 0.5  # every operation <= PEER x DVC's
DIR_SPEEDUP = 1.5  # folder of small files: add <= one-thread hash / DIR_SPEEDUP
UNCHANGED = 0.05  # re-add, status <= UNCHANGED x that shape's first add
# Quiet, offline peer: no analytics, no update check.
PEER_ENV = {"DO_NOT_TRACK": "1", "DVC_NO_ANALYTICS": "1"}


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> int:
    """Run cmd; return its peak RSS in KiB (wait4's ru_maxrss: the child and whatever it
    waited for). stderr goes to a temp file so that a chatty child cannot block."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            msg = err.read().decode(errors="replace")[-2000:]
            sys.exit(f"bench_add: {' '.join(cmd)} failed ({proc.returncode}): {msg}")
    return usage.ru_maxrss


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
    elif path.exists() or path.is_symlink():
        path.unlink()


def timed(fn: Callable[[], object]) -> float:
    os.sync()  # write-back of earlier steps is not charged to this one
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def warm(paths: list[Path]) -> None:
    """Read every file once so all timings start from a warm page cache."""
    for p in paths:
        with open(p, "rb", buffering=0) as f:
            while f.read(8 * 1024 * 1024):
                pass


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def hash_files_one_thread(files: list[Path]) -> None:
    for p in files:
        with open(p, "rb", buffering=0) as f:
            hashlib.sha256(f.read()).hexdigest()


def stat_all(files: list[Path]) -> None:
    for p in files:
        os.stat(p)


# `mreg status` run in this interpreter, then the modules loaded, after a marker.
_STATUS_THEN_MODULES = """
import sys
from mreg.cli.main import main
sys.argv = ["mreg", "status"]
try:
    main()
except SystemExit:
    pass
print("modules:", *sys.modules, file=sys.stderr)
"""


def status_modules(repo: Path) -> list[str]:
    """The standard-library modules `mreg status` imports in repo: mreg's own and those
    a bare `python -c pass` has loaded already left out."""

    def modules(code: str) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
        )
        line = [ln for ln in done.stderr.splitlines() if ln.startswith("modules: ")][-1]
        return set(line.split()[1:])

    bare = modules('import sys; print("modules:", *sys.modules, file=sys.stderr)')
    used = modules(_STATUS_THEN_MODULES) - bare
    return sorted(m for m in used if m != "__main__" and m.split(".")[0] != "mreg")


def reflink_works(work: Path) -> bool:
    """Probe: can this file system clone a file (`cp --reflink=always`)?"""
    a, b = work / "reflink-probe-a", work / "reflink-probe-b"
    a.write_bytes(os.urandom(4096))
    res = subprocess.run(["cp", "--reflink=always", str(a), str(b)], capture_output=True)
    a.unlink()
    b.unlink(missing_ok=True)
    return res.returncode == 0


def machine(work: Path, peer: str) -> list[str]:
    cpu = cpu_model()
    fstype = fs_type(work)
    ossl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
    return [
        f"- nproc: {os.cpu_count()}",
        f"- CPU: {cpu}",
        f"- Python: {platform.python_version()} ({sys.executable})",
        f"- temp dir: {work} (file system: {fstype})",
        f"- {ossl}; {platform.platform()}",
        f"- peer: {peer}",
    ]


# --------------------------------------------------------------------------- the tools


@dataclass
class Tool:
    """One registry under test: the installed mreg, a --baseline-src mreg, or DVC."""

    name: str  # "" (installed mreg), "baseline", "dvc"
    exe: str
    env: dict[str, str] | None

    @property
    def tag(self) -> str:
        """Prefix of this tool's time keys."""
        return f"{self.name}:" if self.name else ""

    @property
    def dvc(self) -> bool:
        return self.name == "dvc"

    def new_repo(self, repo: Path, site: Path) -> None:
        """A brand-new git repository at repo with mreg or DVC set to check out by copy."""
        repo.mkdir()
        run(["git", "init", "-q"], repo)
        if self.dvc:
            run([self.exe, "init", "-q"], repo, self.env)
            (repo / ".dvc" / "config").write_text(
                "[core]\n    analytics = false\n    check_update = false\n"
                f"    site_cache_dir = {site}\n[cache]\n    type = copy\n"
            )
        else:
            run([self.exe, "init"], repo, self.env)
        self.set_link(repo, "copy")

    def set_link(self, repo: Path, kind: str) -> None:
        """cache.link: [kind] in .mreg/config.yaml, or cache.type = kind in .dvc/config."""
        if self.dvc:
            cfg, pattern, new = (
                repo / ".dvc" / "config",
                r"(?m)^    type = \w+$",
                f"    type = {kind}",
            )
        else:
            cfg, pattern, new = (
                repo / ".mreg" / "config.yaml",
                r"(?m)^  link: \[.*\]",
                f"  link: [{kind}]",
            )
        text, n = re.subn(pattern, new, cfg.read_text())
        if n != 1:
            sys.exit(f"bench_add: could not set the link type to {kind} in {cfg}")
        cfg.write_text(text)

    def add(self, model: str, path: str) -> list[str]:
        return [self.exe, "add", path] if self.dvc else [self.exe, "add", model, path]

    def status(self) -> list[str]:
        return [self.exe, "status"]

    def checkout(self, model: str) -> list[str]:
        return [self.exe, "checkout"] if self.dvc else [self.exe, "checkout", model]

    def cache(self, repo: Path) -> Path:
        return repo / (".dvc" if self.dvc else ".mreg") / "cache"


def check_added(tool: Tool, repo: Path, model: str, path: str, files: int, size: int) -> None:
    """Outside the timings: the tool wrote its record (card / .dvc file) and every cache
    entry, with the right number of files and bytes."""
    cache = tool.cache(repo)
    if tool.dvc:
        out = yaml.safe_load((repo / f"{path}.dvc").read_text())["outs"][0]
        md5 = out["md5"]
        if out.get("nfiles", 1) != files or out["size"] != size:
            sys.exit(f"bench_add: {path}.dvc says {out.get('nfiles', 1)} files, {out['size']} B")
        blob = cache / "files" / "md5" / md5[:2] / md5[2:]
        entries = [(e["md5"], None) for e in json.loads(blob.read_text())] if files > 1 else []
        entries = entries or [(md5, size)]
        paths = [(cache / "files" / "md5" / m[:2] / m[2:], s) for m, s in entries]
    else:
        art = yaml.safe_load((repo / ".mreg" / "models" / f"{model}.yaml").read_text())["artifact"]
        if art["size"] != size or art["kind"] != ("dir" if files > 1 else "file"):
            sys.exit(f"bench_add: card of {model}: {art['kind']}, {art['size']} B")
        hexd = art["oid"].split(":", 1)[1]
        blob = cache / "sha256" / hexd[:2] / hexd[2:]
        if files > 1:
            entries = [
                (e["oid"].split(":", 1)[1], e["size"])
                for e in json.loads(blob.read_text())["files"]
            ]
        else:
            entries = [(hexd, size)]
        paths = [(cache / "sha256" / h[:2] / h[2:], s) for h, s in entries]
    if len(paths) != files:
        sys.exit(f"bench_add: {tool.name or 'mreg'} recorded {len(paths)} files, not {files}")
    for p, s in paths:
        if not p.is_file() or (s is not None and p.stat().st_size != s):
            sys.exit(f"bench_add: {tool.name or 'mreg'}: cache entry {p} missing or wrong size")


# --------------------------------------------------------------------------- the runs


class Bench:
    """Runs the steps and keeps every time (and peak RSS), by key: `add`, `dvc:add`, ..."""

    def __init__(self, args: argparse.Namespace, mreg: str, work: Path, dvc: str | None) -> None:
        self.args = args
        self.work = work
        self.site = work / "dvc-site"  # DVC's site cache, not /var/tmp
        self.size = args.size_mib * 1024 * 1024
        self.shard = args.shard_mib * 1024 * 1024
        self.times: dict[str, list[float]] = {}
        self.rss: dict[str, list[float]] = {}  # MiB
        self.tools = [Tool("", mreg, None)]
        if args.baseline_src:
            env = dict(os.environ, PYTHONPATH=str(args.baseline_src.resolve()))
            self.tools.append(Tool("baseline", mreg, env))
        if dvc:
            self.tools.append(Tool("dvc", dvc, dict(os.environ, **PEER_ENV)))
        self.reflink = reflink_works(work)
        self.checked: set[str] = set()
        self.big = work / "model.bin"
        self.quarter = work / "quarter.bin"
        self.ckpt = work / "ckpt"
        self.folder = work / "folder"
        self.spares = [work / "spare.bin"]  # freed before the next write
        self.status_modules: list[str] | None = None

    def note(self, key: str, seconds: float) -> None:
        self.times.setdefault(key, []).append(seconds)
        print(f"  {key}: {seconds:.3f}s", file=sys.stderr)

    def timed_run(self, key: str, cmd: list[str], cwd: Path, env: dict[str, str] | None) -> None:
        rss = [0]

        def go() -> None:
            rss[0] = run(cmd, cwd, env)

        self.note(key, timed(go))
        self.rss.setdefault(key, []).append(rss[0] / 1024)

    def free_spares(self) -> None:
        for p in self.spares:
            free(p)
        self.spares = []

    def prepare(self) -> None:
        write_random(self.big, self.size)
        shutil.copyfile(self.big, self.spares[0])
        write_random(self.quarter, self.size // 4)
        for i in range(self.args.shards):
            write_random(self.ckpt / f"shard-{i:05d}-of-{self.args.shards:05d}.bin", self.shard)
        small = self.args.small_kib * 1024
        for i in range(self.args.small_files):
            p = self.folder / f"{i // 1000:02d}" / f"f{i:05d}.bin"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(os.urandom(small))
        warm([self.big, self.quarter, *files_in(self.ckpt), *files_in(self.folder)])

    def tools_for(self, i: int) -> list[Tool]:
        """This run's tools, rotated so that none always goes first."""
        tools = [t for t in self.tools if not t.dvc or i < self.args.peer_runs]
        k = i % len(tools)
        return tools[k:] + tools[:k]

    def one_run(self, i: int) -> None:
        """One run. Nothing is deleted before the end but big files: on ext4 without a
        journal (this VM's disk) creating a file scans past inodes freed in the last
        minutes, so deleting 10,000 blobs would slow the next 10,000 creates."""
        tools = self.tools_for(i)
        self.limits_big(i)
        for tool in tools:
            self.big_steps(i, tool)
        self.quarter_add(i)
        self.limits_shards(i)
        for tool in tools:
            self.shard_steps(i, tool)
        self.limits_dir(i)
        for tool in tools:
            self.dir_steps(i, tool)

    # ----------------------------------------------------------------- the model file

    def limits_big(self, i: int) -> None:
        work, big = self.work, self.big
        self.timed_run("openssl", ["openssl", "dgst", "-sha256", str(big)], work, None)
        self.free_spares()
        dest = work / f"copy{i}.bin"
        self.timed_run("cp", ["cp", str(big), str(dest)], work, None)
        self.spares = [dest]
        self.note("stat", timed(lambda: stat_all([big])))
        link = work / f"ln{i}.bin"
        self.timed_run("ln", ["ln", str(big), str(link)], work, None)
        link.unlink()
        if self.reflink:
            clone = work / f"reflink{i}.bin"
            self.timed_run("reflink", ["cp", "--reflink=always", str(big), str(clone)], work, None)
            clone.unlink()

    def big_steps(self, i: int, tool: Tool) -> None:
        tag, env = tool.tag, tool.env
        repo = self.work / f"r{i}{tool.name}"
        tool.new_repo(repo, self.site)
        wt = repo / "model.bin"
        self.big = self.big.rename(wt)
        self.free_spares()
        self.timed_run(f"{tag}add", tool.add("m", "model.bin"), repo, env)
        if f"{tag}add" not in self.checked:
            check_added(tool, repo, "m", "model.bin", 1, self.size)
            self.checked.add(f"{tag}add")
        self.timed_run(f"{tag}readd", tool.add("m", "model.bin"), repo, env)
        self.timed_run(f"{tag}status", tool.status(), repo, env)
        if not tool.name:  # what an unchanged re-add or status cannot go below
            self.startup_floor(repo)

        free(wt)
        self.timed_run(f"{tag}checkout", tool.checkout("m"), repo, env)
        if not wt.is_file() or wt.stat().st_size != self.size or wt.stat().st_nlink != 1:
            sys.exit(f"bench_add: {tool.name or 'mreg'} checkout (copy) did not restore a copy")
        # The copy made by checkout goes on to the next tool; the links below share the blob.
        self.big = wt.rename(self.work / f"model-{i}{tool.name}.bin")
        if self.reflink:
            tool.set_link(repo, "reflink")
            self.timed_run(f"{tag}checkout_rl", tool.checkout("m"), repo, env)
            if not wt.is_file() or wt.stat().st_size != self.size or wt.stat().st_nlink != 1:
                sys.exit(f"bench_add: {tool.name or 'mreg'} checkout (reflink) did not restore")
            wt.unlink()
        tool.set_link(repo, "hardlink")
        self.timed_run(f"{tag}checkout_hl", tool.checkout("m"), repo, env)
        if not wt.is_file() or wt.stat().st_nlink < 2:
            sys.exit(f"bench_add: {tool.name or 'mreg'} checkout (hardlink) made no hard link")
        self.spares = [tool.cache(repo), wt]

    def startup_floor(self, repo: Path) -> None:
        """Time `python -c pass`, and Python importing the standard-library modules that
        `mreg status` loads (found in this repository, once): the floor of any command
        that needs them, whatever mreg does with them."""
        if self.status_modules is None:
            self.status_modules = status_modules(repo)
        py = sys.executable
        self.timed_run("pypass", [py, "-c", "pass"], repo, None)
        imports = "import " + ", ".join(self.status_modules)
        self.timed_run("pystdlib", [py, "-c", imports], repo, None)

    def quarter_add(self, i: int) -> None:
        """`mreg add` of a file a quarter of the model's size: its peak RSS."""
        tool = self.tools[0]
        repo = self.work / f"q{i}"
        tool.new_repo(repo, self.site)
        self.quarter = self.quarter.rename(repo / "quarter.bin")
        self.timed_run("addq", tool.add("q", "quarter.bin"), repo, None)

    # ----------------------------------------------------------------- the checkpoint

    def limits_shards(self, i: int) -> None:
        shards = files_in(self.ckpt)
        cmd = ["openssl", "dgst", "-sha256", *map(str, shards)]
        self.timed_run("opensslsh", cmd, self.work, None)
        self.free_spares()
        dest = self.work / f"cpsh{i}"
        self.timed_run("cprsh", ["cp", "-r", str(self.ckpt), str(dest)], self.work, None)
        self.spares = [dest]
        self.note("statsh", timed(lambda: stat_all(shards)))

    def shard_steps(self, i: int, tool: Tool) -> None:
        tag, env = tool.tag, tool.env
        repo = self.work / f"s{i}{tool.name}"
        tool.new_repo(repo, self.site)
        self.ckpt = self.ckpt.rename(repo / "ckpt")
        self.free_spares()
        self.timed_run(f"{tag}addsh", tool.add("c", "ckpt"), repo, env)
        if f"{tag}addsh" not in self.checked:
            total = self.args.shards * self.shard
            check_added(tool, repo, "c", "ckpt", self.args.shards, total)
            self.checked.add(f"{tag}addsh")
        self.timed_run(f"{tag}readdsh", tool.add("c", "ckpt"), repo, env)
        self.timed_run(f"{tag}statussh", tool.status(), repo, env)
        self.spares = [tool.cache(repo)]

    # ----------------------------------------------------------------- the small files

    def limits_dir(self, i: int) -> None:
        files = files_in(self.folder)
        self.note("pyhash", timed(lambda: hash_files_one_thread(files)))
        target = self.work / f"cpr{i}"
        self.timed_run("cpr", ["cp", "-r", str(self.folder), str(target)], self.work, None)
        self.note("statdir", timed(lambda: stat_all(files)))

    def dir_steps(self, i: int, tool: Tool) -> None:
        tag, env = tool.tag, tool.env
        drepo = self.work / f"d{i}{tool.name}"
        tool.new_repo(drepo, self.site)
        self.folder = self.folder.rename(drepo / "folder")
        self.timed_run(f"{tag}adddir", tool.add("d", "folder"), drepo, env)
        if f"{tag}adddir" not in self.checked:
            n, kib = self.args.small_files, self.args.small_kib
            check_added(tool, drepo, "d", "folder", n, n * kib * 1024)
            self.checked.add(f"{tag}adddir")
        self.timed_run(f"{tag}readddir", tool.add("d", "folder"), drepo, env)
        self.timed_run(f"{tag}statusdir", tool.status(), drepo, env)
        if not tool.name:  # not with --baseline-src: a thread per copy made it ~11 ms a file
            self.folder.rename(self.work / f"away{i}")  # moved, not deleted: see one_run
            self.timed_run("checkoutdir", tool.checkout("d"), drepo, env)
            if len(files_in(self.folder)) != self.args.small_files:
                sys.exit("bench_add: checkout did not restore the folder")
        if not tool.dvc:
            self.timed_run(f"{tag}startup", [tool.exe, "ls"], drepo, env)
        if not tool.name:  # mreg without its helper process: what the helper saves
            one = self.work / f"d{i}one"
            tool.new_repo(one, self.site)
            self.folder = self.folder.rename(one / "folder")
            alone = dict(env or os.environ, MREG_PROCESSES="1")
            self.timed_run("adddir1", tool.add("d", "folder"), one, alone)

    # ----------------------------------------------------------------- results

    def med(self, key: str) -> float | None:
        t = self.times.get(key)
        return statistics.median(t) if t else None

    def med_rss(self, key: str) -> float | None:
        t = self.rss.get(key)
        return statistics.median(t) if t else None

    def rows(self) -> list[Row]:
        """The suite's rows: mreg against DVC and the limit, one row per operation."""
        a, m = self.args, self.med
        gib = f"{a.size_mib / 1024:g} GiB" if a.size_mib >= 1024 else f"{a.size_mib} MiB"
        ckpt = f"{a.shards} x {a.shard_mib} MiB"
        small = f"{a.small_files} x {a.small_kib} KiB"
        lim_big = max(m("openssl") or 0, m("cp") or 0)
        lim_sh = max(m("opensslsh") or 0, m("cprsh") or 0)
        out: list[Row] = []

        def both(*parts: bool | None) -> bool | None:
            if any(p is False for p in parts):
                return False
            return None if any(p is None for p in parts) else True

        for key, what, limit, limit_name in (
            ("add", f"add one {gib} file", lim_big, "max(openssl dgst -sha256, cp)"),
            (
                "addsh",
                f"add a checkpoint of {ckpt} shards",
                lim_sh,
                "max(openssl dgst -sha256, cp -r)",
            ),
            (
                "adddir",
                f"add a folder of {small} files",
                m("pyhash"),
                "sha256, 1 Python thread, no writes",
            ),
        ):
            mreg, peer = m(key), m(f"dvc:{key}")
            if key == "adddir":
                target = f"<= {PEER}x peer, <= limit/{DIR_SPEEDUP}"
                met = both(verdict(mreg, peer, PEER), verdict(mreg, limit, 1 / DIR_SPEEDUP))
            else:
                target = f"<= {PEER}x peer, <= {TARGET}x limit"
                met = both(verdict(mreg, peer, PEER), verdict(mreg, limit, TARGET))
            out.append(Row(what, mreg, peer, "dvc add", limit, limit_name, target, met))
        out.append(
            Row(
                f"add a folder of {small} files, against itself in one process",
                m("adddir"),
                limit=m("adddir1"),
                limit_name="mreg add, MREG_PROCESSES=1",
                target=f"<= limit/{DIR_SPEEDUP}",
                met=verdict(m("adddir"), m("adddir1"), 1 / DIR_SPEEDUP),
            )
        )
        for suffix, stat, shape in (
            ("", "stat", gib + " file"),
            ("sh", "statsh", ckpt),
            ("dir", "statdir", small),
        ):
            first = m(f"add{suffix}")
            for op, key, peer_name in (
                ("re-add, unchanged", f"readd{suffix}", "dvc add (again)"),
                ("status, unchanged", f"status{suffix}", "dvc status"),
            ):
                mreg, peer = m(key), m(f"dvc:{key}")
                met = both(verdict(mreg, peer, PEER), verdict(mreg, first, UNCHANGED))
                out.append(
                    Row(
                        f"{op}: {shape}",
                        mreg,
                        peer,
                        peer_name,
                        m(stat),
                        "os.stat of every file",
                        f"<= {PEER}x peer, <= {UNCHANGED:.0%} of first add",
                        met,
                    )
                )
        for kind, key, lim, lim_name in (
            ("copy", "checkout", "cp", "cp"),
            ("hardlink", "checkout_hl", "ln", "ln"),
            ("reflink", "checkout_rl", "reflink", "cp --reflink=always"),
        ):
            if m(key) is None:
                continue  # reflink: not on this file system
            mreg, peer = m(key), m(f"dvc:{key}")
            out.append(
                Row(
                    f"checkout {gib} file ({kind}), file deleted",
                    mreg,
                    peer,
                    f"dvc checkout ({kind})",
                    m(lim),
                    lim_name,
                    f"<= {PEER}x peer",
                    verdict(mreg, peer, PEER),
                )
            )
        q = f"{a.size_mib // 4} MiB"
        out.append(
            Row(
                f"peak RSS: add one {gib} file",
                self.med_rss("add"),
                self.med_rss("dvc:add"),
                "dvc add",
                unit="MiB",
            )
        )
        out.append(Row(f"peak RSS: add one {q} file (a quarter)", self.med_rss("addq"), unit="MiB"))
        return out

    def step_rows(self) -> list[tuple[str, str]]:
        """(key, label) of every step measured, for the detailed table."""
        a = self.args
        mib, n, kib = a.size_mib, a.small_files, a.small_kib
        ckpt = f"{a.shards} x {a.shard_mib} MiB"
        labels = [
            ("openssl", f"`openssl dgst -sha256` {mib} MiB (hashing limit)"),
            ("cp", f"`cp` {mib} MiB (writing limit)"),
            ("ln", f"`ln` {mib} MiB (hardlink checkout limit)"),
            ("reflink", f"`cp --reflink=always` {mib} MiB (reflink checkout limit)"),
            ("stat", "`os.stat` of that file (unchanged limit)"),
            ("add", f"`mreg add` {mib} MiB, fresh repo"),
            ("readd", "`mreg add` again, unchanged"),
            ("status", "`mreg status` after add"),
            ("checkout", f"`mreg checkout` {mib} MiB (copy), file deleted"),
            ("checkout_rl", f"`mreg checkout` {mib} MiB (reflink), file deleted"),
            ("checkout_hl", f"`mreg checkout` {mib} MiB (hardlink), file deleted"),
            ("addq", f"`mreg add` {mib // 4} MiB (for its peak RSS)"),
            ("opensslsh", f"`openssl dgst -sha256` of {ckpt} shards (hashing limit)"),
            ("cprsh", "`cp -r` of that checkpoint (writing limit)"),
            ("statsh", "`os.stat` of its shards (unchanged limit)"),
            ("addsh", f"`mreg add` checkpoint of {ckpt}, fresh repo"),
            ("readdsh", "`mreg add` again, unchanged"),
            ("statussh", "`mreg status` after add"),
            ("pyhash", f"sha256 of {n} x {kib} KiB files, 1 Python thread (dir limit)"),
            ("cpr", f"`cp -r` of that folder (writing {n} files, reference)"),
            ("statdir", "`os.stat` of its files (unchanged limit)"),
            ("adddir", f"`mreg add` folder of {n} x {kib} KiB files"),
            ("adddir1", "`mreg add` of that folder in one process (`MREG_PROCESSES=1`)"),
            ("readddir", "`mreg add` again, unchanged"),
            ("statusdir", "`mreg status` after add"),
            ("checkoutdir", "`mreg checkout` of that folder (copy), folder moved away"),
            ("startup", "`mreg ls` (startup floor, reference)"),
            ("pypass", "`python -c pass` (reference)"),
            ("pystdlib", "`python -c 'import ...'` of the standard modules `mreg status` loads"),
        ]
        return [(k, lab) for k, lab in labels if k in self.times]


def fmt(x: float | None, unit: str = "s") -> str:
    if x is None:
        return ""
    if unit == "MiB":
        return f"{x:.0f}"
    return f"{x:.3f}" if x >= 0.01 else f"{x:.2g}"  # stat of one file: ~1e-05 s


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return ""
    return f"{a / b:.2f}x" if a / b < 100 else f"{a / b:.0f}x"


def report(args: argparse.Namespace, bench: Bench, desc: list[str], load: str) -> None:
    rows = bench.rows()
    lines = [
        "| operation | mreg | peer (DVC) | limit | mreg/peer | mreg/limit | target | met |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        unit = " MiB" if r.unit == "MiB" else ""
        peer = f"{fmt(r.peer, r.unit)}{unit}" if r.peer is not None else ""
        lim = f"{fmt(r.limit, r.unit)} ({r.limit_name})" if r.limit is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[r.met]
        lines.append(
            f"| {r.operation} | {fmt(r.mreg, r.unit)}{unit} | {peer} | {lim} | "
            f"{ratio(r.mreg, r.peer)} | {ratio(r.mreg, r.limit)} | {r.target} | {met} |"
        )
    peer_runs = min(args.runs, args.peer_runs)
    lines += [
        "",
        f"Times in seconds, median of {args.runs} runs (DVC: {peer_runs}); "
        "peak RSS from `wait4`. Load average (1 min) at start and end: " + load + ".",
        "",
        "### Every step",
        "",
    ]
    base = args.baseline_src is not None
    dvc = any(t.dvc for t in bench.tools)
    head = "| step | median s | min s |"
    rule = "|---|---:|---:|"
    if dvc:
        head += " DVC median s | DVC min s |"
        rule += "---:|---:|"
    if base:
        head += " baseline median s | speed-up |"
        rule += "---:|---:|"
    lines += [head, rule]
    for key, label in bench.step_rows():
        t = bench.times[key]
        row = f"| {label} | {statistics.median(t):.3f} | {min(t):.3f} |"
        if dvc:
            d = bench.times.get(f"dvc:{key}")
            row += f" {statistics.median(d):.3f} | {min(d):.3f} |" if d else " | |"
        if base:
            b = bench.times.get(f"baseline:{key}")
            mb = statistics.median(b) if b else None
            row += f" {mb:.3f} | {mb / statistics.median(t):.2f}x |" if mb else " | |"
        lines.append(row)
    if not bench.reflink:
        lines += ["", "No reflink rows: `cp --reflink=always` fails on this file system."]
    if base:
        lines.append(f"Baseline: mreg imported from `{args.baseline_src}`, interleaved.")
    table = "\n".join(lines)
    print(table)
    if args.no_write:
        return
    write_results(
        args.out, "mreg add: speed against the hardware limits and DVC", "bench_add.py", desc, table
    )
    write_rows("add", rows)


def peer_version(dvc: str) -> str:
    res = subprocess.run(
        [dvc, "--version"], capture_output=True, text=True, env=dict(os.environ, **PEER_ENV)
    )
    return f"dvc {res.stdout.strip()} ({dvc}), cache.type copy unless stated"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024, help="size of the big file")
    ap.add_argument("--runs", type=int, default=5, help="runs per operation (median)")
    ap.add_argument("--small-files", type=int, default=10_000, help="files in the folder")
    ap.add_argument("--small-kib", type=int, default=1, help="size of each small file")
    ap.add_argument("--shards", type=int, default=20, help="files in the checkpoint")
    ap.add_argument("--shard-mib", type=int, default=100, help="size of each shard")
    ap.add_argument("--peers-venv", type=Path, help="a venv with dvc: compare with it")
    ap.add_argument("--peer-runs", type=int, default=1 << 30, help="run DVC in this many runs only")
    ap.add_argument("--work", type=Path, default=HERE / ".work", help="temp dir parent")
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the temp folder (run.py deletes it after the last script: deleting"
        " 100,000 files slows file creation for minutes on this disk)",
    )
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
    dvc = None
    if args.peers_venv:
        dvc = str((args.peers_venv / "bin" / "dvc").absolute())
        if not Path(dvc).exists():
            sys.exit(f"bench_add: no dvc in {args.peers_venv}/bin")

    mreg = find_mreg("bench_add")
    args.work.mkdir(parents=True, exist_ok=True)
    work = args.work / f"bench-add-{os.getpid()}"
    work.mkdir()
    load = [f"{os.getloadavg()[0]:.1f}"]
    bench = Bench(args, mreg, work, dvc)
    try:
        bench.prepare()
        for i in range(args.runs):
            print(f"run {i + 1}/{args.runs}", file=sys.stderr)
            bench.one_run(i)
        desc = machine(args.work, peer_version(dvc) if dvc else "none (no --peers-venv)")
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    load.append(f"{os.getloadavg()[0]:.1f}")
    report(args, bench, desc, " / ".join(load))


if __name__ == "__main__":
    main()
