"""YAML in and out, safely.

Layer: bottom. Only the safe loader is used; on top of it this loader refuses duplicate
keys, keeps ISO-8601 timestamps as strings (so a card round-trips byte for byte), and
bounds alias expansion so that a "billion laughs" card cannot eat the machine.
"""

from __future__ import annotations

import math
import re
from typing import Any, Protocol

# Cards are small: anything past these limits is hostile or a mistake.
MAX_DEPTH = 64
MAX_NODES = 200_000


class YamlError(ValueError):
    """Raised for YAML that is malformed or refused; the caller adds which file it was."""


# YAML 1.1 wants a dot and a signed exponent (`1.0e-3`); people write `lr=1e-3`, which
# YAML 1.2 and JSON read as a float. Loader and dumper share the rule, so that the string
# "1e-3" is quoted when written and every value reads back as it was.
_EXP_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


def _resolvers(base: Any) -> dict[Any, list[tuple[str, Any]]]:
    """The base class's implicit resolvers, minus timestamps, plus exponent floats."""
    # Timestamps stay strings: `at: 2026-11-27T16:02:11Z` reads back as written.
    out = {
        ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for ch, resolvers in base.yaml_implicit_resolvers.items()
    }
    for ch in "-+.0123456789":
        out.setdefault(ch, []).append(("tag:yaml.org,2002:float", _EXP_FLOAT))
    return out


def _loader_class() -> Any:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc,valid-type]
        pass

    Loader.yaml_implicit_resolvers = _resolvers(base)

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                hash(key)
            except TypeError:
                raise YamlError(f"line {key_node.start_mark.line + 1}: unhashable key") from None
            if key in out:
                raise YamlError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
            out[key] = loader.construct_object(value_node, deep=deep)
        return out

    Loader.add_constructor("tag:yaml.org,2002:map", construct_mapping)

    # Cards, configs and metrics files hold plain data: refuse the safe loader's extra
    # types (binary, set, ordered maps, explicit timestamps), which do not round-trip.
    def refuse(loader: Any, node: Any) -> Any:
        raise YamlError(f"line {node.start_mark.line + 1}: YAML tag {node.tag!r} is not allowed")

    for extra in ("binary", "set", "omap", "pairs", "timestamp"):
        Loader.add_constructor(f"tag:yaml.org,2002:{extra}", refuse)
    return Loader


_LOADER: Any = None


def _check_shape(node: Any) -> None:
    """Bound depth and total node count, counting each alias use (defeats alias bombs)."""
    seen = 0
    stack = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise YamlError(f"document too large (more than {MAX_NODES} nodes, aliases counted)")
        if depth > MAX_DEPTH:
            raise YamlError(f"nesting deeper than {MAX_DEPTH} levels")
        value = current.value
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple):
                    stack.append((item[0], depth + 1))
                    stack.append((item[1], depth + 1))
                else:
                    stack.append((item, depth + 1))


def load(text: str | bytes) -> Any:
    """Parse one YAML document with the safe loader; raise YamlError on anything refused."""
    import yaml

    global _LOADER
    if _LOADER is None:
        _LOADER = _loader_class()
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_shape(node)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except YamlError:
        raise
    except yaml.YAMLError as exc:
        raise YamlError(" ".join(str(exc).split())) from None
    except RecursionError:
        raise YamlError(f"nesting deeper than {MAX_DEPTH} levels") from None
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError) as exc:
        # PyYAML's constructors raise these for a value its tag cannot hold: `!!int zz`,
        # `!!bool x`, `!!timestamp x`, `!!map [1]`, an integer of more than 4300 digits.
        raise YamlError(f"a value cannot be read: {type(exc).__name__}: {exc}") from None


class DocCache(Protocol):
    """Where parsed documents are kept by the sha256 of their bytes (StateCache)."""

    def doc_lookup(self, digest: str) -> tuple[bool, Any]: ...

    def doc_record(self, digest: str, doc: Any) -> None: ...


def load_cached(data: bytes, cache: DocCache | None) -> Any:
    """load(data), answered from `cache` when these exact bytes were parsed before.

    Only for files without secrets: the cache is a plain file under `.mreg/tmp/`.
    """
    if cache is None:
        return load(data)
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    hit, doc = cache.doc_lookup(digest)
    if not hit:
        doc = load(data)
        cache.doc_record(digest, doc)
    return doc


def _dumper_class() -> Any:
    import yaml

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

    class Dumper(base):  # type: ignore[misc,valid-type]
        pass

    Dumper.yaml_implicit_resolvers = _resolvers(base)
    return Dumper


_DUMPER: Any = None


def dump(data: Any) -> str:
    """Serialise to block-style YAML, keys in the order given, unicode kept."""
    import yaml

    global _DUMPER
    if _DUMPER is None:
        _DUMPER = _dumper_class()
    return str(
        yaml.dump(
            data,
            Dumper=_DUMPER,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=100,
        )
    )


_NUMBER = re.compile(r"^[-+]?(\d[\d_]*)?(\.\d*)?([eE][-+]?\d+)?$")


def parse_scalar(text: str) -> Any:
    """Parse `v` of a `k=v` option as a YAML scalar: 0.9 -> float, true -> bool, x -> str."""
    if text == "":
        return ""
    try:
        value = load(text)
    except YamlError:
        return text
    if isinstance(value, (dict, list)):
        return value
    if isinstance(value, float) and math.isinf(value) and _NUMBER.match(text):
        # 1e999 overflows: keep what the user wrote rather than inventing infinity.
        return text
    return value
