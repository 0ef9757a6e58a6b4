"""The Python API for training code and scripts (re-exported by `mreg`).

Layer: top of the core (the CLI stands beside it, not on it). Every function opens the
project that contains `repo` (default: the current folder), returns dataclasses, never
prints, and raises `MregError` subclasses with the same meaning as the CLI's exit codes.

    import mreg
    with mreg.track("churn", params={"lr": 0.01}) as run:
        model = train(...)
        run.log_metrics(auc=0.91)
        run.log_artifact("out/model.pkl")
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, BinaryIO, NoReturn

from mreg import project as project_mod
from mreg import registry
from mreg.card import KIND_FILE, Card, plain_values
from mreg.checkout import CheckoutResult, checkout_card, raise_for
from mreg.diff import Row
from mreg.errors import BlobCorrupt, BlobMissing, InvalidArgument, InvalidPath, MregError
from mreg.history import LogEntry, Resolved
from mreg.registry import AddResult, CardEntry
from mreg.status import ModelStatus

__all__ = [
    "AddResult",
    "Card",
    "CardEntry",
    "CheckoutResult",
    "ModelStatus",
    "MregError",
    "Run",
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


_STR = ((str,), "a str")
_OPT_STR = ((str, type(None)), "a str or None")
_PATH = ((str, os.PathLike), "a str or a Path")
_OPT_DICT = ((Mapping, type(None)), "a dict or None")
_BOOL = ((bool,), "True or False")
# What each API parameter may be, by its name. Checked at the boundary so that a wrong
# type is an InvalidArgument naming the parameter, not a TypeError from deep inside.
# A list parameter also takes one item alone (`names="churn"`): iterating a str would
# make it a list of characters.
_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "name": _STR,
    "ref": _STR,
    "spec": _PATH,
    "path": _PATH,
    "repo": ((str, os.PathLike, type(None)), "a str, a Path or None"),
    "rev": _OPT_STR,
    "a": _OPT_STR,
    "b": _OPT_STR,
    "description": _OPT_STR,
    "framework": _OPT_STR,
    "message": _OPT_STR,
    "params": _OPT_DICT,
    "metrics": _OPT_DICT,
    "labels": _OPT_DICT,
    "limit": ((int, type(None)), "an int >= 0 or None"),
    "file": ((str, os.PathLike, type(None)), "a str, a Path or None"),
    "commit": _BOOL,
    "force": _BOOL,
    "include_unchanged": _BOOL,
    "verify": _BOOL,
}
_LISTS: dict[str, tuple[tuple[type, ...], str]] = {"names": _STR, "data": _PATH}


def _check(**values: Any) -> None:
    """Raise InvalidArgument for the first of `values` that is not of its kind."""
    for param, value in values.items():
        if param in _LISTS:
            kinds, what = _LISTS[param]
            if value is None or isinstance(value, kinds):
                continue
            if not isinstance(value, (list, tuple)):
                _refuse(param, value, f"{what}, a list of them, or None")
            for i, item in enumerate(value):
                if not isinstance(item, kinds):
                    _refuse(f"{param}[{i}]", item, what)
            continue
        kinds, what = _KINDS[param]
        # bool is an int: limit=True would quietly be limit=1.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            _refuse(param, value, what)
        if param == "limit" and isinstance(value, int) and value < 0:
            raise InvalidArgument(f"limit must be >= 0, not {value}", hint="None means no limit")


def _refuse(param: str, value: object, what: str) -> NoReturn:
    raise InvalidArgument(
        f"{param} must be {what}, not {type(value).__name__}",
        hint="the Python API's parameters: docs/getting-started.md#the-python-api",
    )


def _plain_str(value: str) -> str:
    """A str argument (after `_check`) as a plain str: a subclass (numpy.str_, a str Enum)
    would reach the card, which cannot hold it. str.__str__, not str(): an Enum overrides
    __str__, and the card keeps the value."""
    return value if type(value) is str else str.__str__(value)


def _plain_opt(value: str | None) -> str | None:
    return None if value is None else _plain_str(value)


def _plain_data(value: Any) -> Any:
    """`data` (after `_check`) with each str a plain str."""
    if isinstance(value, (list, tuple)):
        return [_plain_str(v) if isinstance(v, str) else v for v in value]
    return _plain_str(value) if isinstance(value, str) else value


def _plain_map(value: Mapping[str, Any] | None, what: str) -> dict[str, Any] | None:
    """params, metrics or labels (after `_check`) as a plain dict of plain values; a value
    a card cannot hold is an InvalidArgument naming its key (card.plain_values)."""
    if value is None:
        return None
    return plain_values(value, what, allow_lists=what != "labels")


def _as_list(value: Any) -> list[Any] | None:
    """A list parameter after `_check`: one item alone becomes a list of one."""
    if value is None or isinstance(value, list):
        return value
    return list(value) if isinstance(value, tuple) else [value]


def _repo_path(repo: str | Path | None) -> Path | None:
    """`repo` as a Path, refused unless it is an existing folder (git cannot even start
    in one that is not, and said 'cannot run git')."""
    _check(repo=repo)
    if repo is None:
        return None
    path = Path(repo)
    if not path.is_dir():
        why = "is not a folder" if path.exists() else "does not exist"
        raise InvalidPath(f"repo {str(path)!r} {why}", hint="give the folder of a git work tree")
    return path


@contextmanager
def _open(repo: str | Path | None) -> Iterator[project_mod.Project]:
    proj = project_mod.Project.open(_repo_path(repo))
    try:
        yield proj
    finally:
        proj.close()


def init(repo: str | Path | None = None) -> bool:
    """Create `.mreg/` in the repository (idempotent); True if anything was created."""
    proj, created = project_mod.init(_repo_path(repo))
    proj.close()
    return created


def add(
    name: str,
    path: str | Path,
    *,
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    data: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] | None = None,
    description: str | None = None,
    labels: dict[str, Any] | None = None,
    framework: str | None = None,
    started: str | dt.datetime | None = None,
    finished: str | dt.datetime | None = None,
    commit: bool = False,
    message: str | None = None,
    repo: str | Path | None = None,
) -> AddResult:
    """Register `path` as a version of model `name`, exactly as `mreg add` does.

    A relative `path` is taken from the current folder. `data` is a list of
    `[ROLE=]PATH|URI` or paths (one alone is a list of one). Returns an AddResult whose
    `status` is 'new', 'new-version', 'updated' or 'unchanged'.
    """
    _check(
        name=name,
        path=path,
        params=params,
        metrics=metrics,
        data=data,
        description=description,
        labels=labels,
        framework=framework,
        commit=commit,
        message=message,
    )
    # params, metrics and labels are made plain, and checked, by registry.add itself
    # (card.plain_values), before anything is stored.
    with _open(repo) as proj:
        return registry.add(
            proj,
            _plain_str(name),
            Path(path),
            params=params,
            metrics=metrics,
            data=_as_list(_plain_data(data)),
            description=_plain_opt(description),
            labels=labels,
            framework=_plain_opt(framework),
            started=started,
            finished=finished,
            commit=commit,
            message=_plain_opt(message),
        )


def load_card(name: str, rev: str | None = None, repo: str | Path | None = None) -> Card:
    """The card of model `name` in the work tree (or as of git revision `rev`)."""
    _check(name=name, rev=rev)
    with _open(repo) as proj:
        if rev is None:
            return registry.load_card(proj, name)
        from mreg import history

        return history.card_at(proj, name, rev)


def list_models(repo: str | Path | None = None) -> list[CardEntry]:
    """Every card in the work tree, broken ones included (with `error` set)."""
    with _open(repo) as proj:
        return registry.list_cards(proj)


def status(repo: str | Path | None = None) -> list[ModelStatus]:
    """Work tree vs card vs cache for every model."""
    from mreg.status import status as status_fn

    with _open(repo) as proj:
        return status_fn(proj)


def checkout(
    names: list[str] | str | None = None, force: bool = False, repo: str | Path | None = None
) -> list[CheckoutResult]:
    """Put artifacts in the work tree (of the models `names`, one name alone or a list;
    default all); raises WorktreeConflict if any was left alone, InvalidCard (after
    checking out the others) if a card could not be read."""
    _check(names=names, force=force)
    broken: list[str] = []
    with _open(repo) as proj, proj.lock():
        if names:
            cards = [registry.load_card(proj, n) for n in _as_list(names) or []]
        else:
            entries = registry.list_cards(proj)
            cards = [e.card for e in entries if e.card is not None]
            broken = [e.error or e.path for e in entries if e.card is None]
        results = [checkout_card(proj, c, force=force) for c in cards]
    raise_for(results, broken)
    return results


@dataclass
class Run:
    """A training run being tracked by `mreg.track`; registered when the block ends."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    data: list[str | os.PathLike[str]] = field(default_factory=list)
    artifact: Path | None = None
    description: str | None = None
    framework: str | None = None
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    finished: dt.datetime | None = None
    result: AddResult | None = None

    def log_params(self, params: dict[str, Any] | None = None, **kw: Any) -> None:
        """Add (or replace) params; a value a card cannot hold is refused here, naming
        its key, rather than when the block ends."""
        _check(params=params)
        self.params = plain_values({**self.params, **(params or {}), **kw}, "params", True)

    def log_metrics(self, metrics: dict[str, Any] | None = None, **kw: Any) -> None:
        """Add (or replace) metrics; numpy scalars are stored as plain numbers."""
        _check(metrics=metrics)
        self.metrics = plain_values({**self.metrics, **(metrics or {}), **kw}, "metrics", True)

    def log_data(self, spec: str | os.PathLike[str]) -> None:
        """Record lineage: `[ROLE=]PATH|URI`, as `mreg add --data`, or a path object."""
        _check(spec=spec)
        self.data.append(spec)

    def log_artifact(self, path: str | Path) -> None:
        """The file or folder to register when the block ends."""
        _check(path=path)
        self.artifact = Path(path).absolute()


