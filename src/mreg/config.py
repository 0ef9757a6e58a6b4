"""`.mreg/config.yaml` (committed) merged with `.mreg/config.local.yaml` (git-ignored).

Layer: core data, above yamlio. Unknown keys are kept, so newer configs still load.
"""

from __future__ import annotations

import re
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
    remotes: dict[str, RemoteSpec] = field(default_factory=dict)
    default_remote: str | None = None
    # Quality gates: model -> metric (dotted) -> rule (min, max, max_drop, ...) -> bound.
    checks: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------- remotes

REMOTE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")
# An option whose name holds one of these words is a secret: never in config.yaml.
SECRET_WORDS = ("key", "secret", "token", "password", "passwd", "credential", "connection_string")
ENV_REF_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def is_secret_option(name: str) -> bool:
    """True when an option's name says it holds a secret (key, token, password, ...)."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def only_env_refs(value: Any) -> bool:
    """True when a value is made only of `${VAR}` references (safe to commit)."""
    return isinstance(value, str) and bool(value) and ENV_REF_RE.sub("", value) == ""


def url_password(url: str) -> bool:
    """True when a URL carries a password (`ssh://user:pw@host`)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return "://" in url and parts.password is not None
    except ValueError:
        return False


@dataclass(frozen=True)
class RemoteSpec:
    """A remote as configured: its name, URL and fsspec options (`${VAR}` unexpanded)."""

    name: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)
    local: bool = False  # defined (at least partly) in config.local.yaml


def _check_remote(name: Any, value: Any, where: Path, local: bool) -> RemoteSpec:
    if not isinstance(name, str) or not REMOTE_NAME_RE.match(name):
        raise InvalidConfig(f"{where}: remotes: {name!r} is not a valid remote name")
    if not isinstance(value, dict):
        raise InvalidConfig(f"{where}: remotes.{name}: must be a mapping with a url")
    url = value.get("url")
    if not isinstance(url, str) or not url.strip():
        raise InvalidConfig(f"{where}: remotes.{name}.url: must be a non-empty string")
    options = value.get("options") or {}
    if not isinstance(options, dict) or any(not isinstance(k, str) for k in options):
        raise InvalidConfig(f"{where}: remotes.{name}.options: must be a mapping")
    return RemoteSpec(name=name, url=url, options=dict(options), local=local)


def committed_secret_problems(doc: dict[str, Any]) -> list[str]:
    """`remotes.NAME.options.KEY` paths of secrets written literally in a committed doc."""
    problems: list[str] = []
    remotes = doc.get("remotes")
    if not isinstance(remotes, dict):
        return problems
    for name, value in remotes.items():
        if not isinstance(value, dict):
            continue
        url = value.get("url")
        if isinstance(url, str) and url_password(url):
            problems.append(f"remotes.{name}.url")
        options = value.get("options")
        if not isinstance(options, dict):
            continue
        stack: list[tuple[str, Any]] = [
            (f"remotes.{name}.options.{k}", v) for k, v in options.items()
        ]
        while stack:
            path, v = stack.pop()
            if isinstance(v, dict):
                stack.extend((f"{path}.{k}", sub) for k, sub in v.items())
            elif (
                is_secret_option(path.rsplit(".", 1)[-1])
                and v not in (None, "")
                and not only_env_refs(v)
            ):
                problems.append(path)
    return problems


def _remotes(
    main: dict[str, Any], local: dict[str, Any], merged: dict[str, Any], main_path: Path
) -> dict[str, RemoteSpec]:
    section = merged.get("remotes")
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise InvalidConfig(f"{main_path}: remotes: must be a mapping of names to remotes")
    bad = committed_secret_problems(main)
    if bad:
        raise InvalidConfig(
            f"{main_path}: {bad[0]} holds a secret in the committed config",
            hint="move it to .mreg/config.local.yaml (git-ignored), or write ${ENV_VAR}",
        )
    local_names = set(
        (local.get("remotes") or {}) if isinstance(local.get("remotes"), dict) else {}
    )
    return {
        name: _check_remote(name, value, main_path, name in local_names)
        for name, value in section.items()
    }


