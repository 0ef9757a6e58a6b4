"""The git merge driver for model cards: a three-way merge, key by key.

Layer: core, above card/yamlio. git runs `mreg merge-driver %O %A %B %P` for every card
both branches changed (`.gitattributes`: `.mreg/models/*.yaml merge=mreg-card`); the
result goes into %A and exit 1 tells git a conflict is left. The rules (docs/hooks.md):

- Model-level keys (description, labels, serving, extra, unknown keys) merge key by key
  on the flattened mapping: a key changed on one side only takes that change; a key both
  sides changed the same way is taken; a key both changed differently is a conflict.
- The version block (version, artifact, registered, training, framework, params,
  metrics, data, features) belongs to the artifact it describes. When one side
  registered new bytes, that side's block is taken whole (the other side's edits to the
  old version's metadata would describe bytes that are no longer the model). When both
  registered different bytes, the card is a conflict: %A gets both cards between
  conflict markers that show each side's version, oid and headline metrics. When neither
  (or both the same) did, the block merges key by key too, except `registered`, which
  is taken whole from the side registered last.
- A card that is not valid YAML on some side falls back to git's own text merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mreg import card as card_mod
from mreg import yamlio
from mreg.errors import MregError
from mreg.hashing import short

VERSION_KEYS = (
    "version",
    "artifact",
    "registered",
    "training",
    "framework",
    "params",
    "metrics",
    "data",
    "features",
)
MARKER_SIZE = 7


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


@dataclass
class MergeResult:
    """What merging one card gave: the text for %A, the conflicting keys, notes."""

    text: str
    conflicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def flatten(doc: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """{'a': {'b': 1}} -> {('a', 'b'): 1}; lists and empty mappings are leaves."""
    out: dict[tuple[str, ...], Any] = {}
    for key, value in doc.items():
        path = (*prefix, str(key))
        if isinstance(value, dict) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def unflatten(flat: dict[tuple[str, ...], Any]) -> dict[str, Any] | None:
    """The inverse of flatten; None when a key is both a value and a mapping."""
    out: dict[str, Any] = {}
    for path in sorted(flat, key=len):
        node = out
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                return None
            node = child
        if path[-1] in node:
            return None
        node[path[-1]] = flat[path]
    return out


def three_way(
    base: dict[tuple[str, ...], Any],
    ours: dict[tuple[str, ...], Any],
    theirs: dict[tuple[str, ...], Any],
) -> tuple[dict[tuple[str, ...], Any], dict[tuple[str, ...], Any], list[tuple[str, ...]]]:
    """Merge flattened mappings: (ours-resolved, theirs-resolved, conflicting keys).

    The two results differ only at the conflicting keys, where each keeps its own side.
    """
    as_ours: dict[tuple[str, ...], Any] = {}
    as_theirs: dict[tuple[str, ...], Any] = {}
    conflicts: list[tuple[str, ...]] = []
    order = list(ours) + [k for k in theirs if k not in ours] + [k for k in base if k not in ours]
    for key in dict.fromkeys(order):
        o, a, b = base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING)
        if _same(a, b) or _same(b, o):
            va = vb = a
        elif _same(a, o):
            va = vb = b
        else:
            conflicts.append(key)
            va, vb = a, b
        if va is not MISSING:
            as_ours[key] = va
        if vb is not MISSING:
            as_theirs[key] = vb
    return as_ours, as_theirs, conflicts


def _oid(doc: dict[str, Any]) -> Any:
    art = doc.get("artifact")
    return (art.get("oid"), art.get("kind")) if isinstance(art, dict) else None


def _registered_at(doc: dict[str, Any]) -> str:
    reg = doc.get("registered")
    at = reg.get("at") if isinstance(reg, dict) else None
    return at if isinstance(at, str) else ""


def _split(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    version = {k: v for k, v in doc.items() if k in VERSION_KEYS}
    model = {k: v for k, v in doc.items() if k not in VERSION_KEYS}
    return version, model


def headline(doc: dict[str, Any], limit: int = 3) -> str:
    """`v3 sha256 ab12cd34ef56 auc=0.912 f1=0.81`: what a person chooses between."""
    parts = [f"v{doc.get('version', '?')}"]
    oid = _oid(doc)
    if oid and isinstance(oid[0], str):
        parts.append(short(oid[0]))
    metrics = doc.get("metrics")
    if isinstance(metrics, dict):
        shown = 0
        for key, value in card_mod.flatten(metrics).items():
            if card_mod.is_number(value) and shown < limit:
                parts.append(f"{key}={value:.6g}" if isinstance(value, float) else f"{key}={value}")
                shown += 1
    return " ".join(parts)


def _render(doc: dict[str, Any], source: str) -> str:
    try:
        return card_mod.dump(card_mod.from_dict(doc, source))
    except MregError:
        return yamlio.dump(doc)


def _load(data: bytes, source: str) -> dict[str, Any] | None:
    """A card's mapping, or None when it is not a valid card (text merge then)."""
    try:
        doc = yamlio.load(data)
        card_mod.from_dict(doc, source)
    except (yamlio.YamlError, MregError):
        return None
    return doc if isinstance(doc, dict) else None