@contextmanager
def track(
    name: str,
    params: dict[str, Any] | None = None,
    *,
    labels: dict[str, Any] | None = None,
    description: str | None = None,
    framework: str | None = None,
    commit: bool = False,
    repo: str | Path | None = None,
) -> Iterator[Run]:
    """Track a training run; on a clean exit register its artifact with start and finish
    times. Nothing is registered if the block raises. The AddResult is `run.result`."""
    _check(
        name=name,
        params=params,
        labels=labels,
        description=description,
        framework=framework,
        commit=commit,
    )
    with _open(repo):  # fail early: not a repo, not initialised
        pass
    name = _plain_str(name)
    registry.check_name(name)
    run = Run(
        name=name,
        params=_plain_map(params, "params") or {},
        labels=_plain_map(labels, "labels") or {},
        description=_plain_opt(description),
        framework=_plain_opt(framework),
    )
    yield run
    run.finished = dt.datetime.now(dt.timezone.utc)
    if run.artifact is None:
        raise InvalidArgument(
            f"track({name!r}) ended without run.log_artifact(PATH)",
            hint="call run.log_artifact('path/to/model') inside the with block",
        )
    run.result = add(
        name,
        run.artifact,
        params=run.params or None,
        metrics=run.metrics or None,
        data=run.data or None,
        labels=run.labels or None,
        description=run.description,
        framework=run.framework,
        started=run.started,
        finished=run.finished,
        commit=commit,
        repo=repo,
    )


