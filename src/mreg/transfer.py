"""Moving blobs between the cache and a remote: push, fetch, pull, get; remote status.

Layer: registry level, above remote/store/checkout. Returns dataclasses and reports
progress through a callback; it never prints.

Order rules: a directory's files go before its manifest (push), and a manifest comes
before its files (fetch, since it lists them), so a manifest on a remote always means
its files are there too. Every blob fetched is hashed while written and named only when
its digest matches; a manifest fetched from a remote is validated before any of its
paths is used.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat as stat_mod
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Generic, Protocol, TypeVar

from mreg.card import KIND_DIR, Card
from mreg.errors import (
    BlobCorrupt,
    BlobMissing,
    InvalidArgument,
    InvalidPath,
    MregError,
    NotInitialised,
    RemoteNotFound,
)
from mreg.forkshare import ITEM_BYTES_MAX, ForkShare
from mreg.hashing import Entry, copy_hashing, oid_of_bytes, parse_manifest
from mreg.project import Project
from mreg.remote import Remote, default_jobs, open_remote
from mreg.statecache import KNOWN_MIN
from mreg.store import Store, storage_error

T = TypeVar("T")


class Progress(Protocol):
    """What the CLI passes in to draw a progress bar (the core never prints)."""

    def start(self, total_bytes: int, count: int, what: str) -> None: ...

    def advance(self, nbytes: int) -> None: ...


def _label(card: Card) -> str:
    return f"{card.name} v{card.version}"


# ------------------------------------------------------------------------ what is needed


@dataclass
class Needs:
    """The blobs some cards need. files: data blobs; manifests: tree blobs (oid -> size)."""

    files: dict[str, int] = field(default_factory=dict)
    manifests: dict[str, int] = field(default_factory=dict)
    users: dict[str, list[str]] = field(default_factory=dict)  # oid -> ["churn v3", ...]
    unreadable: dict[str, list[str]] = field(default_factory=dict)  # manifests not found

    def use(self, oid: str, who: str) -> None:
        users = self.users.setdefault(oid, [])
        if who not in users:
            users.append(who)

    @property
    def all(self) -> dict[str, int]:
        return {**self.files, **self.manifests}


ManifestReader = Callable[[str], "list[Entry] | None"]


def needs_of(cards: Iterable[Card], read_manifest: ManifestReader) -> Needs:
    """Every blob `cards` need; read_manifest(oid) gives a tree's entries or None."""
    needs = Needs()
    seen_trees: dict[str, list[Entry] | None] = {}
    for card in cards:
        who = _label(card)
        oid = card.artifact.oid
        needs.use(oid, who)
        if card.artifact.kind != KIND_DIR:
            needs.files[oid] = card.artifact.size
            continue
        if oid not in seen_trees:
            seen_trees[oid] = read_manifest(oid)
        entries = seen_trees[oid]
        if entries is None:
            needs.unreadable.setdefault(oid, []).append(who)
            needs.manifests.setdefault(oid, 0)
            continue
        needs.manifests[oid] = 0
        for e in entries:
            needs.files[e.oid] = e.size
            needs.use(e.oid, who)
    return needs


def cache_manifest(store: Store) -> ManifestReader:
    """A manifest reader from the cache (None when absent; raises on a corrupt one), for
    listing blobs: a `.git` path an older mreg stored is kept (parse_manifest keep_git)."""

    def read(oid: str) -> list[Entry] | None:
        if not store.has(oid):
            return None
        return parse_manifest(store.read_bytes(oid), keep_git=True)

    return read


def remote_manifest(remote: Remote, oid: str, keep_git: bool = True) -> tuple[bytes, list[Entry]]:
    """Read, digest-check and validate a manifest on a remote (untrusted input); for
    listing blobs unless `keep_git` is False (parse_manifest)."""
    data = remote.read_bytes(oid)
    got = oid_of_bytes(data)
    if got != oid:
        raise BlobCorrupt(
            f"manifest {oid} on remote {remote.name} is corrupt: its bytes hash to {got}",
            hint=f"mreg verify -r {remote.name}; mreg push --repair from a cache that holds it",
        )
    try:
        return data, parse_manifest(data, keep_git=keep_git)
    except MregError as exc:
        exc.message = f"manifest {oid} on remote {remote.name}: {exc.message}"
        raise