def is_timeout(value: Any) -> bool:
    """A number of seconds a lock may be waited for: finite, 0 to 1e9 (NaN refused)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1e9


def _read(path: Path, docs: yamlio.DocCache | None = None) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InvalidConfig(f"{path}: cannot read: {exc.strerror}") from None
    try:
        doc = yamlio.load_cached(text, docs)
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


def load(mreg_dir: Path, docs: yamlio.DocCache | None = None) -> Config:
    """Load and validate the merged config of a project. `docs` keeps the parsed
    `config.yaml`; `config.local.yaml` may hold secrets and is never cached."""
    main_path = mreg_dir / "config.yaml"
    main_doc, local_doc = _read(main_path, docs), _read(mreg_dir / "config.local.yaml")
    raw = merge(main_doc, local_doc)
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
        if not isinstance(cache_dir, str) or not cache_dir or "\0" in cache_dir:
            raise InvalidConfig(f"{main_path}: cache.dir: must be a path")
        try:
            path = Path(cache_dir).expanduser()
        except RuntimeError:  # ~user with no such user, or no home folder
            raise InvalidConfig(f"{main_path}: cache.dir: cannot expand {cache_dir!r}") from None
        cfg.cache_dir = path if path.is_absolute() else (mreg_dir / path)
    timeout = (
        (raw.get("core") or {}).get("lock_timeout", 60)
        if isinstance(raw.get("core") or {}, dict)
        else 60
    )
    if not is_timeout(timeout):
        raise InvalidConfig(f"{main_path}: core.lock_timeout: must be a number of seconds")
    cfg.lock_timeout = float(timeout)
    cfg.remotes = _remotes(main_doc, local_doc, raw, main_path)
    core = raw.get("core") or {}
    default = core.get("remote") if isinstance(core, dict) else None
    if default is not None and (not isinstance(default, str) or not default):
        raise InvalidConfig(f"{main_path}: core.remote: must be the name of a remote")
    cfg.default_remote = default
    cfg.checks = parse_checks(raw.get("checks"), main_path)
    return cfg


# -------------------------------------------------------------------------------- checks

CHECK_RULES = ("min", "max", "max_drop", "max_rise", "max_drop_pct", "max_rise_pct")


def parse_checks(section: Any, where: Path) -> dict[str, dict[str, dict[str, float]]]:
    """Validate the `checks:` section (docs/ci.md). Metrics may be dotted (`loss.train`)
    or nested mappings; every problem is an InvalidConfig naming the key."""
    from mreg.names import check_name

    if section is None:
        return {}
    if not isinstance(section, dict):
        raise InvalidConfig(f"{where}: checks: must be a mapping of model names to metrics")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for model, metrics in section.items():
        key = f"checks.{model}"
        try:
            check_name(model if isinstance(model, str) else "")
        except Exception as exc:
            raise InvalidConfig(f"{where}: {key}: not a model name ({exc})") from None
        if not isinstance(metrics, dict) or not metrics:
            raise InvalidConfig(f"{where}: {key}: must be a mapping of metrics to rules")
        rules: dict[str, dict[str, float]] = {}
        # Where each rule was written (its YAML keys), to refuse one written twice.
        spelled: dict[tuple[str, str], str] = {}
        stack: list[tuple[str, tuple[str, ...], Any]] = [
            (str(m), (str(m),), r) for m, r in metrics.items()
        ]
        while stack:
            metric, keys, spec = stack.pop(0)
            mkey = f"{key}.{metric}"
            if not metric or any(not part for part in metric.split(".")):
                raise InvalidConfig(f"{where}: {mkey}: empty metric name")
            if not isinstance(spec, dict) or not spec:
                raise InvalidConfig(
                    f"{where}: {mkey}: must be a mapping of rules ({', '.join(CHECK_RULES)})"
                )
            for rule, bound in spec.items():
                if rule not in CHECK_RULES and isinstance(bound, dict):
                    stack.append((f"{metric}.{rule}", (*keys, str(rule)), bound))  # nested
                    continue
                if rule not in CHECK_RULES:
                    raise InvalidConfig(
                        f"{where}: {mkey}.{rule}: unknown rule",
                        hint=f"rules: {', '.join(CHECK_RULES)}",
                    )
                if (
                    not isinstance(bound, (int, float))
                    or isinstance(bound, bool)
                    or bound != bound
                    or bound in (float("inf"), float("-inf"))
                ):
                    raise InvalidConfig(f"{where}: {mkey}.{rule}: must be a number, not {bound!r}")
                if rule.startswith("max_") and bound < 0:
                    raise InvalidConfig(f"{where}: {mkey}.{rule}: must not be negative")
                spelling = _spelling((*keys, rule), bound)
                if (metric, rule) in spelled:
                    raise InvalidConfig(
                        f"{where}: {mkey}.{rule}: given twice, as "
                        f"{spelled[(metric, rule)]} and as {spelling}",
                        hint="keep one of them: both are the same rule of the same metric",
                    )
                spelled[(metric, rule)] = spelling
                rules.setdefault(metric, {})[rule] = float(bound)
        out[model] = rules
    return out


def _spelling(keys: tuple[str, ...], bound: Any) -> str:
    """How a rule was written under checks.MODEL, for messages:
    (('loss', 'train', 'max'), 0.6) -> `loss: {train: {max: 0.6}}`."""
    text = f"{keys[-1]}: {bound}"
    for k in reversed(keys[:-1]):
        text = f"{k}: {{{text}}}"
    return f"`{text}`"