def resolve(ref: str, repo: str | Path | None = None) -> Resolved:
    """Resolve NAME, NAME@vN, NAME@REV or NAME#STAGE to its card and commit."""
    from mreg.history import resolve as resolve_ref
    from mreg.refs import parse_ref

    _check(ref=ref)
    with _open(repo) as proj:
        return resolve_ref(proj, parse_ref(ref))


def log(name: str, limit: int | None = None, repo: str | Path | None = None) -> list[LogEntry]:
    """The commits that changed a model's card, newest first."""
    from mreg.history import log as log_fn

    _check(name=name, limit=limit)
    with _open(repo) as proj:
        return log_fn(proj, name, limit=limit)


def diff(
    a: str | None = None,
    b: str | None = None,
    names: list[str] | str | None = None,
    include_unchanged: bool = False,
    repo: str | Path | None = None,
) -> list[Row]:
    """Rows of changes between two revisions or two model refs (as `mreg diff`), of the
    models `names` (one name alone or a list; default all)."""
    from mreg.diff import changed, diff_cards
    from mreg.history import compare

    _check(a=a, b=b, names=names, include_unchanged=include_unchanged)
    with _open(repo) as proj:
        comp = compare(proj, a, b, _as_list(names))
    rows = diff_cards(comp.old, comp.new)
    return rows if include_unchanged else changed(rows)


