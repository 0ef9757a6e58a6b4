"""`mreg gc`: delete blobs nothing refers to, from the cache or from a remote.

Layer: registry level, above transfer/history. What is referenced: the cards in the work
tree, in the index, and in every commit reachable from any branch, tag or stash
(`history.referenced_cards(project, "all")`), plus every file a referenced manifest
lists; a committed card this mreg refuses (an older mreg wrote it) counts by its artifact
section when that can be read. Temp files left by interrupted writes (`partial/`) go when
older than an hour.
What gc cannot read stops it, --force or not: a work-tree or staged card that does not
parse, or a work-tree folder's manifest that is missing.

A cache shared by several repositories (cache.dir) or a remote may hold blobs that other
repositories need and this one cannot see: gc there needs `force`.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from mreg.errors import BlobMissing, InvalidArgument
from mreg.hashing import Entry
from mreg.project import Project
from mreg.remote import Remote, open_remote
from mreg.transfer import Needs, cache_manifest, needs_of, remote_manifest

STALE_TEMP_SECONDS = 3600.0


@dataclass
class GcResult:
    """What gc removed (or would remove, with dry_run)."""

    where: str
    dry_run: bool
    removed: dict[str, int] = field(default_factory=dict)  # oid -> size
    temp_files: list[str] = field(default_factory=list)
    temp_bytes: int = 0
    kept: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def bytes_freed(self) -> int:
        return sum(self.removed.values()) + self.temp_bytes


def referenced_oids(project: Project, remote: Remote | None = None) -> Needs:
    """Every blob something refers to (manifests read from the cache, else the remote).

    What gc cannot read stops it, whatever --force says (--force is about blobs other
    repositories need): a work-tree or staged card that does not parse (InvalidCard), or
    a work-tree card's folder whose manifest is missing (BlobMissing). Mending or
    deleting the card, or fetching the manifest, is always possible. A manifest missing
    for an older version only (a clone that fetched the current ones) is left in
    `unreadable`, for a warning: the blobs only it lists go.
    """
    from mreg.history import referenced_cards
    from mreg.registry import list_cards

    worktree = list_cards(project)
    cards = referenced_cards(project, "all", strict=True, worktree=worktree)
    store = project.store
    listed = remote.list_blobs() if remote is not None else {}

    def read(oid: str) -> list[Entry] | None:
        local = cache_manifest(store)(oid)
        if local is not None or remote is None or oid not in listed:
            return local
        return remote_manifest(remote, oid)[1]

    needs = needs_of(cards, read)
    current = {e.card.artifact.oid for e in worktree if e.card is not None}
    for oid, users in needs.unreadable.items():
        if oid in current:
            where = f"on remote {remote.name} nor in the cache" if remote else "in the cache"
            raise BlobMissing(
                f"cannot tell which blobs {_who(users)} needs: its manifest {oid} is not {where}",
                hint="mreg fetch brings it back from a remote that holds it; mreg add of"
                " the folder writes it again",
            )
    return needs


def _who(users: list[str]) -> str:
    return " / ".join(dict.fromkeys(users))  # one version may come from several commits


def _unreadable_warnings(needs: Needs) -> list[str]:
    return [
        f"manifest {oid} of {_who(users)} was not found: the blobs only it lists"
        " cannot be told from garbage"
        for oid, users in needs.unreadable.items()
    ]


def gc(
    project: Project,
    *,
    dry_run: bool = False,
    remote_name: str | None = None,
    remote: bool = False,
    force: bool = False,
    older_than: float = STALE_TEMP_SECONDS,
) -> GcResult:
    """Remove unreferenced blobs from the cache (or, with remote, from a remote)."""
    if remote or remote_name is not None:
        return _gc_remote(project, remote_name, dry_run, force, older_than)
    if project.config.cache_dir is not None and not force and not dry_run:
        raise InvalidArgument(
            f"the cache {project.cache_dir} is set by cache.dir and may be shared:"
            " blobs other repositories need cannot be seen from here",
            hint="mreg gc --dry-run to see what would go; --force to delete anyway",
        )
    with project.lock():
        needs = referenced_oids(project)
        keep = needs.all
        store = project.store
        result = GcResult(
            where=f"cache {store.root}", dry_run=dry_run, warnings=_unreadable_warnings(needs)
        )
        for oid in list(store):
            if oid in keep:
                result.kept += 1
                continue
            path = store.blob_path(oid)
            try:
                size = path.stat().st_size
            except OSError:
                continue
            if not dry_run:
                store.remove(oid)
            result.removed[oid] = size
        now = time.time()
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(store.partial_dir):
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if now - st.st_mtime <= older_than:
                        continue
                    if not dry_run:
                        Path(entry.path).unlink()
                    result.temp_files.append(entry.path)
                    result.temp_bytes += st.st_size
    return result


def _gc_remote(
    project: Project, remote_name: str | None, dry_run: bool, force: bool, older_than: float
) -> GcResult:
    with open_remote(project, remote_name) as remote:
        warning = (
            f"other repositories that share remote {remote.name} ({remote.display}) cannot"
            " be seen from here: blobs only they refer to are deleted too"
        )
        if not force and not dry_run:
            raise InvalidArgument(
                f"gc on remote {remote.name} refuses without --force: {warning}",
                hint=f"mreg gc -r {remote.name} --dry-run to see what would go; then add --force",
            )
        remote.check(reading=True)  # no folder there: a wrong URL (exit 5), not "0 blobs"
        with project.lock():
            needs = referenced_oids(project, remote)
            keep = needs.all
            listed = remote.list_blobs()
            result = GcResult(
                where=f"remote {remote.name} ({remote.display})",
                dry_run=dry_run,
                warnings=[warning, *_unreadable_warnings(needs)],
            )
            for oid, size in sorted(listed.items()):
                if oid in keep:
                    result.kept += 1
                else:
                    result.removed[oid] = size
            temps = remote.stale_partials(older_than)
            result.temp_files = temps
            if not dry_run:
                remote.delete(list(result.removed))
                remote.remove_paths(temps)
    return result
