"""Campaign 2: concurrent mreg processes on one repository (and one remote).

Several console-script processes are started at once (no sleeps: they race as the
scheduler lets them) and each case checks that no card is lost, no blob is missing or
corrupt, and no process crashed. Writers queue on `.mreg/tmp/lock`; a writer that waits
longer than MREG_LOCK_TIMEOUT says which process holds the lock (exit 3).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from mreg import card as card_mod
from tests.helpers import git
from tests.reliability.support import (
    FULL,
    MIB,
    STATS,
    TRIALS,
    CacheChecker,
    Payload,
    card_texts,
    full_only,
    leftovers,
    oid_of,
    oid_of_file,
    parse_cards,
    run,
    sample,
    start,
    write_bytes,
)

SIZE = (8 if FULL else 2) * MIB  # the processes overlap; the kill campaign does big files


def _finish(procs: list[subprocess.Popen[bytes]]) -> list[tuple[int, str, str]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate()
        out.append((p.returncode, stdout.decode(), stderr.decode()))
    return out


def _all_ok(results: list[tuple[int, str, str]]) -> None:
    for rc, stdout, stderr in results:
        assert rc == 0, (rc, stdout, stderr)
        assert "Traceback" not in stderr and "internal error" not in stderr


def _commit(root: Path, message: str) -> None:
    git(root, "add", "-A", ".mreg", ".gitignore")
    git(root, "commit", "-q", "-m", message)


def test_four_adds_of_different_models(mrepo: Path) -> None:
    root = mrepo
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE, "four")
    for n in range(TRIALS):
        want = {}
        for k in range(4):
            data = payload.variant(10 * n + k)
            write_bytes(root / "out" / f"m{k}.bin", data)
            want[f"m{k}"] = oid_of(data)
        procs = [start(root, "add", name, f"out/{name}.bin") for name in want]
        _all_ok(_finish(procs))

        cards = parse_cards(root)
        assert {name: cards[name].artifact.oid for name in want} == want, "a card was lost"
        assert set(want.values()) <= checker.check(), "a blob is missing"
        ignored = (root / ".gitignore").read_text().splitlines()
        assert {f"/out/{name}.bin" for name in want} <= set(ignored), ".gitignore lost a line"
        assert leftovers(root) == []
        STATS["concurrent: 4 adds of different models"]["rounds"] += 1


@full_only
def test_two_adds_of_the_same_bytes(mrepo: Path) -> None:
    root = mrepo
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE, "same")
    for n in range(TRIALS):
        data = payload.variant(n)
        for name in ("a", "b", "s"):
            write_bytes(root / "out" / f"{name}.bin", data)
        # Two models with the same bytes, and the very same add twice.
        procs = [
            start(root, "add", "a", "out/a.bin", "--json"),
            start(root, "add", "b", "out/b.bin", "--json"),
            start(root, "add", "s", "out/s.bin", "-m", f"n={n}", "--json"),
            start(root, "add", "s", "out/s.bin", "-m", f"n={n}", "--json"),
        ]
        results = _finish(procs)
        _all_ok(results)
        statuses = sorted(json.loads(out)["status"] for _rc, out, _err in results[2:])
        first = "new" if n == 0 else "new-version"
        assert statuses == sorted([first, "unchanged"]), statuses  # the second finds it done
        cards = parse_cards(root)
        assert {cards[k].artifact.oid for k in ("a", "b", "s")} == {oid_of(data)}
        assert cards["s"].version == n + 1 and cards["s"].metrics == {"n": n}
        assert oid_of(data) in checker.check()
        STATS["concurrent: 2 adds of the same bytes"]["rounds"] += 1


@full_only
def test_checkout_while_add_runs(mrepo: Path) -> None:
    root = mrepo
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE, "checkout-add")
    a = root / "out" / "a.bin"
    write_bytes(a, payload.variant(0))
    run(root, "add", "a", "out/a.bin")
    _commit(root, "a")
    for n in range(TRIALS):
        a.unlink()
        data = payload.variant(n + 1)
        write_bytes(root / "out" / "b.bin", data)
        procs = [start(root, "add", "b", "out/b.bin"), start(root, "checkout", "a")]
        _all_ok(_finish(procs))
        assert oid_of_file(a) == oid_of(payload.variant(0))
        assert parse_cards(root)["b"].artifact.oid == oid_of(data)
        assert oid_of(data) in checker.check()
        STATS["concurrent: checkout while add runs"]["rounds"] += 1


@full_only
def test_gc_while_add_runs(mrepo: Path) -> None:
    root = mrepo
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE, "gc-add")
    art = root / "out" / "m.bin"
    for n in range(TRIALS):
        write_bytes(root / "out" / "junk.bin", payload.variant(1000 + n))
        run(root, "add", "junk", "out/junk.bin")  # replaced below: its blob is garbage
        write_bytes(root / "out" / "junk.bin", payload.variant(2000 + n))
        data = payload.variant(n)
        write_bytes(art, data)
        procs = [
            start(root, "add", "m", "out/m.bin"),
            start(root, "gc"),
            start(root, "add", "junk", "out/junk.bin"),
        ]
        _all_ok(_finish(procs))
        oids = checker.check()
        cards = parse_cards(root)
        for name, card in cards.items():
            assert card.artifact.oid in oids, f"gc removed the blob of {name}"
        assert cards["m"].artifact.oid == oid_of(data)
        run(root, "verify")
        STATS["concurrent: gc while add runs"]["rounds"] += 1


@full_only
def test_two_pushes_to_one_remote(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    payload = Payload(SIZE, "pushes")
    repos = []
    for who in ("x", "y"):
        root = tmp_path / who
        root.mkdir()
        git(root, "init", "-q")
        run(root, "init")
        run(root, "remote", "add", "origin", str(remote), "-d")
        repos.append(root)
    on_remote = CacheChecker(remote, read_only=False)
    for n in range(TRIALS):
        shared = payload.variant(100 + n)  # both push these bytes
        want = {oid_of(shared)}
        for i, root in enumerate(repos):
            own = payload.variant(10 * n + i)
            write_bytes(root / "out" / "own.bin", own)
            write_bytes(root / "out" / "shared.bin", shared)
            run(root, "add", "own", "out/own.bin")
            run(root, "add", "shared", "out/shared.bin")
            want.add(oid_of(own))
        _all_ok(_finish([start(root, "push") for root in repos]))
        assert want <= on_remote.check(), "a pushed blob is missing on the remote"
        for root in repos:
            run(root, "verify", "-r", "origin")
        STATS["concurrent: 2 pushes to one remote"]["rounds"] += 1


def test_two_promotions_at_once(mrepo: Path) -> None:
    root = mrepo
    for content in (b"model", b"model, v2"):
        write_bytes(root / "out" / "m.bin", content)
        run(root, "add", "m", "out/m.bin", "--commit")
    for n in range(TRIALS):
        # The other version each round: promoting the version a stage holds makes no tag.
        ref = f"m@v{1 + n % 2}"
        procs = [start(root, "promote", ref, stage) for stage in ("staging", "production")]
        _all_ok(_finish(procs))
        tags = git(root, "tag", "--list", "m#*").split()
        counters = sorted(int(t.rsplit("#", 1)[1]) for t in tags)
        assert counters == list(range(1, 2 * n + 3)), tags
        STATS["concurrent: 2 promotions"]["rounds"] += 1


# ----------------------------------------------------------------------------- the lock

HOLD = """
import sys
from pathlib import Path
from mreg.project import Project

