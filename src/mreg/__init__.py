"""mreg: a git-native model registry.

Layer: the package root. It holds the version and re-exports the Python API
(`mreg.add`, `mreg.track`, `mreg.load_card`, `mreg.list_models`, ...) lazily, so that
`import mreg` and `mreg --version` stay fast: nothing heavy is imported until used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "add",
    "track",
    "load_card",
    "list_models",
    "status",
    "checkout",
    "init",
    "diff",
    "log",
    "resolve",
    "Card",
    "AddResult",
    "Run",
    "MregError",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    if name in _API:
        from mreg import api

        return getattr(api, name)
    raise AttributeError(f"module 'mreg' has no attribute {name!r}")
