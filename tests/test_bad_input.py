"""The table of bad input: each case asserts the exit code, the one-line message (and
hint), no traceback, and that nothing was lost or half-written.

Faults of the disk (no space, permission denied) are injected by monkeypatching the
store's `os.replace`, `open` and copy: the tests run as root, where a read-only cache
folder does not stop writes (tests/test_store.py also has the chmod version, for
non-root runs).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mreg import store
from tests.helpers import (
    Cli,
    CliResult,
    assert_error,
    blob_path,
    cache_blobs,
    card_yaml,
    git,
    partial_leftovers,
    sha,
    snapshot,
    write,
)


def _state(repo: Path) -> dict[str, tuple[str, int]]:
    """Every file of the work tree and .mreg/ but the lock and hash-state database."""
    return {k: v for k, v in snapshot(repo).items() if not k.startswith(".mreg/tmp/")}


@dataclass
class Case:
    id: str
    args: list[str]
    exit_code: int
    message: str
    hint: str | None = None
    setup: Callable[[Path], None] = lambda repo: None


def _model(repo: Path) -> None:
    write(repo / "out" / "model.pkl", b"model bytes")


def _outside(repo: Path) -> None:
    write(repo.parent / "elsewhere.pkl", b"outside")


def _link_out(repo: Path) -> None:
    _outside(repo)
    (repo / "out").mkdir()
    os.symlink(repo.parent / "elsewhere.pkl", repo / "out" / "link.pkl")


def _dir_link_out(repo: Path) -> None:
    (repo.parent / "elsewhere").mkdir()
    write(repo.parent / "elsewhere" / "m.pkl", b"outside")
    os.symlink(repo.parent / "elsewhere", repo / "out")


def _tracked(repo: Path) -> None:
    _model(repo)
    git(repo, "add", "out/model.pkl")


def _tracked_dir(repo: Path) -> None:
    write(repo / "ck" / "a.bin", b"a")
    git(repo, "add", "ck")


def _claimed(repo: Path) -> None:
    _model(repo)
    import mreg

    mreg.add("other", "out/model.pkl")


def _symlink_in_dir(repo: Path) -> None:
    write(repo / "ck" / "a.bin", b"a")
    os.symlink("a.bin", repo / "ck" / "alias.bin")


def _odd_names(repo: Path) -> None:
    write(repo / "we\\ird.pkl", b"x")
    write(repo / "ck" / "C:", b"x")


def _line_break(repo: Path) -> None:
    write(repo / "out" / "a\nb.pkl", b"x")


def _gitignore_folder(repo: Path) -> None:
    _model(repo)
    (repo / ".gitignore").mkdir()


def _gitignore_symlink(repo: Path) -> None:
    _model(repo)
    write(repo.parent / "shared-ignore", "*.tmp\n")
    os.symlink(repo.parent / "shared-ignore", repo / ".gitignore")


def _not_utf8(repo: Path) -> None:
    write(repo / "out" / "bad\udcffname.pkl", b"x")  # the bytes b"bad\xffname.pkl"
    write(repo / "ck" / "ok.bin", b"x")
    write(repo / "ck" / "sub\udcff" / "f.bin", b"x")


def _files(**files: str) -> Callable[[Path], None]:
    def setup(repo: Path) -> None:
        _model(repo)
        for name, text in files.items():
            write(repo / name.replace("_", "."), text)

    return setup


ADD_CASES = [
    Case("path missing", ["add", "churn", "out/missing.pkl"], 3,
         "PATH out/missing.pkl does not exist"),
    Case("path outside", ["add", "churn", "../elsewhere.pkl"], 3,
         "PATH ../elsewhere.pkl is outside the repository", setup=_outside),
    Case("symlink out", ["add", "churn", "out/link.pkl"], 3,
         "PATH out/link.pkl is a symlink leading outside the repository", setup=_link_out),
    Case("symlinked folder out", ["add", "churn", "out/m.pkl"], 3,
         "PATH out/m.pkl is a symlink leading outside the repository", setup=_dir_link_out),
    Case("tracked by git", ["add", "churn", "out/model.pkl"], 3,
         "out/model.pkl is tracked by git", hint="git rm --cached out/model.pkl", setup=_tracked),
    Case("folder tracked by git", ["add", "churn", "ck"], 3,
         "ck is tracked by git", hint="git rm -r --cached ck", setup=_tracked_dir),
    Case("inside .mreg", ["add", "churn", ".mreg/config.yaml"], 3,
         "PATH .mreg/config.yaml is inside .mreg/", hint="keep models outside .mreg/"),
    Case("inside .git", ["add", "churn", ".git/config"], 3,
         "PATH .git/config is inside .git/", hint="keep models outside .git/"),
    Case("the whole repo", ["add", "churn", "."], 3, "PATH . is the whole repository"),
    Case("line break in PATH", ["add", "churn", "out/a\nb.pkl"], 3,
         "'out/a\\nb.pkl' holds a line break: .gitignore cannot name it", hint="rename it",
         setup=_line_break),
    Case(".gitignore a folder", ["add", "churn", "out/model.pkl"], 3,
         ".gitignore is not a regular file", hint="make .gitignore a plain file",
         setup=_gitignore_folder),
    Case(".gitignore a symlink", ["add", "churn", "out/model.pkl"], 3,
         "(git does not follow a symlinked one)", hint="make .gitignore a plain file",
         setup=_gitignore_symlink),
    Case("PATH not UTF-8", ["add", "churn", "out/bad\udcffname.pkl"], 3,
         "PATH 'out/bad\\udcffname.pkl' is not valid UTF-8", hint="rename it",
         setup=_not_utf8),
    Case("a name in a folder not UTF-8", ["add", "churn", "ck"], 3,
         "cannot record 'ck/sub\\udcff/f.bin': its name is not valid UTF-8",
         hint="rename that file", setup=_not_utf8),
    Case("claimed by another model", ["add", "churn", "out/model.pkl"], 3,
         "out/model.pkl is already the artifact of model 'other'", hint="mreg show other",
         setup=_claimed),
    Case("symlink in a folder", ["add", "churn", "ck"], 3,
         "ck/alias.bin is a symlink: directory artifacts may not contain symlinks",
         hint="replace the link", setup=_symlink_in_dir),
    Case("backslash in PATH", ["add", "churn", "we\\ird.pkl"], 3,
         "PATH 'we\\\\ird.pkl' holds a backslash or NUL", hint="rename it", setup=_odd_names),
    Case("drive-like file name in a folder", ["add", "churn", "ck"], 3,
         "cannot record 'ck/C:': file name 'C:' is absolute", hint="rename that file",
         setup=_odd_names),
    Case("name upper case", ["add", "Churn", "out/model.pkl"], 3,
         "invalid model name 'Churn': upper case is not allowed (perhaps 'churn')",
         hint="lower-case segments", setup=_model),
    Case("name with a space", ["add", "my model", "out/model.pkl"], 3,
         "invalid model name 'my model': may not hold ' '", hint="lower-case segments",
         setup=_model),
    Case("name with ..", ["add", "a/../b", "out/model.pkl"], 3,
         "model name 'a/../b' has a '.' or '..' segment", hint="lower-case", setup=_model),
    Case("name with .. in a segment (git refuses the tag)", ["add", "a..b", "out/model.pkl"], 3,
         "model name 'a..b' may not hold '..'", hint="lower-case", setup=_model),
    Case("name with an empty segment", ["add", "a//b", "out/model.pkl"], 3,
         "model name 'a//b' has an empty segment", hint="lower-case", setup=_model),
    Case("absolute name", ["add", "/churn", "out/model.pkl"], 3,
         "model name '/churn' is absolute", hint="lower-case", setup=_model),
    Case("metrics not JSON", ["add", "churn", "out/model.pkl", "--metrics", "m.json"], 3,
         "--metrics m.json: invalid JSON", setup=_files(m_json="{auc: ")),
    Case("metrics not YAML", ["add", "churn", "out/model.pkl", "--metrics", "m.yaml"], 3,
         "--metrics m.yaml: invalid JSON/YAML", setup=_files(m_yaml="auc: [\n")),
    Case("metrics not a mapping", ["add", "churn", "out/model.pkl", "--metrics", "m.yaml"], 3,
         "--metrics m.yaml: must hold a mapping of names to values, not list",
         setup=_files(m_yaml="- 0.9\n- 0.8\n")),
    Case("params not a mapping", ["add", "churn", "out/model.pkl", "--params", "p.json"], 3,
         "--params p.json: must hold a mapping of names to values, not str",
         setup=_files(p_json='"lr"')),
    Case("params file missing", ["add", "churn", "out/model.pkl", "--params", "p.json"], 3,
         "--params p.json: cannot read", setup=_model),
    Case("metric file with a list of mappings", ["add", "churn", "out/model.pkl", "--metrics",
                                                 "m.yaml"], 3,
         "metrics.curve[0]: lists may hold only scalars",
         setup=_files(m_yaml="curve: [{x: 1}]\n")),
    Case("metric value a list", ["add", "churn", "out/model.pkl", "-m", "auc=[1, 2]"], 3,
         "--metric auc: value must be a number, string, boolean or null, not a list",
         hint="use nested keys", setup=_model),
    Case("param value a mapping", ["add", "churn", "out/model.pkl", "-p", "opt={a: 1}"], 3,
         "--param opt: value must be a number, string, boolean or null, not a mapping",
         hint="use nested keys", setup=_model),
    Case("key both value and group", ["add", "churn", "out/model.pkl", "-m", "a=1", "-m", "a.b=2"],
         3, "--metric a.b: 'a' is both a value and a group", setup=_model),
    Case("bad start time", ["add", "churn", "out/model.pkl", "--started", "yesterday"], 3,
         "--started: 'yesterday' is not an ISO-8601 time", hint="e.g. 2026-11-27T16:02:11Z",
         setup=_model),
    Case("finished before started", ["add", "churn", "out/model.pkl",
                                     "--started", "2026-01-02T00:00:00Z",
                                     "--finished", "2026-01-01T00:00:00Z"], 3,
         "--finished is before --started", setup=_model),
    Case("data missing", ["add", "churn", "out/model.pkl", "--data", "train=nope.csv"], 3,
         "--data nope.csv does not exist", setup=_model),
]  # fmt: skip


@pytest.mark.parametrize("case", ADD_CASES, ids=[c.id for c in ADD_CASES])
def test_bad_add(cli: Cli, repo: Path, case: Case) -> None:
    case.setup(repo)
    before = _state(repo)
    result = cli(*case.args)
    assert_error(result, case.exit_code, case.message, case.hint)
    assert result.stdout == ""
    assert _state(repo) == before
    assert not (repo / ".mreg" / "models" / "churn.yaml").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "auc"], "Invalid value for --metric: 'auc' is not KEY=VALUE"),
        (["-p", "=3"], "Invalid value for --param: '=3' is not KEY=VALUE"),
        (["--label", "a..b=1"], "Invalid value for --label: 'a..b' has an empty segment"),
        (["--nope"], "No such option: --nope"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, repo: Path, args: list[str], message: str) -> None:
    _model(repo)
    before = _state(repo)
    result = cli("add", "churn", "out/model.pkl", *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("Usage: mreg add")
    assert message in result.stderr
    assert _state(repo) == before


# ---------------------------------------------------------------------------- broken cards

BROKEN_CARDS = [
    ("invalid YAML", "schema: 1\nname: [\n", "invalid YAML", None),
    ("missing keys", "schema: 1\nname: churn\n", "version: missing", None),
    ("newer schema", card_yaml(schema=2), "schema: schema 2 is newer than this mreg knows (1)",
     "upgrade mreg"),
    ("wrong types", card_yaml().replace("version: 1", "version: two"),
     "version: must be an integer >= 1, not 'two'", None),
    ("python tag", "!!python/object/apply:os.system ['touch pwned']\n", "python/object", None),
    ("name of another model", card_yaml(name="other"),
     "name: is 'other' but the file is for 'churn'", None),
]  # fmt: skip
BROKEN_IDS = [c[0] for c in BROKEN_CARDS]


def _broken_repo(cli: Cli, repo: Path, text: str) -> Path:
    write(repo / "good.bin", b"good")
    assert cli("add", "good", "good.bin").exit_code == 0
    return write(repo / ".mreg" / "models" / "churn.yaml", text)


@pytest.mark.parametrize(("id", "text", "problem", "hint"), BROKEN_CARDS, ids=BROKEN_IDS)
def test_broken_card_in_ls_and_status(
    cli: Cli, repo: Path, id: str, text: str, problem: str, hint: str | None
) -> None:
    _broken_repo(cli, repo, text)
    for command in ("ls", "status"):
        result = cli(command, "--json")
        assert result.exit_code == 0
        rows = {m["name"]: m for m in result.json["models"]}
        assert rows["good"]["error"] is None
        error = rows["churn"]["error"]
        assert error.startswith(".mreg/models/churn.yaml: ")
        assert problem in error
        table = cli(command)
        assert table.exit_code == 0 and "good" in table.stdout and "churn" in table.stdout
    assert not (repo / "pwned").exists()


@pytest.mark.parametrize(("id", "text", "problem", "hint"), BROKEN_CARDS, ids=BROKEN_IDS)
def test_broken_card_in_show(
    cli: Cli, repo: Path, id: str, text: str, problem: str, hint: str | None
) -> None:
    _broken_repo(cli, repo, text)
    result = cli("show", "churn")
    assert_error(result, 3, ".mreg/models/churn.yaml: ", hint)
    assert problem in result.lines[0]
    assert result.stdout == ""
    assert not (repo / "pwned").exists()


@pytest.mark.parametrize(("id", "text", "problem", "hint"), BROKEN_CARDS, ids=BROKEN_IDS)
def test_add_will_not_overwrite_a_broken_card(
    cli: Cli, repo: Path, id: str, text: str, problem: str, hint: str | None
) -> None:
    card = _broken_repo(cli, repo, text)
    write(repo / "m.bin", b"new model")
    before = _state(repo)
    result = cli("add", "churn", "m.bin")
    assert_error(result, 3, ".mreg/models/churn.yaml: ", hint or "will not overwrite it")
    assert problem in result.lines[0]
    assert card.read_text() == text
    assert _state(repo) == before


# ---------------------------------------------------------------------------- untrusted cards


@pytest.mark.parametrize("path", ["/tmp/mreg-evil.bin", "../evil.bin", "out/../../evil.bin"])
@pytest.mark.parametrize("named", [True, False], ids=["named", "all"])
def test_checkout_refuses_unsafe_card_paths(cli: Cli, repo: Path, path: str, named: bool) -> None:
    write(repo / "m.bin", b"x")
    assert cli("add", "m", "m.bin").exit_code == 0
    write(repo / ".mreg" / "models" / "m.yaml", card_yaml("m", path, sha(b"x")))
    before = snapshot(repo.parent)
    result = cli("checkout", *(["m"] if named else []))
    assert_error(result, 3, f".mreg/models/m.yaml: artifact.path: value {path!r} ")
    assert "absolute" in result.lines[0] or "'..'" in result.lines[0]
    assert snapshot(repo.parent) == before
    assert not Path("/tmp/mreg-evil.bin").exists()


def test_checkout_refuses_a_symlink_out_of_the_repo(cli: Cli, repo: Path) -> None:
    write(repo / "real" / "m.bin", b"x")
    assert cli("add", "m", "real/m.bin").exit_code == 0
    outside = repo.parent / "outside"
    outside.mkdir()
    write(repo / ".mreg" / "models" / "m.yaml", card_yaml("m", "out/m.bin", sha(b"x")))
    os.symlink(outside, repo / "out")
    result = cli("checkout", "m", "--force")
    assert_error(result, 3, "m v1: artifact.path 'out/m.bin' leads outside the repository")
    assert list(outside.iterdir()) == []


# ---------------------------------------------------------------------------- integrity


def _registered(cli: Cli, repo: Path) -> Path:
    model = write(repo / "out" / "model.pkl", b"v1")
    assert cli("add", "churn", "out/model.pkl").exit_code == 0
    return model


def test_checkout_with_a_deleted_blob(cli: Cli, repo: Path) -> None:
    model = _registered(cli, repo)
    oid = sha(b"v1")
    blob_path(repo, oid).unlink()
    write(model, b"local")
    result = cli("checkout", "--force")
    assert_error(result, 4, f"churn v1: blob {oid} is not in the cache", hint="mreg pull")
    assert model.read_bytes() == b"local"


def test_checkout_with_a_corrupt_blob(cli: Cli, repo: Path) -> None:
    model = _registered(cli, repo)
    oid = sha(b"v1")
    blob = blob_path(repo, oid)
    blob.chmod(0o644)
    blob.write_bytes(b"bit rot")
    model.unlink()
    result = cli("checkout", "churn")
    assert_error(
        result,
        4,
        f"churn v1: blob {oid} in the cache is corrupt",
        hint="mreg fetch --repair churn@v1",
    )
    assert not model.exists()
    assert list(model.parent.iterdir()) == []  # no temp file left beside it
    write(model, b"v0")
    assert cli("checkout", "churn", "--force").exit_code == 4
    assert model.read_bytes() == b"v0"


def test_checkout_conflict(cli: Cli, repo: Path) -> None:
    model = _registered(cli, repo)
    write(model, b"precious")
    result = cli("checkout")
    assert_error(
        result, 3, "not overwritten, changes not in the cache: out/model.pkl", hint="--force"
    )
    assert model.read_bytes() == b"precious"


@pytest.mark.parametrize("force", [False, True])
def test_checkout_where_a_file_holds_the_folder_above_the_model(
    cli: Cli, repo: Path, force: bool
) -> None:
    write(repo / "out" / "sub" / "model.pkl", b"model")
    assert cli("add", "churn", "out/sub/model.pkl").exit_code == 0
    shutil.rmtree(repo / "out")
    write(repo / "out", b"someone's notes")
    result = cli("checkout", *(["--force"] if force else []))
    assert_error(
        result, 3, "churn v1: out is a file, where the folder of out/sub/model.pkl goes", "move out"
    )
    assert (repo / "out").read_bytes() == b"someone's notes"  # not the model's: kept
    (repo / "out").unlink()
    assert cli("checkout").exit_code == 0
    assert (repo / "out" / "sub" / "model.pkl").read_bytes() == b"model"


# ---------------------------------------------------------------------------- disk faults


def _enospc(*args: Any, **kw: Any) -> Any:
    raise OSError(errno.ENOSPC, "No space left on device")


def _full_mid_copy(src: Any, dst: Any, depth: int = 4) -> tuple[str, int]:
    dst.write(src.read(10))
    raise OSError(errno.ENOSPC, "No space left on device")


def _deny_temp(monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = open

    def deny(path: Any, mode: str = "r", *args: Any, **kw: Any) -> Any:
        if "x" in mode and "partial" in str(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, mode, *args, **kw)

    real_os_open = os.open

    def deny_os(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        if flags & os.O_EXCL and "partial" in str(path):  # a small blob's temp file
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_os_open(path, flags, *args, **kw)

    monkeypatch.setattr("builtins.open", deny)
    monkeypatch.setattr(store.os, "open", deny_os)


FAULTS: list[tuple[str, int, Callable[[pytest.MonkeyPatch], None], str, str]] = [
    ("no space at rename", 100, lambda mp: mp.setattr(store.os, "replace", _enospc),
     "no space left on device", "free disk space"),
    ("no space mid-copy", 2 * 1024 * 1024,
     lambda mp: mp.setattr(store, "copy_hashing", _full_mid_copy),
     "no space left on device", "free disk space"),
    ("permission denied", 100, _deny_temp, "permission denied", "check the permissions"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("id", "size", "inject", "message", "hint"), FAULTS, ids=[f[0] for f in FAULTS]
)
def test_disk_faults_while_storing(
    cli: Cli,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    id: str,
    size: int,
    inject: Callable[[pytest.MonkeyPatch], None],
    message: str,
    hint: str,
) -> None:
    model = write(repo / "out" / "model.pkl", b"v1")
    assert cli("add", "churn", "out/model.pkl").exit_code == 0
    card = (repo / ".mreg" / "models" / "churn.yaml").read_bytes()
    blobs = cache_blobs(repo)
    new_bytes = os.urandom(size)
    write(model, new_bytes)
    before = _state(repo)
    with monkeypatch.context() as mp:
        inject(mp)
        result: CliResult = cli("add", "churn", "out/model.pkl", "-m", "auc=0.9")
    assert_error(result, 3, message, hint)
    assert (repo / ".mreg" / "models" / "churn.yaml").read_bytes() == card
    assert not blob_path(repo, sha(new_bytes)).exists()
    assert cache_blobs(repo) == blobs
    assert partial_leftovers(repo) == []
    assert _state(repo) == before
    # Once the disk is fine again, the same command works.
    assert cli("add", "churn", "out/model.pkl", "-m", "auc=0.9").exit_code == 0
    assert blob_path(repo, sha(new_bytes)).read_bytes() == new_bytes


@pytest.mark.parametrize(
    ("fault", "size", "message", "hint"),
    [
        (PermissionError, 10, "cannot read ck/b.bin: Permission denied", "permissions"),
        (FileNotFoundError, 10, "ck/b.bin disappeared while mreg read it", "add again"),
        (PermissionError, 2 * 1024 * 1024, "cannot read ck/b.bin: Permission denied", None),
    ],
    ids=["unreadable", "gone", "unreadable, large"],
)
def test_a_file_unreadable_or_gone_since_the_scan(
    cli: Cli,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    fault: type[OSError],
    size: int,
    message: str,
    hint: str | None,
) -> None:
    """Root reads any file and a race is hard to time, so the read itself fails here;
    as a non-root user `chmod 000 ck/b.bin` gives the first case."""
    from mreg import artifact

    write(repo / "ck" / "a.bin", b"a")
    write(repo / "ck" / "b.bin", os.urandom(size))
    code = errno.EACCES if fault is PermissionError else errno.ENOENT
    real_read_small, real_put_file = artifact._read_small, artifact.Store.put_file

    def fail_on_b(path: str | Path) -> None:
        if str(path).endswith("b.bin"):
            raise fault(code, os.strerror(code), str(path))

    def read_small(path: str, size: int) -> tuple[bytes, os.stat_result]:
        fail_on_b(path)
        return real_read_small(path, size)

    def put_file(self: Any, path: Path) -> tuple[str, int]:  # files over 1 MiB
        fail_on_b(path)
        return real_put_file(self, path)

    monkeypatch.setattr(artifact, "_read_small", read_small)
    monkeypatch.setattr(artifact.Store, "put_file", put_file)
    before = _state(repo)
    result = cli("add", "churn", "ck")
    assert_error(result, 3, message, hint or "permissions")
    assert not (repo / ".mreg" / "models" / "churn.yaml").exists()
    assert {k: v for k, v in _state(repo).items() if not k.startswith(".mreg/cache/")} == {
        k: v for k, v in before.items() if not k.startswith(".mreg/cache/")
    }
    assert partial_leftovers(repo) == []


def test_add_commit_during_a_merge_registers_nothing(cli: Cli, repo: Path) -> None:
    write(repo / "f.txt", "base")
    write(repo / "out" / "model.pkl", b"v1")
    assert cli("add", "churn", "out/model.pkl", "--commit").exit_code == 0
    git(repo, "add", "f.txt")
    git(repo, "commit", "-qm", "base")
    main = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    git(repo, "checkout", "-qb", "theirs")
    write(repo / "f.txt", "theirs")
    git(repo, "commit", "-qam", "theirs")
    git(repo, "checkout", "-q", main)
    write(repo / "f.txt", "ours")
    git(repo, "commit", "-qam", "ours")
    merge = subprocess.run(["git", "merge", "-q", "theirs"], cwd=repo, capture_output=True)
    assert merge.returncode != 0  # a conflict in f.txt: the merge waits
    write(repo / "out" / "model.pkl", b"v2")
    card = (repo / ".mreg" / "models" / "churn.yaml").read_bytes()
    index = git(repo, "ls-files", "-s", ".mreg")
    result = cli("add", "churn", "out/model.pkl", "--commit")
    assert_error(result, 3, "a merge is in progress: git cannot commit the card alone", "--abort")
    assert (repo / ".mreg" / "models" / "churn.yaml").read_bytes() == card
    assert git(repo, "ls-files", "-s", ".mreg") == index
    assert cli("add", "churn", "out/model.pkl").exit_code == 0  # without --commit: fine


def test_add_commit_at_a_rebase_stop_commits_as_git_lets_it(cli: Cli, repo: Path) -> None:
    """`git rebase -x 'python train.py'` or an `edit` stop: git commits a path alone
    there, so add --commit works (only a merge, cherry-pick or revert refuses)."""
    for i in range(2):
        write(repo / f"f{i}.txt", str(i))
        git(repo, "add", f"f{i}.txt")
        git(repo, "commit", "-qm", f"f{i}")
    env = dict(os.environ, GIT_SEQUENCE_EDITOR="sed -i s/^pick/edit/")
    subprocess.run(["git", "rebase", "-q", "-i", "HEAD~1"], cwd=repo, env=env, check=True)
    assert (repo / ".git" / "rebase-merge").is_dir()
    write(repo / "out" / "model.pkl", b"v1")
    result = cli("add", "churn", "out/model.pkl", "--commit")
    assert result.exit_code == 0, result.stderr
    assert git(repo, "log", "-1", "--format=%s").strip() == "mreg: churn v1"
