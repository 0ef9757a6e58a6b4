"""Campaign 1: SIGKILL at random moments.

Each campaign runs its command once unkilled to measure its duration, then TRIALS times:
set up a change, start the installed `mreg` in its own process group, SIGKILL the group
after a seeded random delay spread over the command's typical duration (the median of
its unkilled runs so far), and check, before anything else runs:

- every blob in the cache hashes to its name, and `mreg verify NAME...` agrees;
- every card parses, and each is byte for byte the old card or the complete new one;
- every work-tree artifact is its old bytes or its new bytes: no mix, no truncation;
- a card never names a blob the cache does not hold;

then rerun the same command, which must complete, and check that it left no temporary
file behind (the rerun cleans what the killed run left, but for the cache's partial/
folder, which `gc` owns).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from pathlib import Path

from mreg import card as card_mod
from mreg.hashing import Entry, manifest_bytes
from mreg.tags import parse_tag
from tests.helpers import git
from tests.reliability.support import (
    SIZE,
    STATS,
    TRIALS,
    CacheChecker,
    Payload,
    card_texts,
    dir_digests,
    full_only,
    git_locks,
    leftovers,
    oid_of,
    oid_of_file,
    parse_cards,
    partials,
    rng,
    run,
    run_and_kill,
    write_bytes,
)


class Window:
    """The kill window: the typical duration of a command, the median of its unkilled
    runs (one before the trials, then every rerun). Kill delays are uniform over it."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def run(self, root: Path, *args: str) -> None:
        started = time.perf_counter()
        run(root, *args)
        self.times.append(time.perf_counter() - started)

    def delay(self, r: random.Random) -> float:
        return r.uniform(0, statistics.median(self.times))


def _common(root: Path, checker: CacheChecker, blobs_needed: bool = True) -> set[str]:
    """Invariants for any moment: intact blobs, parseable cards whose blobs exist.

    Every blob is re-hashed here once (blobs are immutable); `mreg verify NAME...`
    re-hashes what the cards need and reports any needed blob that is missing. Without
    blobs_needed (a pull that has not fetched yet), only the blobs there are count."""
    oids = checker.check()
    cards = parse_cards(root)
    if not blobs_needed:
        return oids
    for name, card in cards.items():
        assert card.artifact.oid in oids, f"card {name} names a blob the cache lacks"
    if cards:
        res = run(root, "verify", *sorted(cards), ok=False)
        assert res.exit_code == 0, (res.stdout, res.stderr)
    return oids


def _temps(root: Path) -> set[str]:
    """Every temp file there is: work tree, .mreg/, the cache's and the remote's partial/."""
    found = set(leftovers(root))
    for folder in (root / ".mreg" / "cache", root.parent / "remote"):
        found |= {str(p) for p in partials(folder)}
    return found


_TEMPS_BEFORE: dict[Path, set[str]] = {}


def _kill(root: Path, args: list[str], delay: float) -> int | None:
    """run_and_kill, remembering which temp files were there before."""
    _TEMPS_BEFORE[root] = _temps(root)
    return run_and_kill(root, args, delay)


def _record(campaign: str, rc: int | None, state: str, root: Path) -> None:
    """Count the trial; "killed-mid-write" when the kill left a new temp file behind."""
    stats = STATS[campaign]
    stats["trials"] += 1
    stats["killed" if rc is None else "finished-before-kill"] += 1
    stats[f"state-{state}"] += 1
    if rc is None and _temps(root) - _TEMPS_BEFORE.get(root, set()):
        stats["killed-mid-write"] += 1


def _commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A", ".mreg/models", ".gitignore")
    git(root, "commit", "-q", "-m", message)


# --------------------------------------------------------------------------- add (file)