def open(  # mreg.open, as DESIGN names it (this module does not use the builtin)
    ref: str,
    file: str | os.PathLike[str] | None = None,
    repo: str | Path | None = None,
    *,
    verify: bool = False,
) -> BinaryIO:
    """A read-only binary file of a model's bytes in the local cache (not the work tree).

    `ref` is any reference (`churn`, `churn@v3`, `churn@main`, `churn#production`). For a
    folder model, `file` is the path of one of its files inside the folder (required); for
    a file model it must be None. The file is seekable, and its bytes are not hashed as
    they are read: blobs in the cache are read-only and were hashed when stored, and
    `mreg verify` re-hashes them. With `verify=True` they are hashed once before the file
    is returned (BlobCorrupt if they do not match). BlobMissing, hint `mreg fetch REF`,
    when they are not in the cache. The caller closes it (`with mreg.open(...) as f:`).
    """
    from mreg.hashing import hash_stream, parse_manifest
    from mreg.refs import resolve_card

    _check(ref=ref, file=file, verify=verify)
    ref = _plain_str(ref)
    with _open(repo) as proj:
        card = resolve_card(proj, ref)
        art = card.artifact
        store = proj.store
        if art.kind == KIND_FILE:
            if file is not None:
                raise InvalidArgument(
                    f"{ref} is a file ({art.path}), not a folder: file= must be None",
                    hint=f"mreg.open({ref!r})",
                )
            oid, what = art.oid, f"{ref} ({art.path})"
        else:
            try:
                # Reading only: a folder an older mreg stored with its .git still opens.
                data = store.read_bytes(art.oid)
                entries = {e.path: e for e in parse_manifest(data, keep_git=True)}
            except BlobMissing:
                raise BlobMissing(
                    f"the file list (manifest {art.oid}) of {ref} ({art.path}/) is not in"
                    " the cache",
                    hint=f"mreg fetch {ref}",
                ) from None
            listing = _some_files(entries)
            if file is None:
                raise InvalidArgument(
                    f"{ref} is a folder ({art.path}/): give file=, the path of one of its"
                    " files inside it",
                    hint=listing,
                )
            inside = PurePath(file).as_posix()
            entry = entries.get(inside)
            if entry is None:
                is_folder = any(p.startswith(f"{inside}/") for p in entries)
                raise InvalidArgument(
                    f"file {os.fspath(file)!r} is "
                    + ("a folder in" if is_folder else "not a file of")
                    + f" {ref} ({art.path}/)",
                    hint=listing,
                )
            oid, what = entry.oid, f"{inside} of {ref} ({art.path}/)"
        try:
            raw = store.open(oid)
        except BlobMissing:
            raise BlobMissing(
                f"{what} is not in the cache (blob {oid})", hint=f"mreg fetch {ref}"
            ) from None
    if verify:
        try:
            got = hash_stream(raw)[0]
            raw.seek(0)
        except BaseException:
            raw.close()
            raise
        if got != oid:
            raw.close()
            raise BlobCorrupt(
                f"{what}: blob {oid} in the cache is corrupt (its bytes hash to {got})",
                hint=f"mreg fetch --repair {ref}",
            )
    return io.BufferedReader(raw)  # type: ignore[type-var]  # store.open gives a FileIO


def _some_files(entries: Mapping[str, Any], most: int = 8) -> str:
    """The hint listing a folder model's files: the first few, and how many more."""
    if not entries:
        return "the folder is empty: it has no file to open"
    paths = sorted(entries)
    more = f" and {len(paths) - most} more" if len(paths) > most else ""
    return "its files: " + ", ".join(paths[:most]) + more
