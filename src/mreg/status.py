"""`mreg status`: work tree vs cards vs cache (and card vs HEAD), per model.

Layer: registry level, above artifact/registry. Read-only: it never takes the lock.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from mreg.artifact import cache_has_all, hash_artifact
from mreg.card import KIND_DIR, Card
from mreg.errors import MregError
from mreg.fsutil import safe_join
from mreg.hashing import Entry, parse_manifest
from mreg.project import Project
from mreg.registry import list_cards


@dataclass
class ModelStatus:
    """One model's state. worktree: ok | modified | missing; cache: ok | missing | partial;
    card: unchanged | new | modified (against HEAD); error: why the card is broken."""

    name: str
    card_path: str
    version: int | None = None
    path: str | None = None
    oid: str | None = None
    worktree: str | None = None
    cache: str | None = None
    card: str = "unchanged"
    error: str | None = None
    remote: str | None = None  # with status(remote=True): ok | missing | partial


def cache_state(project: Project, card: Card) -> str:
    """'ok' when every blob the artifact needs is in the cache, else missing, partial
    (a folder some of whose files are missing) or corrupt (its manifest)."""
    return _cache_state(project, card, None)


def _cache_state(project: Project, card: Card, entries: Sequence[Entry] | None) -> str:
    """cache_state; `entries`: the files of the tree whose oid is the card's, hashed from
    the work tree just now, so its manifest blob need not be parsed again."""
    oid, store = card.artifact.oid, project.store
    if not store.has(oid):
        return "missing"
    if card.artifact.kind != KIND_DIR:
        return "ok"
    if cache_has_all(store, project.state, oid, entries):
        return "ok"
    try:  # told apart only now: the common answer above needs no second read
        parse_manifest(store.read_bytes(oid), keep_git=True)  # (checkout refuses that)
    except MregError:
        return "corrupt"  # the manifest itself (mreg verify re-hashes every blob)
    return "partial"


def worktree_state(project: Project, card: Card) -> str:
    """'ok' when the work-tree artifact hashes to the card's oid, else modified/missing."""
    return _worktree_state(project, card)[0]


def _worktree_state(project: Project, card: Card) -> tuple[str, Sequence[Entry] | None]:
    """worktree_state, and when it is 'ok' for a folder, the files found in it."""
    try:
        path = safe_join(project.root, card.artifact.path, "artifact.path", last_link_ok=True)
    except MregError:
        return "invalid-path", None
    if not os.path.lexists(path):
        return "missing", None
    try:
        info = hash_artifact(
            path,
            card.artifact.path,
            project.state,
            links_into=project.store.root.resolve(),
            entries=False,
        )
    except MregError:
        return "modified", None
    if info.oid != card.artifact.oid:
        return "modified", None
    # A folder answered from its fingerprint comes without its files (info.files > 0).
    same_tree = info.kind == KIND_DIR and len(info.entries) == info.files
    return "ok", info.entries if same_tree else None


def status(
    project: Project, remote: bool = False, remote_name: str | None = None
) -> list[ModelStatus]:
    """The state of every model in the work tree (broken cards included, with error).

    With remote, also whether each model's blobs are on the remote (default: the
    default remote), found with one listing of it.
    """
    entries = list_cards(project)
    states = project.git.path_states([".mreg/models"]) if entries else {}
    out = []
    for entry in entries:
        st = ModelStatus(
            name=entry.name, card_path=entry.path, card=states.get(entry.path, "unchanged")
        )
        if entry.card is None:
            st.error = entry.error
        else:
            c = entry.card
            st.version, st.path, st.oid = c.version, c.artifact.path, c.artifact.oid
            st.worktree, files = _worktree_state(project, c)
            st.cache = _cache_state(project, c, files)
        out.append(st)
    if remote or remote_name is not None:
        from mreg.transfer import remote_states

        # Asked even with no cards: a remote that is not there is an error either way.
        cards = [e.card for e in entries if e.card is not None]
        states_on_remote = remote_states(project, cards, remote_name)
        for st in out:
            if st.error is None:
                st.remote = states_on_remote.get(st.name)
    return out
