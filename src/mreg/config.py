"""`.mreg/config.yaml` (committed) merged with `.mreg/config.local.yaml` (git-ignored).

Layer: core data, above yamlio. Unknown keys are kept, so newer configs still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mreg import yamlio
from mreg.errors import InvalidConfig

LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_LINKS = ["reflink", "copy"]

DEFAULT_CONFIG_TEXT = """\
# mreg configuration: committed to git. Secrets go in config.local.yaml (git-ignored).
cache:
  # How checkout puts artifacts in the work tree, tried in order:
  # reflink, hardlink, symlink, copy. Hard- and symlinked files are read-only.
  link: [reflink, copy]
  # fsync every blob before it is renamed into the cache (slower, crash-proof).
  fsync: false
"""


@dataclass
class Config:
    """The settings mreg reads; `raw` is the whole merged document."""

    cache_dir: Path | None = None
    link: list[str] = field(default_factory=lambda: list(DEFAULT_LINKS))
    fsync: bool = False
    lock_timeout: float = 60.0
    raw: dict[str, Any] = field(default_factory=dict)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InvalidConfig(f"{path}: cannot read: {exc.strerror}") from None
    try:
        doc = yamlio.load(text)
    except yamlio.YamlError as exc:
        raise InvalidConfig(f"{path}: invalid YAML: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InvalidConfig(f"{path}: must be a mapping")
    return doc


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `over` onto `base` (mappings merged, everything else replaced)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load(mreg_dir: Path) -> Config:
    """Load and validate the merged config of a project."""
    main_path = mreg_dir / "config.yaml"
    raw = merge(_read(main_path), _read(mreg_dir / "config.local.yaml"))
    cache = raw.get("cache") or {}
    if not isinstance(cache, dict):
        raise InvalidConfig(f"{main_path}: cache: must be a mapping")
    cfg = Config(raw=raw)
    link = cache.get("link", DEFAULT_LINKS)
    if isinstance(link, str):
        link = [link]
    if not isinstance(link, list) or not link or any(x not in LINK_TYPES for x in link):
        raise InvalidConfig(
            f"{main_path}: cache.link: must be a list of {', '.join(LINK_TYPES)}; got {link!r}"
        )
    cfg.link = list(link)
    fsync = cache.get("fsync", False)
    if not isinstance(fsync, bool):
        raise InvalidConfig(f"{main_path}: cache.fsync: must be true or false")
    cfg.fsync = fsync
    cache_dir = cache.get("dir")
    if cache_dir is not None:
        if not isinstance(cache_dir, str) or not cache_dir:
            raise InvalidConfig(f"{main_path}: cache.dir: must be a path")
        path = Path(cache_dir).expanduser()
        cfg.cache_dir = path if path.is_absolute() else (mreg_dir / path)
    timeout = (
        (raw.get("core") or {}).get("lock_timeout", 60)
        if isinstance(raw.get("core") or {}, dict)
        else 60
    )
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout < 0:
        raise InvalidConfig(f"{main_path}: core.lock_timeout: must be a number of seconds")
    cfg.lock_timeout = float(timeout)
    return cfg