with Project.open(Path(sys.argv[1])) as project, project.lock():
    print("held", flush=True)
    sys.stdin.read()
"""


def _hold_lock(root: Path) -> subprocess.Popen[str]:
    """A process that holds .mreg/tmp/lock until its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_writer_gives_up_naming_the_holder(mrepo: Path) -> None:
    root = mrepo
    write_bytes(root / "out" / "m.bin", b"v1")
    run(root, "add", "m", "out/m.bin", "--commit")
    write_bytes(root / "out" / "m.bin", b"v2")
    before = card_texts(root)
    holder = _hold_lock(root)
    try:
        for args in sample(
            [
                ["add", "m", "out/m.bin"],
                ["checkout", "m", "--force"],
                ["gc"],
                ["promote", "m@v1", "production"],
            ],
            every=3,
        ):
            res = run(root, *args, env={"MREG_LOCK_TIMEOUT": "1"}, ok=False)
            assert res.exit_code == 3, (args, res.stderr)
            first = res.stderr.splitlines()[0]
            assert first.startswith("mreg: error: ") and "lock" in first, res.stderr
            assert f"process {holder.pid}" in first, res.stderr
            STATS["lock timeout names the holder"]["commands"] += 1
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()
    assert card_texts(root) == before
    assert git(root, "tag", "--list", "m#*").split() == []
    run(root, "add", "m", "out/m.bin", env={"MREG_LOCK_TIMEOUT": "1"})


def test_a_killed_holder_does_not_block(mrepo: Path) -> None:
    root = mrepo
    write_bytes(root / "out" / "m.bin", b"v1")
    holder = _hold_lock(root)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    run(root, "add", "m", "out/m.bin", env={"MREG_LOCK_TIMEOUT": "1"})
    assert card_mod.loads(card_texts(root)["m"]).artifact.oid == oid_of(b"v1")
