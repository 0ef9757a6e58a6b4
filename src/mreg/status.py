"""`mreg status`: work tree vs cards vs cache (and card vs HEAD), per model.

Layer: registry level, above artifact/registry. Read-only: it never takes the lock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mreg.artifact import hash_artifact
from mreg.card import KIND_DIR, Card
from mreg.errors import MregError
from mreg.fsutil import safe_join
from mreg.hashing import parse_manifest
from mreg.project import Project
from mreg.registry import list_cards
from mreg.store import Store


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


def cache_state(store: Store, card: Card) -> str:
    """'ok' when every blob the artifact needs is in the cache, else missing/partial."""
    oid = card.artifact.oid
    if not store.has(oid):
        return "missing"
    if card.artifact.kind != KIND_DIR:
        return "ok"
    try:
        entries = parse_manifest(store.read_bytes(oid))
    except MregError:
        return "partial"
    return "ok" if all(store.has(e.oid) for e in entries) else "partial"


def worktree_state(project: Project, card: Card) -> str:
    """'ok' when the work-tree artifact hashes to the card's oid, else modified/missing."""
    try:
        path = safe_join(project.root, card.artifact.path, "artifact.path", last_link_ok=True)
    except MregError:
        return "invalid-path"
    if not os.path.lexists(path):
        return "missing"
    try:
        info = hash_artifact(
            path, card.artifact.path, project.state, links_into=project.store.root.resolve()
        )
    except MregError:
        return "modified"
    return "ok" if info.oid == card.artifact.oid else "modified"


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
            st.worktree = worktree_state(project, c)
            st.cache = cache_state(project.store, c)
        out.append(st)
    if remote or remote_name is not None:
        from mreg.transfer import remote_states

        cards = [e.card for e in entries if e.card is not None]
        states_on_remote = remote_states(project, cards, remote_name) if cards else {}
        for st in out:
            if st.error is None:
                st.remote = states_on_remote.get(st.name)
    return out
