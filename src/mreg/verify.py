"""`mreg verify`: re-hash stored blobs, in the cache or on a remote, and say which are bad.

Layer: registry level, above transfer. A blob is bad when its bytes do not hash to its
name (corrupt) or when a model needs it and it is absent (missing). Each bad blob is
listed with the models (of the work tree, or of the REFs given) that need it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from mreg.card import Card
from mreg.errors import MregError
from mreg.hashing import Entry
from mreg.project import Project
from mreg.remote import Remote, default_jobs, open_remote
from mreg.store import Store
from mreg.transfer import (
    Needs,
    Progress,
    cache_manifest,
    needs_of,
    remote_manifest,
    run_parallel,
    select_cards,
)


@dataclass
class BadBlob:
    oid: str
    problem: str  # "corrupt" | "missing"
    models: list[str] = field(default_factory=list)


@dataclass
class VerifyResult:
    where: str
    checked: int = 0
    bytes: int = 0
    bad: list[BadBlob] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bad


def _needs(cards: list[Card], store: Store, remote: Remote | None, listed: set[str]) -> Needs:
    """Needs of cards; a manifest that cannot be read counts as needed, not as a crash."""

    def read(oid: str) -> list[Entry] | None:
        try:
            local = cache_manifest(store)(oid)
        except MregError:
            local = None
        if local is not None or remote is None or oid not in listed:
            return local
        try:
            return remote_manifest(remote, oid)[1]
        except MregError:
            return None

    return needs_of(cards, read)


def verify(
    project: Project,
    refs: list[str] | None = None,
    remote_name: str | None = None,
    *,
    remote: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> VerifyResult:
    """Re-hash every stored blob (or those REFs need); report corrupt and missing ones."""
    cards = select_cards(project, refs)
    if remote or remote_name is not None:
        with open_remote(project, remote_name) as r:
            return _verify_remote(project, cards, r, bool(refs), jobs, progress)
    store = project.store
    stored = set(store)
    needs = _needs(cards, store, None, set())
    targets = sorted(needs.all if refs else stored | set(needs.all))
    result = VerifyResult(where=f"cache {store.root}")
    lock = threading.Lock()
    present = [o for o in targets if o in stored]
    sizes = {o: store.size(o) for o in present}
    if progress:
        progress.start(sum(sizes.values()), len(present), "verify")

    def check(oid: str) -> None:
        ok = store.verify(oid)
        with lock:
            result.checked += 1
            result.bytes += sizes[oid]
            if not ok:
                result.bad.append(BadBlob(oid, "corrupt", needs.users.get(oid, [])))
        if progress:
            progress.advance(sizes[oid])

    run_parallel(present, check, jobs or default_jobs(), lambda _o, _e: False)
    for oid in targets:
        if oid not in stored:
            result.bad.append(BadBlob(oid, "missing", needs.users.get(oid, [])))
    result.bad.sort(key=lambda b: (b.problem, b.oid))
    return result


def _verify_remote(
    project: Project,
    cards: list[Card],
    remote: Remote,
    only_refs: bool,
    jobs: int | None,
    progress: Progress | None,
) -> VerifyResult:
    remote.check(reading=True)  # no folder there: the URL is wrong (exit 5), no blob "missing"
    listed = remote.list_blobs()
    needs = _needs(cards, project.store, remote, set(listed))
    targets = sorted(needs.all if only_refs else set(listed) | set(needs.all))
    result = VerifyResult(where=f"remote {remote.name} ({remote.display})")
    present = [o for o in targets if o in listed]
    if progress:
        progress.start(sum(listed[o] for o in present), len(present), "verify")
    lock = threading.Lock()

    def check(oid: str) -> None:
        got = remote.hash_blob(oid, progress.advance if progress else None)
        with lock:
            result.checked += 1
            result.bytes += listed[oid]
            if got != oid:
                problem = "missing" if got is None else "corrupt"
                result.bad.append(BadBlob(oid, problem, needs.users.get(oid, [])))

    run_parallel(present, check, jobs or default_jobs(), lambda _o, _e: False)
    for oid in targets:
        if oid not in listed:
            result.bad.append(BadBlob(oid, "missing", needs.users.get(oid, [])))
    result.bad.sort(key=lambda b: (b.problem, b.oid))
    return result