def test_kill_add_file(mrepo: Path) -> None:
    root = mrepo
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE, "add-file")
    art = root / "out" / "model.bin"
    write_bytes(art, payload.variant(0))
    window = Window()
    window.run(root, "add", "churn", "out/model.bin", "-m", "step=0")
    r = rng("add-file")
    for n in range(1, TRIALS + 1):
        same = n % 4 == 0  # now and then the same bytes with new metadata
        data = payload.variant(n - 1 if same else n)
        if not same:
            write_bytes(art, data)
        new_oid = oid_of(data)
        old_text = card_texts(root)["churn"]
        old = card_mod.loads(old_text)
        args = ["add", "churn", "out/model.bin", "-m", f"step={n}"]

        rc = _kill(root, args, window.delay(r))

        oids = _common(root, checker)
        text = card_texts(root)["churn"]
        state = "old" if text == old_text else "new"
        if state == "new":
            card = card_mod.loads(text)
            assert card.artifact.oid == new_oid
            assert card.metrics == {"step": n}
            assert card.version == old.version + (0 if same else 1)
            assert new_oid in oids
        assert oid_of_file(art) == new_oid, "add changed the artifact it registered"
        _record("kill add (file)", rc, state, root)

        window.run(root, *args)
        card = parse_cards(root)["churn"]
        assert (card.artifact.oid, card.metrics) == (new_oid, {"step": n})
        assert new_oid in checker.check()
        assert leftovers(root) == []
        assert "/out/model.bin" in (root / ".gitignore").read_text().splitlines()


# --------------------------------------------------------------------------- add (dir)


def _dir_version(payload: Payload, n: int) -> dict[str, bytes]:
    """Six files of SIZE/6 bytes; version n changes two of them, and adds or drops one."""
    part = SIZE // 6
    files = {}
    for i in range(6):
        bump = n if i in (n % 6, (n + 3) % 6) else 0
        files[f"layer{i}.bin" if i < 4 else f"sub/part{i}.bin"] = payload.variant(1000 * i + bump)[
            :part
        ]
    if n % 2:
        files["extra.json"] = f'{{"n": {n}}}'.encode()
    return files


def _write_dir(folder: Path, files: dict[str, bytes]) -> None:
    for existing in sorted(folder.rglob("*"), reverse=True) if folder.exists() else []:
        rel = existing.relative_to(folder).as_posix()
        if existing.is_file() and rel not in files:
            existing.unlink()
    for rel, data in files.items():
        path = folder / rel
        if not path.exists() or oid_of_file(path) != oid_of(data):
            write_bytes(path, data)


def _tree_oid(files: dict[str, bytes]) -> tuple[str, list[str]]:
    entries = [Entry(p, oid_of(d), len(d), False) for p, d in files.items()]
    return oid_of(manifest_bytes(entries)), [e.oid for e in entries]


def test_kill_add_dir(mrepo: Path) -> None:
    root = mrepo
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE // 6 + 64, "add-dir")
    folder = root / "out" / "net"
    _write_dir(folder, _dir_version(payload, 0))
    window = Window()
    window.run(root, "add", "net", "out/net")
    r = rng("add-dir")
    for n in range(1, TRIALS + 1):
        files = _dir_version(payload, n)
        _write_dir(folder, files)
        tree, blobs = _tree_oid(files)
        old_text = card_texts(root)["net"]
        args = ["add", "net", "out/net", "-p", f"round={n}"]

        rc = _kill(root, args, window.delay(r))

        oids = _common(root, checker)
        text = card_texts(root)["net"]
        state = "old" if text == old_text else "new"
        if state == "new":
            card = card_mod.loads(text)
            assert (card.artifact.oid, card.artifact.kind, card.params) == (
                tree,
                "dir",
                {"round": n},
            )
            assert {tree, *blobs} <= oids, "a new card names blobs the cache lacks"
        assert dir_digests(folder) == {p: oid_of(d) for p, d in files.items()}
        _record("kill add (dir)", rc, state, root)

        window.run(root, *args)
        card = parse_cards(root)["net"]
        assert card.artifact.oid == tree
        assert {tree, *blobs} <= checker.check()
        assert leftovers(root) == []


