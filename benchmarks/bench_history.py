"""Benchmark mreg's history commands against DVC, GTO and git (issue 3's speed clause).

Builds ONE generated repository in a temp folder under /tmp (deleted at the end unless
--keep) and runs every tool on it:

- --models models (m000, m001, ...) with --metrics metrics each; --commits commits, made
  with one `git fast-import` stream (author and committer dates pinned). The first commit
  registers every model at v1; each later commit makes a new version of m000 and of
  --changes other models (new artifact oid, new metrics), so m000 has one version per
  commit. Cards are real mreg cards (written by `mreg.card.dump`); the same metrics are
  also written to `metrics/mNNN.json`, listed under `metrics:` in `dvc.yaml`, so
  `dvc metrics diff` reads the same numbers;
- --tags annotated stage tags `NAME#STAGE#N` (GTO's convention, which mreg shares) on
  commits where that model got a version, spread over the models, counters and tag
  dates increasing; plus an annotated version tag `m000@vN` on each commit of m000
  (GTO ignores those: its version tags are semver, `m000@v1.2.3`; it reads the stage
  tags, each one's commit becoming an unregistered version). No `artifacts.yaml`: GTO
  needs only the tags, and the file would only add per-commit work to GTO's side.

Then it times, median of --runs (interleaved, so noise hits every tool alike), each
command a fresh process with stdout to /dev/null (wall time, and the CPU time of the
process and its children, which a busy machine disturbs less):

- `mreg diff HEAD~1 HEAD` vs `dvc metrics diff HEAD~1 HEAD`; limit: one Python process
  that lists both trees (`git ls-tree` x2), reads every card through one
  `git cat-file --batch` and YAML-parses each (C loader);
- `mreg log m000` vs `gto history m000`; limit:
  `git log --format=%H -- .mreg/models/m000.yaml`;
- `mreg stages` vs `gto show`; limit: `git tag -l`;
- start-up floors: `python -c pass`, `mreg --version`, and `mreg check-ref refs/heads/x`
  (the whole typer CLI, doing nothing: the floor of any mreg command).

Targets: each mreg command <= 0.5 x its peer's time (issue 6; issue 3 asked for 1/3);
`mreg stages` < 0.5 s. DVC and GTO are installed into their own venv under the temp
folder (or --peers-venv), never into mreg's. Prints a markdown table and writes it, with
the machine, to --out (a `## Notes` section already in that file is kept), and the
suite's rows to benchmarks/rows-history.json (for run.py).

    python benchmarks/bench_history.py --no-peers --commits 50 --runs 3   # a quick try
    python benchmarks/bench_history.py                                    # full size
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _results import (
    Row,
    find_mreg,
    machine_lines,
    peers_venv,
    pip_versions,
    ratio,
    run_ok,
    verdict,
    write_results,
    write_rows,
)

HERE = Path(__file__).resolve().parent
PEER_FACTOR = 0.5  # issue 6: every row at most half of the peer's time
PEER_RATIO_ISSUE3 = 1 / 3
STAGES_ABS = 0.5
STAGE_NAMES = ("dev", "staging", "prod")
EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z
WHO = "Bench <bench@example.com>"

# Quiet, offline peers: no analytics, no update check.
PEER_ENV = {"DO_NOT_TRACK": "1", "DVC_NO_ANALYTICS": "1", "GTO_NO_ANALYTICS": "1"}

LIMIT_DIFF = r"""
import subprocess, sys, yaml
repo, revs = sys.argv[1], sys.argv[2:]
loader = yaml.CSafeLoader
shas = []
for rev in revs:
    out = subprocess.run(["git", "-C", repo, "ls-tree", "-z", rev, ".mreg/models/"],
                         capture_output=True, check=True).stdout
    shas += [rec.split(b"\t")[0].split()[2] for rec in out.split(b"\0") if rec]