def select_cards(project: Project, refs: list[str] | None, scope: str = "worktree") -> list[Card]:
    """Cards for REFs, or every work-tree card. Scope "branch" adds every version in the
    history of the current branch: of the REFs' models when REFs are given."""
    from mreg.refs import resolve_card
    from mreg.registry import list_cards

    if refs:
        cards = [resolve_card(project, r) for r in refs]
        if scope == "worktree":
            return cards
        from mreg.history import referenced_cards

        names = {c.name for c in cards}
        return cards + [c for c in referenced_cards(project, scope) if c.name in names]
    if scope != "worktree":
        from mreg.history import referenced_cards

        return referenced_cards(project, scope)
    return [e.card for e in list_cards(project) if e.card is not None]


# ---------------------------------------------------------------------------- parallel


@dataclass(frozen=True)
class Helper(Generic[T]):
    """What a forked helper process does for run_parallel: work(item) there, then
    absorb(item, answer) here; only for the items `takes` accepts."""

    work: Callable[[T], str]
    absorb: Callable[[T, str], None]
    takes: Callable[[T], bool]


# Files a transfer thread may hold open at once (source, temp destination, and what a
# backend opens beside them), and files kept free for everything else.
FDS_PER_JOB = 4
FDS_SPARE = 32


def fd_room() -> int:
    """How many transfer threads the open-file limit (ulimit -n) leaves room for: a
    `-j 1000` under a limit of 256 would otherwise fail with "Too many open files"."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not a POSIX system
        return 1 << 30
    if soft == resource.RLIM_INFINITY:
        return 1 << 30
    try:
        in_use = len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc (macOS): assume a modest number
        in_use = 64
    return max(1, (soft - in_use - FDS_SPARE) // FDS_PER_JOB)


def run_parallel(
    items: list[T],
    fn: Callable[[T], Any],
    jobs: int,
    on_error: Callable[[T, MregError], bool],
    helper: Helper[T] | None = None,
) -> None:
    """fn(item) for each item on `jobs` threads (fewer if the open-file limit says so:
    fd_room). on_error(item, err) -> True to go on; a False (or any non-MregError) stops
    the rest and re-raises.

    With one job and a `helper`, a forked process may take every other item it takes
    (mreg.forkshare); an item the helper could not do goes through fn here.
    """
    if not items:
        return
    if jobs <= 1:  # no pool: 10,000 small blobs would spend 0.2 s on futures alone

        def one(it: T) -> None:
            try:
                fn(it)
            except MregError as err:
                if not on_error(it, err):
                    raise

        if helper is None:
            for it in items:
                one(it)
            return
        with ForkShare([it for it in items if helper.takes(it)], helper.work) as share:
            for it in share.mine + [it for it in items if not helper.takes(it)]:
                one(it)
            share.finish(helper.absorb, redo=one)
        return
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(items), fd_room()))) as pool:
        futures: dict[Future[Any], T] = {pool.submit(fn, it): it for it in items}
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for fut in done:
                    exc = fut.exception()
                    if exc is None:
                        continue
                    if isinstance(exc, MregError) and on_error(futures[fut], exc):
                        continue
                    raise exc
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise


# -------------------------------------------------------------------------------- push


@dataclass
class TransferResult:
    """What push or fetch did. missing: oid -> models needing it that could not be sent
    or found; corrupt: likewise for blobs whose bytes did not match."""

    remote: str
    url: str
    models: list[str] = field(default_factory=list)
    transferred: int = 0
    present: int = 0
    bytes: int = 0
    seconds: float = 0.0
    missing: dict[str, list[str]] = field(default_factory=dict)
    corrupt: dict[str, list[str]] = field(default_factory=dict)
    repaired: dict[str, list[str]] = field(default_factory=dict)  # fetch --repair: bad copies
    # push: the corrupt blobs whose damage is in this cache, not on the remote
    corrupt_in_cache: set[str] = field(default_factory=set)


def push(
    project: Project,
    refs: list[str] | None = None,
    remote_name: str | None = None,
    *,
    all_versions: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
    repair: bool = False,
) -> TransferResult:
    """Upload the blobs the models need that the remote lacks (one listing to find out).

    repair: first re-hash the remote's copies of those blobs, and upload again each one
    whose bytes do not match its name (`push --repair`).
    """
    started = time.monotonic()
    cards = select_cards(project, refs, "branch" if all_versions else "worktree")
    store = project.store
    with open_remote(project, remote_name) as remote:
        result = TransferResult(remote.name, remote.display, sorted({_label(c) for c in cards}))
        if not cards:
            return result
        if not repair and _all_there(project, cards, remote, result):
            result.seconds = time.monotonic() - started
            return result
        on_remote = _on_remote(project, cards, remote)

        def read_manifest(oid: str) -> list[Entry] | None:
            local = cache_manifest(store)(oid)
            if local is not None:
                return local
            if oid in on_remote:
                return remote_manifest(remote, oid)[1]
            return None

        needs = needs_of(cards, read_manifest)
        if repair:
            _drop_damaged(project, remote, needs, on_remote, result, jobs)
        for oid, who in needs.unreadable.items():
            if oid not in on_remote:
                result.missing[oid] = who
        todo_files = [o for o in needs.files if o not in on_remote]
        todo_trees = [o for o in needs.manifests if o not in on_remote and o not in result.missing]
        result.present = len(needs.all) - len(todo_files) - len(todo_trees) - len(result.missing)
        # One stat per blob answers "in the cache?", its size and "known-good?".
        stats = _stat_blobs(store, todo_files + todo_trees)
        for oid in todo_files + todo_trees:
            if oid not in stats:
                result.missing[oid] = needs.users.get(oid, [])
        todo_files = [o for o in todo_files if o not in result.missing]
        # A tree goes up only when all of its files are on the remote.
        blocked = {
            tree
            for tree in todo_trees
            if tree in result.missing
            or any(e.oid in result.missing for e in (cache_manifest(store)(tree) or []))
        }
        todo_trees = [o for o in todo_trees if o not in blocked]
        sizes = {o: stats[o].st_size for o in todo_files + todo_trees}
        if progress:
            progress.start(sum(sizes.values()), len(sizes), "push")

        lock = threading.Lock()
        vouched = {o for o in sizes if project.state.blob_known(o, stats[o])}

        def up(oid: str) -> None:
            n = remote.upload(
                oid,
                store.blob_str(oid),
                progress.advance if progress else None,
                verify=oid not in vouched,
            )
            count(n)

        def count(n: int) -> None:
            with lock:
                result.transferred += 1
                result.bytes += n

        # Many small blobs to a folder: a helper process may take every other one
        # (mreg.forkshare); it answers with each one's size.
        def up_there(oid: str) -> str:
            return str(remote.upload(oid, store.blob_str(oid), None, verify=oid not in vouched))

        def sent_there(oid: str, answer: str) -> None:
            count(int(answer))
            if progress:
                progress.advance(int(answer))

        helper = (
            Helper(up_there, sent_there, lambda oid: sizes[oid] <= ITEM_BYTES_MAX)
            if remote.protocol == "file"
            else None
        )

        def corrupt(oid: str, err: MregError) -> bool:
            if isinstance(err, BlobCorrupt):  # an upload hashes the cache's copy
                result.corrupt[oid] = needs.users.get(oid, [])
                result.corrupt_in_cache.add(oid)
                return True
            return False

        run_parallel(todo_files, up, jobs or remote.preferred_jobs, corrupt, helper)
        bad = set(result.corrupt)
        trees = [
            t for t in todo_trees if not any(e.oid in bad for e in cache_manifest(store)(t) or [])
        ]
        run_parallel(trees, up, jobs or remote.preferred_jobs, corrupt)
    result.seconds = time.monotonic() - started
    return result


def _drop_damaged(
    project: Project,
    remote: Remote,
    needs: Needs,
    on_remote: dict[str, int],
    result: TransferResult,
    jobs: int | None,
) -> None:
    """push --repair: re-hash the remote's copies of the blobs `needs` names. A damaged
    copy whose blob the cache holds intact is deleted from the remote and dropped from
    `on_remote`, so that push uploads it again (result.repaired); one the cache cannot
    replace stays as it is and counts as corrupt (exit 4)."""
    held = [o for o in needs.all if o in on_remote]
    damaged: list[str] = []
    lock = threading.Lock()

    def check(oid: str) -> None:
        if remote.hash_blob(oid) != oid:
            with lock:
                damaged.append(oid)

    run_parallel(held, check, jobs or remote.preferred_jobs, lambda _o, _e: False)
    fixable = sorted(o for o in damaged if project.store.verify(o))
    for oid in damaged:
        if oid not in fixable:
            result.corrupt[oid] = needs.users.get(oid, [])
    # Deleted first: an SFTP rename does not replace a file, and a reader meanwhile
    # finds the blob missing (and says so) rather than corrupt.
    remote.delete(fixable)
    for oid in fixable:
        on_remote.pop(oid, None)
        result.repaired[oid] = needs.users.get(oid, [])


def _stat_blobs(store: Store, oids: list[str]) -> dict[str, os.stat_result]:
    """The stat of each of oids that is a file in the cache."""
    out = {}
    for oid in oids:
        with contextlib.suppress(OSError):
            st = os.stat(store.blob_str(oid))
            if stat_mod.S_ISREG(st.st_mode):
                out[oid] = st
    return out


# A few requests beat one listing of a big remote; past this many artifacts, list.
PROBE_MAX = 32


def _on_remote(project: Project, cards: list[Card], remote: Remote) -> dict[str, int]:
    """The blobs on the remote that push needs to know of (oid -> size, 0 when probed).

    On a folder remote, a few blobs, all known from this cache, are looked up one by one
    (a stat each): pushing one file to a folder of 10,000 blobs would otherwise read and
    keep all 10,000 names. Elsewhere one listing answers: s3fs asks twice about a key
    that is not there (HEAD, then a listing of it as a folder)."""
    if remote.protocol != "file":
        return remote.list_blobs()
    needs = needs_of(cards, cache_manifest(project.store))
    if needs.unreadable or len(needs.all) > PROBE_MAX:
        return remote.list_blobs()
    found = remote.has_blobs(sorted(needs.all))
    if not found:
        remote.check()  # as list_blobs does: a missing bucket is an error, not "empty"
    return dict.fromkeys(found, 0)


def _all_there(project: Project, cards: list[Card], remote: Remote, result: TransferResult) -> bool:
    """True (and result counts them present) when every card's artifact is on the remote.

    A file artifact is its blob; a folder's manifest goes up only after all of its files,
    so a manifest on the remote vouches for them. One request per artifact instead of a
    listing of every blob: an up-to-date push of a 10,000-file folder is one request.
    """
    tops = {c.artifact.oid for c in cards}
    if len(tops) > PROBE_MAX or remote.has_blobs(sorted(tops)) != tops:
        return False
    needs = needs_of(cards, cache_manifest(project.store))
    if needs.unreadable:  # a manifest not in this cache: count what the listing says
        return False
    result.present = len(needs.all)
    return True


# ------------------------------------------------------------------------------- fetch


def fetch_cards(
    project: Project,
    cards: list[Card],
    remote: Remote,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    repair: bool = False,
) -> TransferResult:
    """Download into the cache every blob `cards` need that it lacks (resumable).

    repair: first re-hash the cache's copies of those blobs, and drop each one whose
    bytes do not match its name, so that it is downloaded again (`fetch --repair`).
    """
    started = time.monotonic()
    store = project.store
    result = TransferResult(remote.name, remote.display, sorted({_label(c) for c in cards}))
    if not cards:
        return result
    remote.check(reading=True)
    lock = threading.Lock()
    checked: set[str] = set()

    def drop_if_bad(oid: str, who: list[str]) -> None:
        """fetch --repair: remove a cache blob whose bytes do not hash to its name."""
        if oid in checked:
            return
        checked.add(oid)
        if store.has(oid) and not store.verify(oid):
            try:
                store.remove(oid)
            except OSError as exc:
                raise storage_error(exc, store.blob_path(oid)) from None
            with lock:
                result.repaired[oid] = who

    def read_manifest(oid: str) -> list[Entry] | None:
        if repair:
            drop_if_bad(oid, [_label(c) for c in cards if c.artifact.oid == oid])
        try:
            local = cache_manifest(store)(oid)
        except BlobCorrupt as exc:
            exc.hint = "mreg fetch --repair downloads it again"
            raise
        if local is not None:
            result.present += 1
            return local
        try:
            data, entries = remote_manifest(remote, oid)
        except RemoteNotFound:
            return None
        store.put_bytes(data)
        result.transferred += 1
        result.bytes += len(data)
        return entries

    needs = needs_of(cards, read_manifest)
    for oid, who in needs.unreadable.items():
        result.missing[oid] = who
    if repair:
        held = [o for o in needs.files if store.has(o) and o not in checked]
        run_parallel(
            held,
            lambda o: drop_if_bad(o, needs.users.get(o, [])),
            jobs or default_jobs(),
            lambda _o, _e: False,
        )
    stored = store.has_many(needs.files)
    todo = [o for o in needs.files if o not in stored]
    result.present += len(needs.files) - len(todo)
    if progress:
        progress.start(sum(needs.files[o] for o in todo), len(todo), "fetch")

    downloaded: list[str] = []

    def down(oid: str) -> None:
        n = remote.download(
            oid, store, progress.advance if progress else None, size=needs.files[oid]
        )
        got(oid, n)

    def got(oid: str, n: int) -> None:
        with lock:
            result.transferred += 1
            result.bytes += n
            downloaded.append(oid)

    # Many small blobs from a folder: a helper process may take every other one
    # (mreg.forkshare); it answers with each one's size, and fails (so this process
    # redoes it, errors and all) on a blob whose digest does not match.
    def down_there(oid: str) -> str:
        return str(remote.download(oid, store, None, size=needs.files[oid]))

    def got_there(oid: str, answer: str) -> None:
        got(oid, int(answer))
        if progress:
            progress.advance(int(answer))

    def collect(oid: str, err: MregError) -> bool:
        if isinstance(err, BlobCorrupt):
            result.corrupt[oid] = needs.users.get(oid, [])
            return True
        if isinstance(err, RemoteNotFound):  # the bucket exists (checked): the blob does not
            result.missing[oid] = needs.users.get(oid, [])
            return True
        return False

    helper = (
        Helper(down_there, got_there, lambda oid: needs.files[oid] <= ITEM_BYTES_MAX)
        if remote.protocol == "file"
        else None
    )
    run_parallel(todo, down, jobs or remote.preferred_jobs, collect, helper)
    _remember_verified(project, downloaded, needs.files)
    result.seconds = time.monotonic() - started
    return result


def _remember_verified(project: Project, oids: list[str], sizes: dict[str, int]) -> None:
    """Blobs just downloaded were hashed on the way in: record them as known-good, so
    that the checkout of a pull need not hash them again."""
    big = [oid for oid in oids if sizes.get(oid, KNOWN_MIN) >= KNOWN_MIN]  # no stat for small
    project.state.record_blobs(list(_stat_blobs(project.store, big).items()))


def fetch(
    project: Project,
    refs: list[str] | None = None,
    remote_name: str | None = None,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    repair: bool = False,
) -> TransferResult:
    """`mreg fetch`: the models' blobs into the cache (`--repair`: damaged ones again)."""
    cards = select_cards(project, refs)
    with open_remote(project, remote_name) as remote:
        return fetch_cards(project, cards, remote, jobs=jobs, progress=progress, repair=repair)


