"""mreg: a git-native model registry.

Layer: the package root. It holds the version and re-exports the Python API
(`mreg.add`, `mreg.track`, `mreg.load_card`, `mreg.open`, `mreg.list_models`, ...)
lazily, so that `import mreg` and `mreg --version` stay fast: nothing heavy is imported
until used.
"""

from __future__ import annotations

import sys
import types

# Not `from typing import TYPE_CHECKING`: typing pulls in re, enum and functools, a
# third of what `mreg --version` and the git hooks would otherwise import.
TYPE_CHECKING = False
if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ imports lazily
    from typing import Any

    from mreg.api import (
        AddResult,
        Card,
        MregError,
        Run,
        add,
        checkout,
        diff,
        init,
        list_models,
        load_card,
        log,
        open,
        resolve,
        status,
        track,
    )

__version__ = "0.1.0"

__all__ = [
    "AddResult",
    "Card",
    "MregError",
    "Run",
    "__version__",
    "add",
    "checkout",
    "diff",
    "init",
    "list_models",
    "load_card",
    "log",
    "open",
    "resolve",
    "status",
    "track",
]
_API = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    if name in _API:
        from mreg import api

        return getattr(api, name)
    raise AttributeError(f"module 'mreg' has no attribute {name!r}")


class _Package(types.ModuleType):
    """The `mreg` module, keeping API names for the API.

    Importing a submodule binds it on its package: loading `mreg.status` (the module) would
    turn `mreg.status` (the function) into a module. Those bindings are dropped for API
    names; the submodules stay importable by their dotted names (`from mreg.status import`).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