p = subprocess.Popen(["git", "-C", repo, "cat-file", "--batch"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
buf, _ = p.communicate(b"".join(s + b"\n" for s in shas))
at = 0
docs = []
for _ in shas:
    nl = buf.index(b"\n", at)
    size = int(buf[at:nl].split()[2])
    docs.append(yaml.load(buf[nl + 1 : nl + 1 + size].decode(), Loader=loader))
    at = nl + 1 + size + 1
assert len(docs) == len(shas)
"""


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    return run_ok("bench_history", cmd, cwd, env)


# --------------------------------------------------------------------------- the repository


@dataclass
class Shape:
    """What the generator made, for the sanity checks."""

    commits: int = 0
    version_tags: int = 0
    stage_tags: int = 0
    live_stages: int = 0
    m000_stage_events: int = 0
    last_changed_metrics: int = 0
    seconds: float = 0.0
    versions: dict[str, int] = field(default_factory=dict)


class Stream:
    """A `git fast-import` stream in memory."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def line(self, text: str) -> None:
        self.parts.append(text.encode() + b"\n")

    def data(self, payload: bytes) -> None:
        self.parts.append(b"data %d\n" % len(payload) + payload + b"\n")

    def bytes(self) -> bytes:
        return b"".join(self.parts)


def card_text(name: str, version: int, metrics: dict[str, float], at: int) -> bytes:
    from mreg import card as card_mod

    oid = "sha256:" + hashlib.sha256(f"{name}-{version}".encode()).hexdigest()
    card = card_mod.Card(
        name=name,
        version=version,
        artifact=card_mod.Artifact(
            path=f"models/{name}.pkl", oid=oid, kind="file", size=100_000 + version, files=1
        ),
        registered=card_mod.Registered(
            at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)), by=WHO, dirty=False
        ),
        framework={"name": "sklearn", "version": "1.5.2"},
        params={"lr": 0.01, "depth": 6 + version % 4},
        metrics=metrics,
    )
    text = card_mod.dump(card)
    card_mod.loads(text, expected_name=name)  # a valid card, or this raises
    return text.encode()


def metrics_json(metrics: dict[str, float]) -> bytes:
    return (json.dumps(metrics, indent=2) + "\n").encode()


def build_repo(repo: Path, args: argparse.Namespace) -> Shape:
    """Write the repository with one `git fast-import` run; returns what it holds."""
    from mreg.config import DEFAULT_CONFIG_TEXT
    from mreg.project import GITIGNORE_TEXT

    t0 = time.perf_counter()
    rng = random.Random(args.seed)
    names = [f"m{i:03d}" for i in range(args.models)]
    keys = [f"metric_{k:02d}" for k in range(args.metrics)]

    def new_metrics() -> dict[str, float]:
        return {k: round(rng.random(), 6) for k in keys}

    shape = Shape()
    s = Stream()
    version = dict.fromkeys(names, 0)
    version_commits: dict[str, list[tuple[int, int]]] = {n: [] for n in names}  # (mark, v)
    changed_metrics = 0
    current: dict[str, dict[str, float]] = {}
    for i in range(1, args.commits + 1):
        when = EPOCH + i * 60
        if i == 1:
            changing = names
            msg = f"register {len(names)} models"
        else:
            others = rng.sample(names[1:], k=min(args.changes, len(names) - 1))
            changing = [names[0], *sorted(others)]
            msg = "train " + ", ".join(changing)
        s.line("commit refs/heads/main")
        s.line(f"mark :{i}")
        s.line(f"author {WHO} {when} +0000")
        s.line(f"committer {WHO} {when} +0000")
        s.data(msg.encode() + b"\n")
        if i > 1:
            s.line(f"from :{i - 1}")
        files: list[tuple[str, bytes]] = []
        if i == 1:
            files += [
                (".mreg/config.yaml", DEFAULT_CONFIG_TEXT.encode()),
                (".mreg/.gitignore", GITIGNORE_TEXT.encode()),
                (".dvc/config", b"[core]\n    analytics = false\n    check_update = false\n"),
                (".dvc/.gitignore", b"/config.local\n/tmp\n/cache\n"),
                (".dvcignore", b"# DVC ignore file\n"),
                (
                    "dvc.yaml",
                    ("metrics:\n" + "".join(f"- metrics/{n}.json\n" for n in names)).encode(),
                ),
            ]
        changed_metrics = 0
        for n in changing:
            version[n] += 1
            m = new_metrics()
            if n in current:
                changed_metrics += sum(1 for k in keys if m[k] != current[n][k])
            current[n] = m
            version_commits[n].append((i, version[n]))
            files.append((f".mreg/models/{n}.yaml", card_text(n, version[n], m, when)))
            files.append((f"metrics/{n}.json", metrics_json(m)))
        for path, payload in files:
            s.line(f"M 100644 inline {path}")
            s.data(payload)
        s.line("")
    shape.commits = args.commits
    shape.last_changed_metrics = changed_metrics
    shape.versions = dict(version)

    tag_time = EPOCH + (args.commits + 1) * 60
    for mark, v in version_commits[names[0]]:
        s.line(f"tag {names[0]}@v{v}")
        s.line(f"from :{mark}")
        s.line(f"tagger {WHO} {EPOCH + mark * 60 + 30} +0000")
        s.data(f"mreg: {names[0]} v{v}\n".encode())
        shape.version_tags += 1

    # Stage tags: spread over the models, on commits of their versions, oldest first.
    planned: list[tuple[int, str, int, str, int]] = []  # (mark, name, counter, stage, v)
    for idx, n in enumerate(names):
        count = args.tags // len(names) + (1 if idx < args.tags % len(names) else 0)
        targets = sorted(rng.choices(version_commits[n], k=count))
        live: dict[str, int] = {}
        for j, (mark, v) in enumerate(targets):
            stage = STAGE_NAMES[j % len(STAGE_NAMES)]
            planned.append((mark, n, j + 1, stage, v))
            live[stage] = v
        shape.live_stages += len(live)
        if n == names[0]:
            shape.m000_stage_events = count
    for seq, (mark, n, counter, stage, v) in enumerate(sorted(planned)):
        s.line(f"tag {n}#{stage}#{counter}")
        s.line(f"from :{mark}")
        s.line(f"tagger {WHO} {tag_time + seq} +0000")
        s.data(f"mreg: promote {n} v{v} to {stage}\n".encode())
        shape.stage_tags += 1

    repo.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], repo)
    run(["git", "config", "user.name", "Bench"], repo)
    run(["git", "config", "user.email", "bench@example.com"], repo)
    res = subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=repo, input=s.bytes(), capture_output=True
    )
    if res.returncode != 0:
        sys.exit(f"bench_history: git fast-import failed: {res.stderr.decode()[-2000:]}")
    # The state of a fresh clone: one pack, packed refs, a checked-out work tree.
    run(["git", "repack", "-adq"], repo)
    run(["git", "pack-refs", "--all", "--prune"], repo)
    run(["git", "reset", "-q", "--hard", "main"], repo)
    shape.seconds = time.perf_counter() - t0
    return shape