# ------------------------------------------------------------------------ checkout (file)


def test_kill_checkout_file(mrepo: Path) -> None:
    root = mrepo
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE, "checkout-file")
    art = root / "out" / "model.bin"
    versions = {}
    for v in (1, 2):
        data = payload.variant(v)
        write_bytes(art, data)
        run(root, "add", "churn", "out/model.bin")
        _commit_all(root, f"churn v{v}")
        versions[v] = oid_of(data)
    window = Window()
    window.run(root, "checkout", "churn@v1")
    r = rng("checkout-file")
    current: str | None = versions[1]
    for n in range(1, TRIALS + 1):
        target = 2 if n % 2 else 1
        if n % 3 == 0:
            art.unlink()  # now and then the artifact is missing: checkout creates it
            current = None
        cards_before = card_texts(root)
        args = ["checkout", f"churn@v{target}"]

        rc = _kill(root, args, window.delay(r))

        _common(root, checker)
        assert card_texts(root) == cards_before, "checkout changed a card"
        now = oid_of_file(art) if art.exists() else None
        assert now in {current, versions[target]}, f"work tree holds {now}: a mix or truncation"
        _record("kill checkout (file)", rc, "new" if now == versions[target] else "old", root)

        window.run(root, *args)
        assert oid_of_file(art) == versions[target]
        assert leftovers(root) == []
        current = versions[target]


# ------------------------------------------------------------------------- checkout (dir)


def test_kill_checkout_dir(mrepo: Path) -> None:
    root = mrepo
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE // 6 + 64, "checkout-dir")
    folder = root / "out" / "net"
    versions: dict[int, dict[str, str]] = {}
    for v in (1, 2):
        files = _dir_version(payload, v)
        _write_dir(folder, files)
        run(root, "add", "net", "out/net")
        _commit_all(root, f"net v{v}")
        versions[v] = {p: oid_of(d) for p, d in files.items()}
    window = Window()
    window.run(root, "checkout", "net@v1")
    r = rng("checkout-dir")
    current: dict[str, str] = versions[1]
    for n in range(1, TRIALS + 1):
        target = 2 if n % 2 else 1
        cards_before = card_texts(root)
        args = ["checkout", f"net@v{target}"]

        rc = _kill(root, args, window.delay(r))

        _common(root, checker)
        assert card_texts(root) == cards_before, "checkout changed a card"
        now = dir_digests(folder)
        assert now in (current, versions[target]), (
            "the folder is neither the old nor the new version: "
            f"{sorted(k for k in now if now[k] != current.get(k))}"
        )
        _record("kill checkout (dir)", rc, "new" if now == versions[target] else "old", root)

        window.run(root, *args)
        assert dir_digests(folder) == versions[target]
        assert leftovers(root) == []
        current = versions[target]


# ------------------------------------------------------------------------- add --commit


@full_only
def test_kill_add_commit(mrepo: Path) -> None:
    """`add --commit` runs git add, commit and tag: a kill inside git can leave git's
    own `.lock` file, which git then refuses to overwrite. mreg must say which file and
    what to do; after following that hint, the rerun completes."""
    root = mrepo
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE, "add-commit")
    art = root / "out" / "model.bin"
    write_bytes(art, payload.variant(0))
    window = Window()
    window.run(root, "add", "churn", "out/model.bin", "--commit")
    r = rng("add-commit")
    for n in range(1, TRIALS + 1):
        data = payload.variant(n)
        write_bytes(art, data)
        old_text = card_texts(root)["churn"]
        args = ["add", "churn", "out/model.bin", "--commit"]

        rc = _kill(root, args, window.delay(r))

        _common(root, checker)
        text = card_texts(root)["churn"]
        assert text == old_text or card_mod.loads(text).artifact.oid == oid_of(data)
        locks = git_locks(root)
        _record("kill add --commit", rc, "old" if text == old_text else "new", root)
        if locks:
            STATS["kill add --commit"]["git lock left"] += 1
            res = run(root, *args, ok=False)
            assert res.exit_code == 3 and ".lock" in res.stderr and "hint:" in res.stderr
            for lock in locks:
                (root / ".git" / lock).unlink()  # what the hint says to do
        window.run(root, *args)
        assert git(root, "status", "--porcelain", "--", ".mreg/models") == ""
        assert f"churn@v{n + 1}" in git(root, "tag", "--list").split()
        assert leftovers(root) == []