def merge_cards(base: bytes, ours: bytes, theirs: bytes, path: str) -> MergeResult | None:
    """Merge three versions of a card; None when one is not a valid card."""
    o: dict[str, Any] | None = {}
    if base.strip():
        o = _load(base, f"{path} (base)")
    a = _load(ours, f"{path} (ours)")
    b = _load(theirs, f"{path} (theirs)")
    if o is None or a is None or b is None:
        return None
    notes: list[str] = []
    ov, om = _split(o)
    av, am = _split(a)
    bv, bm = _split(b)
    a_new, b_new = _oid(a) != _oid(o), _oid(b) != _oid(o)

    ours_m, theirs_m, conflicts = three_way(flatten(om), flatten(am), flatten(bm))
    name = str(a.get("name") or b.get("name") or path)
    if a_new and b_new and _oid(a) != _oid(b):
        ours_v, theirs_v = flatten(av), flatten(bv)
        conflicts = [("artifact",), *conflicts]
    elif b_new and not a_new:
        ours_v = theirs_v = flatten(bv)
        dropped = _edited(ov, av)
        if dropped:
            notes.append(
                f"{name}: theirs registered {headline(b)}; ours' edits to the metadata of"
                f" v{o.get('version')} ({', '.join(dropped)}) were about the old bytes: dropped"
            )
    elif a_new and not b_new:
        ours_v = theirs_v = flatten(av)
        dropped = _edited(ov, bv)
        if dropped:
            notes.append(
                f"{name}: ours registered {headline(a)}; theirs' edits to the metadata of"
                f" v{o.get('version')} ({', '.join(dropped)}) were about the old bytes: dropped"
            )
    else:
        # `registered` is bookkeeping: taken whole from the side registered last.
        ours_v, theirs_v, more = three_way(
            flatten(_without(ov, "registered")),
            flatten(_without(av, "registered")),
            flatten(_without(bv, "registered")),
        )
        conflicts.extend(more)
        latest = b if _registered_at(b) > _registered_at(a) else a
        if "registered" in latest:
            for side in (ours_v, theirs_v):
                side.update(flatten({"registered": latest["registered"]}))

    merged_ours = unflatten({**ours_v, **ours_m})
    merged_theirs = unflatten({**theirs_v, **theirs_m})
    if merged_ours is None or merged_theirs is None:
        merged_ours, merged_theirs = a, b
        conflicts = conflicts or [("(structure)",)]
    if not conflicts:
        try:
            text = card_mod.dump(card_mod.from_dict(merged_ours, f"{path} (merged)"))
            return MergeResult(text, [], notes)
        except MregError as exc:
            notes.append(f"the merged card is not valid ({exc.message}): both sides kept")
            merged_ours, merged_theirs, conflicts = a, b, [("(invalid)",)]
    keys = [".".join(k) for k in conflicts]
    text = (
        f"# mreg merge: both branches changed {', '.join(keys)} of {name}."
        " Keep one side, delete the other and the marker lines.\n"
        f"{'<' * MARKER_SIZE} ours: {headline(merged_ours)}\n"
        f"{_render(merged_ours, path)}"
        f"{'=' * MARKER_SIZE}\n"
        f"{_render(merged_theirs, path)}"
        f"{'>' * MARKER_SIZE} theirs: {headline(merged_theirs)}\n"
    )
    return MergeResult(text, keys, notes)


def _without(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != key}


def _edited(base: dict[str, Any], side: dict[str, Any]) -> list[str]:
    """Version-block keys a side changed against the base (registered aside)."""
    fb, fs = flatten(base), flatten(side)
    keys = {k for k in set(fb) | set(fs) if not _same(fb.get(k, MISSING), fs.get(k, MISSING))}
    return sorted({".".join(k) for k in keys if k[0] not in ("registered", "version", "artifact")})