# --------------------------------------------------------------------------- peers


@dataclass
class Peers:
    dvc: str | None = None
    gto: str | None = None
    error: str | None = None
    versions: str = ""


def install_peers(tmp: Path, venv: Path | None) -> Peers:
    """DVC and GTO in their own venv: --peers-venv if it has them, else a new one in tmp."""
    venv, error = peers_venv(tmp, venv, ("dvc", "gto"))
    if error is not None:
        return Peers(error=error)
    dvc, gto = venv / "bin" / "dvc", venv / "bin" / "gto"
    if not (dvc.exists() and gto.exists()):
        return Peers(error=f"no dvc or gto in {venv}/bin")
    versions = pip_versions(venv, ("dvc", "gto", "scmrepo", "pygit2"))
    return Peers(dvc=str(dvc), gto=str(gto), versions=versions)


# --------------------------------------------------------------------------- checks, timing


def sanity(repo: Path, mreg: str, peers: Peers, shape: Shape, env: dict[str, str]) -> None:
    """Every tool sees the data the generator wrote (or the comparison would be unfair)."""
    log = json.loads(run([mreg, "log", "m000", "--json"], repo))
    if len(log["entries"]) != shape.commits:
        sys.exit(f"bench_history: mreg log m000 shows {len(log['entries'])} commits")
    stages = json.loads(run([mreg, "stages", "--json"], repo))["stages"]
    if len(stages) != shape.live_stages:
        sys.exit(f"bench_history: mreg stages shows {len(stages)}, expected {shape.live_stages}")
    diff = json.loads(run([mreg, "diff", "HEAD~1", "HEAD", "--json"], repo))
    mreg_metrics = sum(len(m.get("metrics", {})) for m in diff.values())
    if mreg_metrics != shape.last_changed_metrics:
        sys.exit(f"bench_history: mreg diff shows {mreg_metrics} metric changes")
    if peers.dvc is None or peers.gto is None:
        return
    ddiff = json.loads(run([peers.dvc, "metrics", "diff", "HEAD~1", "HEAD", "--json"], repo, env))
    dvc_metrics = sum(len(v) for v in ddiff.values())
    if dvc_metrics != shape.last_changed_metrics:
        sys.exit(f"bench_history: dvc metrics diff shows {dvc_metrics} metric changes")
    hist = json.loads(run([peers.gto, "history", "m000", "--json"], repo, env))
    assigned = [e for e in hist if e.get("event") == "assignment"]
    if len(assigned) != shape.m000_stage_events:
        sys.exit(f"bench_history: gto history m000 shows {len(assigned)} assignments")


def timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and the children it waited for)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    took = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        sys.exit(f"bench_history: {' '.join(cmd)} failed ({res.returncode}): {res.stderr!r}")
    return took, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


@dataclass
class Op:
    short: str
    label: str
    mreg: list[str]
    peer: list[str] | None
    limit: list[str]
    peer_name: str = ""
    limit_name: str = ""


def bench(repo: Path, mreg: str, peers: Peers, runs: int, env: dict[str, str]) -> dict:
    card = ".mreg/models/m000.yaml"
    py = sys.executable
    ops = [
        Op(
            "mreg diff",
            "`mreg diff HEAD~1 HEAD` / `dvc metrics diff HEAD~1 HEAD` / read both card sets",
            [mreg, "diff", "HEAD~1", "HEAD"],
            [peers.dvc, "metrics", "diff", "HEAD~1", "HEAD"] if peers.dvc else None,
            [py, "-c", LIMIT_DIFF, str(repo), "HEAD~1", "HEAD"],
            "dvc metrics diff",
            "read both card sets, 1 process",
        ),
        Op(
            "mreg log",
            f"`mreg log m000` / `gto history m000` / `git log --format=%H -- {card}`",
            [mreg, "log", "m000"],
            [peers.gto, "history", "m000"] if peers.gto else None,
            ["git", "log", "--format=%H", "--", card],
            "gto history",
            "git log --format=%H -- card",
        ),
        Op(
            "mreg stages",
            "`mreg stages` / `gto show` / `git tag -l`",
            [mreg, "stages"],
            [peers.gto, "show"] if peers.gto else None,
            ["git", "tag", "-l"],
            "gto show",
            "git tag -l",
        ),
    ]
    floors = {
        "python -c pass": [py, "-c", "pass"],
        "mreg --version": [mreg, "--version"],
        "mreg check-ref refs/heads/x": [mreg, "check-ref", "refs/heads/x"],
    }
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}

    def note(key: str, took: tuple[float, float]) -> None:
        times.setdefault(key, []).append(took[0])
        cpu.setdefault(key, []).append(took[1])
        print(f"  {key}: {took[0]:.3f}s (cpu {took[1]:.3f}s)", file=sys.stderr)

    # One untimed pass warms the page cache and any per-user cache the tools keep.
    for op in ops:
        for cmd in (op.mreg, op.peer, op.limit):
            if cmd is not None:
                timed(cmd, repo, env)
    for r in range(runs):
        print(f"run {r + 1}/{runs}", file=sys.stderr)
        for i, op in enumerate(ops):
            note(f"{i}.mreg", timed(op.mreg, repo, env))
            if op.peer is not None:
                note(f"{i}.peer", timed(op.peer, repo, env))
            note(f"{i}.limit", timed(op.limit, repo, env))
        for key, cmd in floors.items():
            note(key, timed(cmd, repo, env))
    med = {k: statistics.median(v) for k, v in times.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    return {"ops": ops, "med": med, "cpu": med_cpu, "floors": list(floors)}


# --------------------------------------------------------------------------- report


def machine(tmp: Path, peers: Peers, load_start: str) -> list[str]:
    return [
        *machine_lines(load_start),
        f"- peers: {peers.versions or 'not run'}",
        f"- temp dir: {tmp}",
    ]


def secs(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def report(
    args: argparse.Namespace, result: dict, shape: Shape, peers: Peers, desc: list[str]
) -> None:
    med, cpu = result["med"], result["cpu"]
    head = (
        "| operation (mreg / peer / limit) | mreg s | peer s | limit s | mreg/peer | mreg/limit |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|"]
    cpu_lines = [head.replace(" s |", " CPU s |"), lines[1]]
    verdicts = []
    rows: list[Row] = []
    context = [
        "",
        f" ({shape.versions.get('m000', 0)} versions)",
        f" ({shape.stage_tags} stage tags)",
    ]
    for i, op in enumerate(result["ops"]):
        for table, d in ((lines, med), (cpu_lines, cpu)):
            m, p, lim = d[f"{i}.mreg"], d.get(f"{i}.peer"), d[f"{i}.limit"]
            cells = [secs(m), secs(p), secs(lim), ratio(m, p), ratio(m, lim)]
            table.append(f"| {op.label} | {' | '.join(cells)} |")
        m, p = med[f"{i}.mreg"], med.get(f"{i}.peer")
        met = verdict(m, p, PEER_FACTOR)
        rows.append(
            Row(
                operation=" ".join(["mreg", *op.mreg[1:]]) + context[i],
                mreg=m,
                peer=p,
                peer_name=op.peer_name,
                limit=med[f"{i}.limit"],
                limit_name=op.limit_name,
                target=f"<= {PEER_FACTOR:g}x peer",
                met=met,
            )
        )
        if p is None:
            verdicts.append(f"`{op.short}` <= {PEER_FACTOR:g}x its peer: not measured (no peers)")
        else:
            ok6 = "met" if met else "NOT met"
            ok3 = "met" if m <= PEER_RATIO_ISSUE3 * p else "NOT met"
            verdicts.append(
                f"`{op.short}` is {m / p:.2f}x its peer: <= {PEER_FACTOR:g}x (issue 6) "
                f"**{ok6}**; <= 1/3 (issue 3) **{ok3}**"
            )
    st = med["2.mreg"]
    verdicts.append(
        f"`mreg stages` < {STAGES_ABS} s with {shape.stage_tags} stage tags: "
        f"**{'met' if st < STAGES_ABS else 'NOT met'}** ({st:.3f} s)"
    )
    floors = ", ".join(f"`{k}` {med[k]:.3f} s (CPU {cpu[k]:.3f} s)" for k in result["floors"])
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
            f"Start-up floors (same runs, wall): {floors}.",
            "",
            f"Repository: {args.models} models x {args.metrics} metrics, {shape.commits} "
            f"commits (m000 has {shape.versions.get('m000', 0)} versions; {args.changes} other "
            f"models change per commit), {shape.stage_tags} stage tags + {shape.version_tags} "
            f"version tags, built in {shape.seconds:.1f} s. Median of {args.runs} interleaved "
            "runs, each command a fresh process, stdout to /dev/null.",
        ]
    )
    if peers.error:
        text += f"\n\nPeers not run: {peers.error}"
    print(text)
    if args.no_write:
        return
    write_results(
        args.out,
        "mreg history commands: speed against DVC, GTO and git",
        "bench_history.py",
        desc,
        text,
    )
    print(f"wrote {args.out} and {write_rows('history', rows)}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per command (median)")
    ap.add_argument("--commits", type=int, default=500, help="commits in the history")
    ap.add_argument("--models", type=int, default=100, help="models (m000 ...)")
    ap.add_argument("--metrics", type=int, default=50, help="metrics per model")
    ap.add_argument("--changes", type=int, default=3, help="models besides m000 per commit")
    ap.add_argument("--tags", type=int, default=1000, help="stage tags in all")
    ap.add_argument("--seed", type=int, default=1, help="random seed of the generator")
    ap.add_argument("--no-peers", action="store_true", help="time mreg against the limits only")
    ap.add_argument("--peers-venv", type=Path, help="reuse a venv that has dvc and gto")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS-history.md")
    ap.add_argument("--no-write", action="store_true", help="print only, do not write --out")
    args = ap.parse_args()
    if args.commits < 2 or args.models < 2 or args.runs < 1:
        ap.error("need --commits >= 2, --models >= 2 and --runs >= 1")

    mreg = find_mreg("bench_history")
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    tmp = Path(tempfile.mkdtemp(prefix="mreg-bench-history-", dir="/tmp"))
    env = {**os.environ, **PEER_ENV}
    try:
        repo = tmp / "repo"
        shape = build_repo(repo, args)
        print(f"built {repo} in {shape.seconds:.1f}s", file=sys.stderr)
        peers = Peers(error="--no-peers") if args.no_peers else install_peers(tmp, args.peers_venv)
        if peers.error and not args.no_peers:
            print(f"bench_history: peers not run: {peers.error}", file=sys.stderr)
        sanity(repo, mreg, peers, shape, env)
        result = bench(repo, mreg, peers, args.runs, env)
        desc = machine(tmp, peers, load_start)
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    report(args, result, shape, peers, desc)


if __name__ == "__main__":
    main()