# ----------------------------------------------------------------------------- promote


def _stage_tags(root: Path) -> list[str]:
    names = git(root, "tag", "--list").split()
    events = [parse_tag(t) for t in names]
    return [t for t, ev in zip(names, events, strict=True) if ev and ev.kind != "registration"]


def test_kill_promote(mrepo: Path) -> None:
    root = mrepo
    for content in (b"a small model", b"a small model, v2"):
        write_bytes(root / "out" / "model.bin", content)
        run(root, "add", "churn", "out/model.bin", "--commit")
    window = Window()
    window.run(root, "promote", "churn@v1", "staging")
    r = rng("promote")
    for n in range(1, TRIALS + 1):
        before = _stage_tags(root)
        # Every trial moves its stage to the other version (stages in turns of 3,
        # versions of 2): promoting a version already in the stage makes no tag.
        version, stage = 1 + n % 2, ("staging", "production", "canary")[n % 3]
        args = ["promote", f"churn@v{version}", stage]

        rc = _kill(root, args, window.delay(r))

        after = _stage_tags(root)
        assert set(before) <= set(after) and len(after) - len(before) in (0, 1), (before, after)
        res = run(root, "stages", "--json")
        assert res.json is not None
        _record("kill promote", rc, "new" if len(after) > len(before) else "old", root)
        locks = git_locks(root)
        if locks:  # git killed while writing the tag's ref: it refuses until removed
            STATS["kill promote"]["git lock left"] += 1
            res = run(root, *args, ok=False)
            assert res.exit_code == 3 and ".lock" in res.stderr and "hint:" in res.stderr
            for lock in locks:
                (root / ".git" / lock).unlink()  # what the hint says to do

        window.run(root, *args)  # made the tag, or found the killed run had made it
        assert len(_stage_tags(root)) == len(before) + 1
        stages = run(root, "stages", "--json").json
        assert stages is not None
        now = {(s["stage"], s["version"]) for s in stages["stages"] if s["name"] == "churn"}
        assert (stage, version) in now, now


# ------------------------------------------------------------------- remote commands


def _with_remote(root: Path) -> Path:
    """A local-folder remote `origin`, the default (the fastest kind: kills land in
    the writes, not in network waits)."""
    remote = root.parent / "remote"
    run(root, "remote", "add", "origin", str(remote), "-d")
    git(root, "add", ".mreg/config.yaml")
    git(root, "commit", "-q", "-m", "remote")
    return remote


@full_only
def test_kill_push(mrepo: Path) -> None:
    root = mrepo
    remote = _with_remote(root)
    checker = CacheChecker(root / ".mreg" / "cache")
    on_remote = CacheChecker(remote, read_only=False)
    payload = Payload(SIZE, "push")
    art = root / "out" / "model.bin"
    write_bytes(art, payload.variant(0))
    run(root, "add", "churn", "out/model.bin")
    window = Window()
    window.run(root, "push")
    r = rng("push")
    for n in range(1, TRIALS + 1):
        data = payload.variant(n)
        write_bytes(art, data)
        run(root, "add", "churn", "out/model.bin")
        before = on_remote.check()

        rc = _kill(root, ["push"], window.delay(r))

        _common(root, checker)
        after = on_remote.check()  # every blob on the remote hashes to its name
        assert before <= after <= before | {oid_of(data)}
        _record("kill push", rc, "new" if oid_of(data) in after else "old", root)

        window.run(root, "push")
        assert oid_of(data) in on_remote.check()
        run(root, "verify", "-r", "origin", "churn")
        assert leftovers(root) == []