def _as_refs(labels: list[str]) -> str:
    """`churn v2`, `enc v1` -> `churn@v2 enc@v1` (references `mreg push` takes)."""
    out = []
    for label in labels:
        name, sep, version = label.rpartition(" v")
        out.append(f"{name}@v{version}" if sep else label)
    return " ".join(out)


def not_on_remote(verb: str, remote: str, url: str, blobs: dict[str, list[str]]) -> RemoteNotFound:
    """The error for blobs a remote lacks: which, of which models, and where to push them
    from (the bucket or folder itself exists: that case has its own message)."""
    labels = sorted({m for who in blobs.values() for m in who})
    models = ", ".join(labels) or "no model in the work tree"
    if len(blobs) == 1:
        what = f"blob {next(iter(blobs))} of {models} is"
        added = "it was"
    else:
        what = f"{len(blobs)} blobs of {models} are"
        added = "they were"
    push = f"mreg push {_as_refs(labels)}" if labels else "mreg push --all-versions"
    return RemoteNotFound(
        f"{verb}: {what} not on remote '{remote}' ({url})",
        hint=f"run `{push}` in the repository where {added} added, then {verb} again",
    )


def raise_for(result: TransferResult, verb: str) -> None:
    """Turn a result's corrupt/missing blobs into the error that sets the exit code."""

    def describe(blobs: dict[str, list[str]]) -> str:
        models = sorted({m for who in blobs.values() for m in who})
        return f"{len(blobs)} blob(s) of {', '.join(models) or 'no model in the work tree'}"

    local = {o: who for o, who in result.corrupt.items() if o in result.corrupt_in_cache}
    if local:
        labels = sorted({m for who in local.values() for m in who})
        refs = f" {_as_refs(labels)}" if labels else ""
        raise BlobCorrupt(
            f"{verb}: {describe(local)} are corrupt in the local cache (their bytes do not"
            " match their digest), so not pushed",
            hint=f"mreg fetch --repair{refs} -r REMOTE downloads them again from a remote"
            " that holds them; mreg verify lists every damaged blob in the cache",
        )
    if result.corrupt:
        raise BlobCorrupt(
            f"{verb}: {describe(result.corrupt)} did not match their digest"
            f" (remote {result.remote}); nothing corrupt was stored",
            hint=f"mreg verify -r {result.remote}",
        )
    if result.missing:
        if verb == "push":
            raise BlobMissing(
                f"push: {describe(result.missing)} are not in the cache, so not pushed",
                hint="mreg fetch them from another remote, or mreg add the model again",
            )
        raise not_on_remote(verb, result.remote, result.url, result.missing)


