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


MAIN_NAME = "config.yaml"
LOCAL_NAME = "config.local.yaml"


class ConfigFileError(InvalidConfig):
    """An InvalidConfig that knows the file(s) the offending value came from: `files` is
    (config.yaml,), (config.local.yaml,), or both when the value is wrong only as the two
    merge. Its message starts with the same file(s)."""

    def __init__(self, files: tuple[Path, ...], message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.files = files


def _lookup(doc: Any, keys: tuple[Any, ...]) -> tuple[bool, Any]:
    """(True, value) when `doc` holds a value at `keys` (mappings all the way), else
    (False, None)."""
    for k in keys:
        if not isinstance(doc, dict) or k not in doc:
            return False, None
        doc = doc[k]
    return True, doc


@dataclass(frozen=True)
class _Sources:
    """The two documents that `merge` joins, kept to name where a bad value came from."""

    main: dict[str, Any]
    local: dict[str, Any]
    main_path: Path
    local_path: Path

    def of(self, *keys: Any) -> tuple[Path, ...]:
        """The file(s) the merged value at `keys` came from: config.local.yaml when it sets
        that key (both files when each holds a mapping there: those merge), else
        config.yaml. For a key neither sets, the file(s) of the mapping that lacks it."""
        in_local, lv = _lookup(self.local, keys)
        in_main, mv = _lookup(self.main, keys)
        if in_local:
            if in_main and isinstance(lv, dict) and isinstance(mv, dict):
                return (self.main_path, self.local_path)
            return (self.local_path,)
        if in_main or not keys:
            return (self.main_path,)
        return self.of(*keys[:-1])

    def spelling(self, *keys: Any) -> tuple[Path, ...]:
        """The file(s) that write the key at `keys` (a bad name is bad in each of them)."""
        found = tuple(
            path
            for path, doc in ((self.main_path, self.main), (self.local_path, self.local))
            if _lookup(doc, keys)[0]
        )
        return found or self.of(*keys)

    def name(self, files: tuple[Path, ...]) -> str:
        """How a message names `files`: one full path, or both when they merge."""
        if len(files) == 1:
            return str(files[0])
        return f"{self.main_path} and {self.local_path.name} (merged)"

    def error(
        self, files: tuple[Path, ...], key: str, problem: str, hint: str | None = None
    ) -> ConfigFileError:
        """`FILE: key: problem`, naming the file(s) the bad value came from."""
        return ConfigFileError(files, f"{self.name(files)}: {key}: {problem}", hint=hint)


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


def _check_remote(name: Any, value: Any, src: _Sources, local: bool) -> RemoteSpec:
    keys = ("remotes", name)
    if not isinstance(name, str) or not REMOTE_NAME_RE.match(name):
        raise src.error(src.spelling(*keys), "remotes", f"{name!r} is not a valid remote name")
    if not isinstance(value, dict):
        raise src.error(src.of(*keys), f"remotes.{name}", "must be a mapping with a url")
    url = value.get("url")
    if not isinstance(url, str) or not url.strip():
        raise src.error(src.of(*keys, "url"), f"remotes.{name}.url", "must be a non-empty string")
    options = value.get("options") or {}
    if not isinstance(options, dict):
        raise src.error(src.of(*keys, "options"), f"remotes.{name}.options", "must be a mapping")
    for option in options:
        if not isinstance(option, str):
            raise src.error(
                src.spelling(*keys, "options", option),
                f"remotes.{name}.options",
                f"must be a mapping of names (not {option!r}) to values",
            )
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


def _remotes(merged: dict[str, Any], src: _Sources) -> dict[str, RemoteSpec]:
    section = merged.get("remotes")
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise src.error(src.of("remotes"), "remotes", "must be a mapping of names to remotes")
    bad = committed_secret_problems(src.main)
    if bad:
        raise ConfigFileError(
            (src.main_path,),
            f"{src.main_path}: {bad[0]} holds a secret in the committed config",
            hint=f"move it to .mreg/{LOCAL_NAME} (git-ignored), or write ${{ENV_VAR}}",
        )
    local_remotes = src.local.get("remotes")
    local_names = set(local_remotes) if isinstance(local_remotes, dict) else set()
    return {
        name: _check_remote(name, value, src, name in local_names)
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
        raise ConfigFileError((path,), f"{path}: cannot read: {exc.strerror}") from None
    try:
        doc = yamlio.load_cached(text, docs)
    except yamlio.YamlError as exc:
        raise ConfigFileError((path,), f"{path}: invalid YAML: {exc}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigFileError((path,), f"{path}: must be a mapping")
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
    `config.yaml`; `config.local.yaml` may hold secrets and is never cached. Every
    problem is a ConfigFileError naming the file the bad value came from."""
    main_path, local_path = mreg_dir / MAIN_NAME, mreg_dir / LOCAL_NAME
    main_doc, local_doc = _read(main_path, docs), _read(local_path)
    src = _Sources(main_doc, local_doc, main_path, local_path)
    raw = merge(main_doc, local_doc)
    cache = raw.get("cache") or {}
    if not isinstance(cache, dict):
        raise src.error(src.of("cache"), "cache", "must be a mapping")
    cfg = Config(raw=raw)
    link = cache.get("link", DEFAULT_LINKS)
    if isinstance(link, str):
        link = [link]
    if not isinstance(link, list) or not link or any(x not in LINK_TYPES for x in link):
        raise src.error(
            src.of("cache", "link"),
            "cache.link",
            f"must be a list of {', '.join(LINK_TYPES)}; got {link!r}",
        )
    cfg.link = list(link)
    fsync = cache.get("fsync", False)
    if not isinstance(fsync, bool):
        raise src.error(src.of("cache", "fsync"), "cache.fsync", "must be true or false")
    cfg.fsync = fsync
    cache_dir = cache.get("dir")
    if cache_dir is not None:
        if not isinstance(cache_dir, str) or not cache_dir or "\0" in cache_dir:
            raise src.error(src.of("cache", "dir"), "cache.dir", "must be a path")
        try:
            path = Path(cache_dir).expanduser()
        except RuntimeError:  # ~user with no such user, or no home folder
            raise src.error(
                src.of("cache", "dir"), "cache.dir", f"cannot expand {cache_dir!r}"
            ) from None
        cfg.cache_dir = path if path.is_absolute() else (mreg_dir / path)
    timeout = (
        (raw.get("core") or {}).get("lock_timeout", 60)
        if isinstance(raw.get("core") or {}, dict)
        else 60
    )
    if not is_timeout(timeout):
        raise src.error(
            src.of("core", "lock_timeout"), "core.lock_timeout", "must be a number of seconds"
        )
    cfg.lock_timeout = float(timeout)
    cfg.remotes = _remotes(raw, src)
    core = raw.get("core") or {}
    default = core.get("remote") if isinstance(core, dict) else None
    if default is not None and (not isinstance(default, str) or not default):
        raise src.error(src.of("core", "remote"), "core.remote", "must be the name of a remote")
    cfg.default_remote = default
    cfg.checks = _parse_checks(raw.get("checks"), src)
    return cfg


# -------------------------------------------------------------------------------- checks

CHECK_RULES = ("min", "max", "max_drop", "max_rise", "max_drop_pct", "max_rise_pct")


def _parse_checks(section: Any, src: _Sources) -> dict[str, dict[str, dict[str, float]]]:
    """Validate the merged `checks:` section (docs/ci.md). Metrics may be dotted
    (`loss.train`) or nested mappings; every problem is a ConfigFileError naming the key
    and the file(s) it came from."""
    from mreg.names import check_name

    if section is None:
        return {}
    if not isinstance(section, dict):
        raise src.error(src.of("checks"), "checks", "must be a mapping of model names to metrics")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for model, metrics in section.items():
        key = f"checks.{model}"
        try:
            check_name(model if isinstance(model, str) else "")
        except Exception as exc:
            raise src.error(
                src.spelling("checks", model), key, f"not a model name ({exc})"
            ) from None
        if not isinstance(metrics, dict) or not metrics:
            raise src.error(src.of("checks", model), key, "must be a mapping of metrics to rules")
        rules: dict[str, dict[str, float]] = {}
        # The YAML keys and bound of each rule as written, to refuse one written twice.
        spelled: dict[tuple[str, str], tuple[tuple[Any, ...], Any]] = {}
        # (metric, its YAML keys under checks.MODEL, its rules)
        stack: list[tuple[str, tuple[Any, ...], Any]] = [
            (str(m), (m,), r) for m, r in metrics.items()
        ]
        while stack:
            metric, keys, spec = stack.pop(0)
            at = ("checks", model, *keys)
            mkey = f"{key}.{metric}"
            if not metric or any(not part for part in metric.split(".")):
                raise src.error(src.spelling(*at), mkey, "empty metric name")
            if not isinstance(spec, dict) or not spec:
                raise src.error(
                    src.of(*at), mkey, f"must be a mapping of rules ({', '.join(CHECK_RULES)})"
                )
            for rule, bound in spec.items():
                if rule not in CHECK_RULES and isinstance(bound, dict):
                    stack.append((f"{metric}.{rule}", (*keys, rule), bound))  # nested
                    continue
                if rule not in CHECK_RULES:
                    raise src.error(
                        src.spelling(*at, rule),
                        f"{mkey}.{rule}",
                        "unknown rule",
                        hint=f"rules: {', '.join(CHECK_RULES)}",
                    )
                if (
                    not isinstance(bound, (int, float))
                    or isinstance(bound, bool)
                    or bound != bound
                    or bound in (float("inf"), float("-inf"))
                ):
                    raise src.error(
                        src.of(*at, rule), f"{mkey}.{rule}", f"must be a number, not {bound!r}"
                    )
                if rule.startswith("max_") and bound < 0:
                    raise src.error(src.of(*at, rule), f"{mkey}.{rule}", "must not be negative")
                if (metric, rule) in spelled:
                    first, first_bound = spelled[(metric, rule)]
                    raise _given_twice(
                        src, model, mkey, rule, (first, first_bound), ((*keys, rule), bound)
                    )
                spelled[(metric, rule)] = ((*keys, rule), bound)
                rules.setdefault(metric, {})[rule] = float(bound)
        out[model] = rules
    return out


def _given_twice(
    src: _Sources,
    model: Any,
    mkey: str,
    rule: str,
    first: tuple[tuple[Any, ...], Any],
    second: tuple[tuple[Any, ...], Any],
) -> ConfigFileError:
    """A rule written twice under checks.MODEL (`loss.train: {max: 1}` and `loss: {train:
    {max: 2}}`): in one file, or one spelling in each, which only the merge joins."""
    (files_a, a), (files_b, b) = (
        (src.of("checks", model, *keys), _spelling(keys, bound)) for keys, bound in (first, second)
    )
    files = files_a
    if files_a != files_b:  # each a leaf, so one file each
        files = (src.main_path, src.local_path)
        a, b = f"{a} in {files_a[0].name}", f"{b} in {files_b[0].name}"
    return src.error(
        files,
        f"{mkey}.{rule}",
        f"given twice, as {a} and as {b}",
        hint="keep one of them: both are the same rule of the same metric",
    )


def _spelling(keys: tuple[Any, ...], bound: Any) -> str:
    """How a rule was written under checks.MODEL, for messages:
    (('loss', 'train', 'max'), 0.6) -> `loss: {train: {max: 0.6}}`."""
    text = f"{keys[-1]}: {bound}"
    for k in reversed(keys[:-1]):
        text = f"{k}: {{{text}}}"
    return f"`{text}`"