@full_only
def test_kill_pull(mrepo: Path) -> None:
    root = mrepo
    _with_remote(root)
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE, "pull")
    art = root / "out" / "model.bin"
    versions = {}
    for v in (1, 2):
        data = payload.variant(v)
        write_bytes(art, data)
        run(root, "add", "churn", "out/model.bin")
        _commit_all(root, f"churn v{v}")
        versions[v] = oid_of(data)
    run(root, "push", "churn@v1", "churn@v2")
    cache = root / ".mreg" / "cache" / "sha256"

    def forget(oid: str) -> None:  # as if this clone never had it
        hexdigest = oid.split(":")[1]
        (cache / hexdigest[:2] / hexdigest[2:]).unlink()

    forget(versions[1])
    window = Window()
    window.run(root, "pull", "churn@v1")
    r = rng("pull")
    current = versions[1]
    for n in range(1, TRIALS + 1):
        target = 2 if n % 2 else 1
        forget(versions[target])
        cards_before = card_texts(root)
        args = ["pull", f"churn@v{target}"]

        rc = _kill(root, args, window.delay(r))

        _common(root, checker, blobs_needed=False)
        assert card_texts(root) == cards_before, "pull changed a card"
        now = oid_of_file(art)
        assert now in {current, versions[target]}, f"work tree holds {now}: a mix or truncation"
        _record("kill pull", rc, "new" if now == versions[target] else "old", root)

        window.run(root, *args)
        assert oid_of_file(art) == versions[target]
        _common(root, checker, blobs_needed=target == 2)
        assert leftovers(root) == []
        current = versions[target]


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@full_only
def test_kill_gc(mrepo: Path) -> None:
    root = mrepo
    checker = CacheChecker(root / ".mreg" / "cache")
    payload = Payload(SIZE, "gc")
    art = root / "out" / "model.bin"
    junk = root / "out" / "junk.bin"
    write_bytes(art, payload.variant(0))
    run(root, "add", "churn", "out/model.bin")
    _commit_all(root, "churn v1")
    kept = {oid_of(payload.variant(0))}
    partial = root / ".mreg" / "cache" / "partial"
    partial.mkdir(parents=True, exist_ok=True)

    def make_garbage(n: int) -> set[str]:
        """Two uncommitted versions of `junk` (the first is garbage at once), one more
        committed version of churn (kept: history needs it), and two temp files."""
        garbage = set()
        for k in (0, 1):
            data = payload.variant(1000 + 2 * n + k)
            write_bytes(junk, data)
            run(root, "add", "junk", "out/junk.bin")
            if k == 0:
                garbage.add(oid_of(data))
        data = payload.variant(n + 1)
        write_bytes(art, data)
        run(root, "add", "churn", "out/model.bin")
        _commit_all(root, f"churn v{n + 1}")
        kept.add(oid_of(data))
        write_bytes(partial / f"1-{n:08x}.tmp", b"stale")
        _age(partial / f"1-{n:08x}.tmp", 7200)
        write_bytes(partial / f"1-{n:08x}f.tmp", b"fresh: maybe still being written")
        return garbage

    make_garbage(0)
    window = Window()
    window.run(root, "gc")
    r = rng("gc")
    for n in range(1, TRIALS + 1):
        garbage = make_garbage(n)

        rc = _kill(root, ["gc"], window.delay(r))

        oids = _common(root, checker)
        assert kept <= oids, "gc removed a blob the history needs"
        _record("kill gc", rc, "old" if garbage <= oids else "new", root)

        window.run(root, "gc")
        oids = checker.check()
        assert kept <= oids and not garbage & oids
        names = {p.name for p in partials(root / ".mreg" / "cache")}
        assert f"1-{n:08x}.tmp" not in names, "gc left a stale temp file"
        assert f"1-{n:08x}f.tmp" in names, "gc removed a temp file that may be in use"
        assert leftovers(root) == []
