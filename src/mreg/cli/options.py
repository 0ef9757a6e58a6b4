"""Parsing of repeated `k=v` options and params/metrics files, shared by commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mreg import yamlio
from mreg.errors import InvalidArgument
from mreg.hashing import load_json


def parse_pairs(values: list[str] | None, option: str) -> dict[str, Any]:
    """['a.b=1', 'c=x'] -> {'a': {'b': 1}, 'c': 'x'}; values are YAML scalars."""
    out: dict[str, Any] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=option)
        parts = key.split(".")
        if any(not p for p in parts):
            raise typer.BadParameter(f"{key!r} has an empty segment", param_hint=option)
        value = yamlio.parse_scalar(raw)
        if isinstance(value, (dict, list)):
            raise InvalidArgument(
                f"{option} {key}: value must be a number, string, boolean or null, not "
                f"{'a list' if isinstance(value, list) else 'a mapping'}",
                hint=f"use nested keys ({option} {key}.sub=1) or a file",
            )
        node = out
        for p in parts[:-1]:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise InvalidArgument(f"{option} {key}: {p!r} is both a value and a group")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise InvalidArgument(f"{option} {key}: is both a value and a group")
        node[parts[-1]] = value
    return out


def read_mapping_file(path: Path | None, option: str) -> dict[str, Any]:
    """A JSON or YAML file that must hold a mapping (nested kept nested)."""
    if path is None:
        return {}
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidArgument(f"{option} {path}: cannot read: {exc.strerror}") from None
    if path.suffix.lower() == ".json":
        try:
            doc = load_json(data)
        except ValueError as exc:
            raise InvalidArgument(f"{option} {path}: invalid JSON: {exc}") from None
    else:
        try:
            doc = yamlio.load(data)
        except yamlio.YamlError as exc:
            raise InvalidArgument(f"{option} {path}: invalid JSON/YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidArgument(
            f"{option} {path}: must hold a mapping of names to values, not "
            f"{type(doc).__name__ if doc is not None else 'nothing'}"
        )
    return doc