# -------------------------------------------------------------------------------- pull


@dataclass
class PullResult:
    fetch: TransferResult
    checkouts: list[Any] = field(default_factory=list)  # checkout.CheckoutResult


def pull(
    project: Project,
    refs: list[str] | None = None,
    remote_name: str | None = None,
    *,
    force: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> PullResult:
    """Fetch, then check the artifacts out (nothing is checked out if a blob is bad)."""
    from mreg.checkout import checkout_card, one_version_each

    cards = select_cards(project, refs)
    named = one_version_each(cards, refs) if refs else [(c, c.name) for c in cards]
    cards = [card for card, _ in named]
    with open_remote(project, remote_name) as remote:
        fetched = fetch_cards(project, cards, remote, jobs=jobs, progress=progress)
    raise_for(fetched, "pull")
    out = PullResult(fetched)
    with project.lock():
        for card, ref in named:
            try:
                out.checkouts.append(checkout_card(project, card, force=force))
            except BlobCorrupt as exc:  # in the cache before this pull, and damaged since
                exc.hint = f"mreg fetch --repair {ref} downloads it again; then pull"
                raise
    return out


# --------------------------------------------------------------------------------- get


@dataclass
class GetResult:
    name: str
    version: int
    oid: str
    kind: str
    path: str
    size: int
    source: str  # "cache" or "remote NAME"


def _tmp_beside(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.mreg-{uuid.uuid4().hex[:12]}.tmp")


class _Source:
    """Where get reads blobs: the cache when it holds them all, else a remote.
    who: the model version they are for (`churn v2`), named when one is missing."""

    def __init__(self, store: Store | None, remote: Remote | None, who: str = "") -> None:
        self.store = store
        self.remote = remote
        self.who = who

    def _missing(self, oid: str) -> RemoteNotFound:
        assert self.remote is not None
        users = [self.who] if self.who else []
        return not_on_remote("get", self.remote.name, self.remote.display, {oid: users})

    def manifest(self, oid: str) -> list[Entry]:
        if self.store is not None and self.store.has(oid):
            return parse_manifest(self.store.read_bytes(oid))
        assert self.remote is not None
        try:  # strictly: these files are written out
            return remote_manifest(self.remote, oid, keep_git=False)[1]
        except RemoteNotFound:
            raise self._missing(oid) from None

    def write(self, oid: str, dest: Path, executable: bool, progress: Progress | None) -> int:
        """Write blob oid to dest (a new file), digest checked."""
        on_bytes = progress.advance if progress else None
        with open(dest, "xb", buffering=0) as out:
            if self.store is not None and self.store.has(oid):
                with self.store.open(oid) as src:
                    got, size = copy_hashing(src, out)
                if on_bytes:
                    on_bytes(size)
                where = "the cache"
            else:
                assert self.remote is not None
                try:
                    got = self.remote.download_to(oid, out, on_bytes)
                except RemoteNotFound:
                    raise self._missing(oid) from None
                size = out.tell()
                where = f"remote {self.remote.name}"
        if got != oid:
            raise BlobCorrupt(
                f"blob {oid} from {where} is corrupt: its bytes hash to {got}",
                hint="mreg verify" + (f" -r {self.remote.name}" if self.remote else ""),
            )
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(dest, (0o777 if executable else 0o666) & ~mask)
        return size


def get_card(
    card: Card,
    output: Path,
    source: _Source,
    *,
    force: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Write card's artifact to output via a temp name beside it; bytes written.

    force replaces a file (or a symlink) at output, or a folder when the artifact is a
    folder too; a single file never replaces a folder (it would wipe what is in there).
    The old output goes only once the new one is complete.
    """
    output = Path(os.path.abspath(output))
    if os.path.lexists(output):
        if not force:
            raise InvalidPath(f"{output} already exists", hint="add --force to replace it")
        if card.artifact.kind != KIND_DIR and _is_folder(output):
            name = PurePosixPath(card.artifact.path).name
            raise InvalidPath(
                f"{output} is a folder and {_label(card)} is a single file: --force replaces"
                " a file, or a folder with a folder",
                hint=f"to write it into that folder: -o {output / name}",
            )
    tmp = _tmp_beside(output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if card.artifact.kind != KIND_DIR:
            if progress:
                progress.start(card.artifact.size, 1, "get")
            size = source.write(card.artifact.oid, tmp, False, progress)
        else:
            from mreg.fsutil import safe_join

            entries = source.manifest(card.artifact.oid)
            if progress:
                progress.start(sum(e.size for e in entries), len(entries), "get")
            tmp.mkdir()
            targets = []
            for e in entries:
                target = safe_join(tmp, e.path, "manifest path")
                target.parent.mkdir(parents=True, exist_ok=True)
                targets.append((e, target))
            sizes: list[int] = []

            def one(item: tuple[Entry, Path]) -> None:
                e, target = item
                sizes.append(source.write(e.oid, target, e.exec, progress))

            run_parallel(targets, one, jobs or default_jobs(), lambda _i, _e: False)
            size = sum(sizes)
        _swap_in(tmp, output, replace=force)
    except OSError as exc:
        _remove_tree(tmp)
        raise storage_error(exc, output) from None
    except BaseException:
        _remove_tree(tmp)
        raise
    return size


def _is_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _swap_in(new: Path, output: Path, replace: bool) -> None:
    """Put the complete `new` at output. Without `replace`, never over anything: what
    appeared at output since it was checked stays (InvalidPath). Over a file, one atomic
    rename; a folder (or a folder over a file) cannot be renamed over it, so the old one
    is renamed aside first, put back if the rename fails, and removed last."""
    if not replace:
        _move_no_clobber(new, output)
        return
    if not os.path.lexists(output) or not (_is_folder(output) or _is_folder(new)):
        os.replace(new, output)
        return
    aside = _tmp_beside(output)
    os.rename(output, aside)
    try:
        os.rename(new, output)
    except BaseException:
        os.rename(aside, output)
        raise
    _remove_tree(aside)


def _move_no_clobber(new: Path, output: Path) -> None:
    """Rename new to output unless something is there. A file is hard-linked there
    (which fails if output exists, atomically) and its temp name dropped; a folder is
    renamed, which fails over a file or a folder that holds anything (an empty folder
    made in between is the only thing it can replace, and nothing is lost with it)."""
    taken = InvalidPath(f"{output} already exists", hint="add --force to replace it")
    if _is_folder(new):
        if os.path.lexists(output) and not _is_folder(output):
            raise taken
        try:
            os.rename(new, output)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise taken from None
            raise
        return
    try:
        os.link(new, output, follow_symlinks=False)
    except FileExistsError:
        raise taken from None
    except OSError:  # no hard links on this file system: check, then rename
        if os.path.lexists(output):
            raise taken from None
        os.rename(new, output)
        return
    os.unlink(new)


def check_output(output: Path, project: Project, read_from: Path | None = None) -> Path:
    """output made absolute, or InvalidPath (exit 3) where writing or replacing it would
    destroy what must be kept: it is, or holds, the current folder, the home folder or a
    repository's top folder (the one read from, `read_from` for `--repo` on this machine,
    the one around the current folder); or it is, holds or lies inside their .git or
    .mreg, or the cache."""
    from mreg.fsutil import is_within
    from mreg.gitrepo import find_toplevel

    path = Path(os.path.abspath(output))
    # The entry that would be replaced: its folders resolved, itself not (a symlink
    # there is replaced, not followed).
    if path.name:
        path = path.parent.resolve() / path.name
    cwd = Path.cwd()
    kept = {cwd: "the current folder", Path(os.path.expanduser("~")): "the home folder"}
    tops = {project.root}
    for start in (cwd, read_from):  # not in a work tree: no repository to add
        with contextlib.suppress(MregError):
            if start is not None:
                tops.add(find_toplevel(start))
    sealed = {project.cache_dir: f"the cache {project.cache_dir}"}
    for top in tops:
        kept[top] = f"the repository {top}"
        sealed.update({top / inner: str(top / inner) for inner in (".git", ".mreg")})
    hint = "write it to a path of its own, e.g. -o model.pkl or -o /srv/models/churn"
    for folder, what in kept.items():
        if is_within(folder.resolve(), path):
            raise InvalidPath(f"-o {output} would replace {what}", hint=hint)
    for folder, what in sealed.items():
        real = folder.resolve()
        if is_within(real, path) or is_within(path, real):
            raise InvalidPath(f"-o {output} would write into or over {what}", hint=hint)
    return path


def _remove_tree(path: Path) -> None:
    with contextlib.suppress(OSError):
        if _is_folder(path):
            shutil.rmtree(path)
        else:
            path.unlink()


def get(
    ref: str,
    output: Path,
    *,
    start: Path | None = None,
    repo_url: str | None = None,
    remote_name: str | None = None,
    force: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> GetResult:
    """`mreg get`: one artifact to output, from the cache or straight from a remote.

    With repo_url, that repository is cloned (blobs on demand, no checkout) into a temp
    folder, the card is read from it, and its committed remote config is used.
    """
    if repo_url is None:
        with Project.open(start) as project:
            return _get_from(project, ref, output, remote_name, force, jobs, progress)
    from mreg.gitrepo import clone_metadata

    with tempfile.TemporaryDirectory(prefix="mreg-get-") as tmp:
        clone = Path(tmp) / "repo"
        clone_metadata(repo_url, clone)
        try:
            project = Project.open(clone)
        except NotInitialised:
            raise NotInitialised(
                f"{repo_url} has no committed .mreg/config.yaml",
                hint="is it an mreg repository? run mreg init there and commit .mreg",
            ) from None
        with project:
            return _get_from(
                project, ref, output, remote_name, force, jobs, progress, cache=False,
                read_from=_local_folder_of(repo_url),
            )  # fmt: skip


def _local_folder_of(repo_url: str) -> Path | None:
    """The folder a `--repo` URL names when it is on this machine (a path, file://)."""
    from mreg.remote import local_folder

    if "://" in repo_url and not repo_url.lower().startswith("file://"):
        return None
    try:
        path = Path(local_folder(repo_url))
    except MregError:  # names no folder: nothing here to keep
        return None
    return path.resolve() if path.exists() else None


def _get_from(
    project: Project,
    ref: str,
    output: Path,
    remote_name: str | None,
    force: bool,
    jobs: int | None,
    progress: Progress | None,
    cache: bool = True,
    read_from: Path | None = None,
) -> GetResult:
    from mreg.refs import resolve_card
    from mreg.status import cache_state

    card = resolve_card(project, ref)
    given, output = output, check_output(output, project, read_from)
    use_cache = cache and remote_name is None and cache_state(project, card) == "ok"
    if use_cache:
        size = get_card(
            card, output, _Source(project.store, None), force=force, jobs=jobs, progress=progress
        )
        where = "cache"
    else:
        with open_remote(project, remote_name) as remote:
            remote.check(reading=True)  # a missing bucket or folder is not a missing blob
            store = project.store if cache else None
            source = _Source(store, remote, _label(card))
            size = get_card(card, output, source, force=force, jobs=jobs, progress=progress)
            where = f"remote {remote.name}"
    return GetResult(
        card.name, card.version, card.artifact.oid, card.artifact.kind, str(given), size, where
    )


# ------------------------------------------------------------------------- remote status


def remote_states(
    project: Project, cards: list[Card], remote_name: str | None = None
) -> dict[str, str]:
    """card name -> 'ok' | 'missing' | 'partial': are its blobs on the remote?

    RemoteNotFound (exit 5) when the remote's bucket, or for a folder or SSH remote its
    folder, is not there, as for verify -r: then the URL is wrong (or nothing was ever
    pushed), and "missing" for every model would hide that."""
    store = project.store
    with open_remote(project, remote_name) as remote:
        on_remote = remote.list_blobs()
        if not on_remote:  # only then: a remote with blobs on it has its folder
            remote.check(reading=True)
        out: dict[str, str] = {}
        for card in cards:
            oid = card.artifact.oid
            if oid not in on_remote:
                out[card.name] = "missing"
                continue
            if card.artifact.kind != KIND_DIR:
                out[card.name] = "ok"
                continue
            entries = cache_manifest(store)(oid)
            if entries is None:
                entries = remote_manifest(remote, oid)[1]
            out[card.name] = "ok" if all(e.oid in on_remote for e in entries) else "partial"
    return out


def check_jobs(jobs: int | None) -> int | None:
    if jobs is not None and jobs < 1:
        raise InvalidArgument("-j/--jobs must be at least 1")
    return jobs
