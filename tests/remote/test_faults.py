"""Bad input and faults, end to end through the installed `mreg` console script:
unreachable endpoints, wrong credentials, a missing bucket, a missing backend, secrets
in config, SIGKILL during push and pull, and a server going away mid-transfer."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.helpers import Cli, CliResult, assert_error, git, mreg_script, run_mreg, write
from tests.remote.servers import (
    BUCKET,
    RemoteKind,
    Sshd,
    free_port,
    make_models,
    make_remote,
    start_sshd,
)

from mreg.hashing import hash_file

pytestmark = pytest.mark.e2e

KEY_ID = "AKIAFAKEKEYID0000042"
SECRET = "sEcReT-do-not-leak-4711"


@pytest.fixture
def repo2(repo: Path, cli: Cli) -> Path:
    """repo with two committed models and no remote yet."""
    make_models(repo)
    assert cli("add", "churn", "out/model.pkl").exit_code == 0
    assert cli("add", "enc", "enc").exit_code == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "models")
    return repo


def no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and KEY_ID not in text


def committed_text(root: Path) -> str:
    """Every tracked or committable file's text (what `git add -A` would take)."""
    git(root, "add", "-A")
    names = git(root, "ls-files", "-z").split("\0")
    return "".join((root / n).read_text(errors="replace") for n in names if n)


# -------------------------------------------------------------------------------- config


def test_remote_config_commands(repo: Path, cli: Cli) -> None:
    cfg = repo / ".mreg" / "config.yaml"
    before = cfg.read_text()
    assert (
        cli("remote", "add", "origin", "s3://bucket/models", "-o", "region=eu-west-1").exit_code
        == 0
    )
    assert cli("remote", "add", "nas", "ssh://me@nas/srv/m", "-d").exit_code == 0
    text = cfg.read_text()
    assert text.startswith(before.rstrip("\n"))  # comments and cache settings kept
    res = cli("remote", "list", "--json")
    assert res.json == {
        "remotes": [
            {
                "name": "origin",
                "url": "s3://bucket/models",
                "default": False,
                "options": {"region": "eu-west-1"},
                "local": False,
            },
            {
                "name": "nas",
                "url": "ssh://me@nas/srv/m",
                "default": True,
                "options": {},
                "local": False,
            },
        ]
    }
    assert cli("remote", "default", "origin").exit_code == 0
    assert [r["name"] for r in cli("remote", "list", "--json").json["remotes"] if r["default"]] == [
        "origin"
    ]
    assert_error(cli("remote", "add", "origin", "/tmp/x"), 3, "already exists", "--force")
    assert cli("remote", "add", "origin", "/tmp/x", "--force").exit_code == 0
    assert_error(cli("remote", "add", "bad name", "/tmp/x"), 3, "invalid remote name")
    assert_error(cli("remote", "add", "f", "ftp://host/x"), 3, "unsupported remote URL scheme")
    assert_error(cli("remote", "add", "b", "s3://"), 3, "names no bucket")
    assert cli("remote", "remove", "origin").exit_code == 0
    assert "core:" not in cfg.read_text() or "remote: origin" not in cfg.read_text()
    assert_error(cli("remote", "remove", "origin"), 3, "no remote named 'origin'")
    assert_error(cli("push", "-r", "nope"), 3, "no remote named 'nope'")


def test_no_remote_configured(repo2: Path, cli: Cli) -> None:
    assert_error(cli("push"), 3, "no default remote", "mreg remote add")


def test_secrets_stay_out_of_the_committed_config(repo: Path, cli: Cli) -> None:
    url = "s3://bucket/m"
    assert_error(
        cli("remote", "add", "o", url, "-o", f"secret={SECRET}"),
        3,
        "would put a secret in the committed",
        "--local",
    )
    assert_error(cli("remote", "add", "o", f"ssh://me:{SECRET}@host/x"), 3, "the URL's password")
    assert cli("remote", "add", "o", url, "-o", "secret=${MY_SECRET}", "-d").exit_code == 0
    assert (
        cli(
            "remote", "add", "o", url, "-o", f"key={KEY_ID}", "-o", f"secret={SECRET}", "--local"
        ).exit_code
        == 0
    )
    assert "${MY_SECRET}" in (repo / ".mreg" / "config.yaml").read_text()
    assert SECRET in (repo / ".mreg" / "config.local.yaml").read_text()
    res = cli("remote", "list", "--json")
    assert res.json["remotes"][0]["options"] == {"key": "***", "secret": "***"}
    no_secret(res.stdout, res.stderr)
    # A secret written into config.yaml by hand is refused when the config is read.
    cfg = repo / ".mreg" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("${MY_SECRET}", "literal-value"))
    assert_error(
        cli("remote", "list"), 3, "holds a secret in the committed config", "config.local.yaml"
    )
    # git status shows config.local.yaml as ignored: it can never be committed by `add -A`.
    git(repo, "add", "-A")
    assert "config.local.yaml" not in git(repo, "diff", "--cached", "--name-only")


def test_unset_env_var_in_an_option(repo2: Path, cli: Cli, tmp_path: Path) -> None:
    assert (
        cli(
            "remote", "add", "o", "s3://b/x", "-o", "secret=${MREG_NOT_SET_ANYWHERE}", "-d"
        ).exit_code
        == 0
    )
    assert_error(cli("push"), 3, "${MREG_NOT_SET_ANYWHERE}, which is not set", "export")


@pytest.mark.parametrize(
    ("url", "extra"), [("gs://bucket/m", "gcs"), ("az://container/m", "azure")]
)
def test_missing_backend_names_the_pip_command(repo2: Path, url: str, extra: str) -> None:
    import importlib.util

    module = {"gcs": "gcsfs", "azure": "adlfs"}[extra]
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")  # the CI venv installs neither
    assert run_mreg(repo2, "remote", "add", "o", url, "-d").exit_code == 0
    res = run_mreg(repo2, "push")
    assert res.exit_code == 3, res.stderr
    assert f"pip install 'mreg[{extra}]'" in res.stderr
    assert "Traceback" not in res.stderr


# ----------------------------------------------------------------------- unreachable etc.


def add_s3(root: Path, url: str, endpoint: str, *extra: str) -> None:
    res = run_mreg(root, "remote", "add", "o", url, "-d", "-o", f"endpoint_url={endpoint}", *extra)
    assert res.exit_code == 0, res.stderr
    res = run_mreg(
        root,
        "remote",
        "add",
        "o",
        url,
        "--force",
        "--local",
        "-o",
        f"endpoint_url={endpoint}",
        "-o",
        f"key={KEY_ID}",
        "-o",
        f"secret={SECRET}",
    )
    assert res.exit_code == 0, res.stderr


def test_unreachable_s3_endpoint(repo2: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MREG_REMOTE_RETRIES", "0")  # retries are tested mid-transfer below
    port = free_port()
    add_s3(repo2, "s3://bucket/m", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    for args in (["push"], ["pull"], ["verify", "-r", "o"]):
        res = run_mreg(repo2, *args)
        assert_error(res, 5, "remote o (s3://bucket/m)", "check the URL")
        assert "cannot reach" in res.stderr
        no_secret(res.stdout, res.stderr)
    assert time.monotonic() - started < 60
    no_secret(committed_text(repo2))


def test_unreachable_sftp_server(repo2: Path, sshd: Sshd) -> None:
    port = free_port()
    url = f"ssh://root:{SECRET}@127.0.0.1:{port}/srv/m"
    res = run_mreg(repo2, "remote", "add", "o", url, "-d", "--local")
    assert res.exit_code == 0
    res = run_mreg(repo2, "push")
    assert_error(res, 5, f"remote o (ssh://root@127.0.0.1:{port}/srv/m)")
    no_secret(res.stdout, res.stderr)


def test_wrong_s3_credentials(repo2: Path, moto_auth_url: str) -> None:
    add_s3(repo2, f"s3://{BUCKET}/m", moto_auth_url)
    for args in (["push"], ["fetch"]):
        res = run_mreg(repo2, *args)
        assert res.exit_code == 5, res.stderr
        assert_error(res, 5, "remote o (s3://mreg-test/m): access denied", "credentials")
        no_secret(res.stdout, res.stderr)


def test_wrong_ssh_key(repo2: Path, sshd: Sshd, tmp_path: Path) -> None:
    from tests.remote.servers import Sshd

    assert isinstance(sshd, Sshd)
    other = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    url = f"ssh://root@127.0.0.1:{sshd.port}{tmp_path}/store"
    res = run_mreg(
        repo2,
        "remote",
        "add",
        "o",
        url,
        "-d",
        "--local",
        "-o",
        f"client_keys={other}",
        "-o",
        f"known_hosts={sshd.known_hosts}",
        "-o",
        "agent_path=null",
    )
    assert res.exit_code == 0, res.stderr
    res = run_mreg(repo2, "push")
    assert_error(res, 5, "access denied", "credentials")


def test_wrong_ssh_host_key_is_refused(repo2: Path, sshd: Sshd, tmp_path: Path) -> None:
    from tests.remote.servers import Sshd

    assert isinstance(sshd, Sshd)
    wrong = tmp_path / "known_hosts"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    pub = (tmp_path / "k.pub").read_text().split()
    wrong.write_text(f"[127.0.0.1]:{sshd.port} {pub[0]} {pub[1]}\n")
    url = f"ssh://root@127.0.0.1:{sshd.port}{tmp_path}/store"
    run_mreg(
        repo2,
        "remote",
        "add",
        "o",
        url,
        "-d",
        "--local",
        "-o",
        f"client_keys={sshd.client_key}",
        "-o",
        f"known_hosts={wrong}",
    )
    res = run_mreg(repo2, "push")
    assert res.exit_code == 5, res.stderr
    assert not (tmp_path / "store").exists()


def test_missing_bucket(repo2: Path, moto_server: str) -> None:
    add_s3(repo2, "s3://no-such-bucket-here/m", moto_server)
    for args in (["push"], ["pull"]):
        res = run_mreg(repo2, *args)
        assert_error(res, 5, "'no-such-bucket-here' does not exist")
        no_secret(res.stdout, res.stderr)


def test_push_of_a_blob_missing_from_the_cache(repo2: Path, cli: Cli, tmp_path: Path) -> None:
    assert cli("remote", "add", "o", str(tmp_path / "store"), "-d").exit_code == 0
    blob = next(p for p in (repo2 / ".mreg" / "cache" / "sha256").rglob("*") if p.is_file())
    blob.unlink()
    res = cli("push")
    assert res.exit_code == 4, res.stderr
    assert "not in the cache" in res.stderr


# ------------------------------------------------------------------------- get --repo


def test_get_from_another_repository(
    repo2: Path, cli: Cli, tmp_path: Path, remote: RemoteKind
) -> None:
    if remote.kind == "memory":
        pytest.skip("a memory remote does not outlive the process that pushed")
    assert cli(*remote.add_args()).exit_code == 0
    git(repo2, "add", "-A")
    git(repo2, "commit", "-qm", "remote")
    assert cli("push").exit_code == 0
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo2), str(bare))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = run_mreg(elsewhere, "get", "enc", "-o", "enc-out", "--repo", f"file://{bare}", "--json")
    assert res.exit_code == 0, res.stderr
    assert sorted(p.name for p in (elsewhere / "enc-out").rglob("*")) == sorted(
        p.name for p in (repo2 / "enc").rglob("*")
    )
    res = run_mreg(elsewhere, "get", "churn@v1", "-o", "m.pkl", "--repo", str(bare))
    assert res.exit_code == 0, res.stderr
    assert (elsewhere / "m.pkl").read_bytes() == (repo2 / "out" / "model.pkl").read_bytes()
    res = run_mreg(elsewhere, "get", "churn", "-o", "x", "--repo", str(tmp_path / "nope"))
    assert res.exit_code == 3 and "git clone" in res.stderr


# -------------------------------------------------------------------- SIGKILL and reruns

BIG_FILES = 16
BIG_SIZE = 1024 * 1024


def big_repo(root: Path, cli: Cli) -> None:
    for i in range(BIG_FILES):
        write(root / "big" / f"part{i:02d}.bin", os.urandom(BIG_SIZE))
    assert cli("add", "big", "big").exit_code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "big")


def start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(mreg_script()), *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(cond: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.005)


def remote_intact(remote: RemoteKind) -> None:
    """Every object under a final name holds exactly the bytes its name says."""
    from tests.helpers import sha

    for oid in remote.oids():
        assert sha(remote.read(oid)) == oid, oid


DISK_KINDS = ["local", "s3", "sftp"]


def big_repo_with_remote(
    kind: str,
    repo: Path,
    cli: Cli,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> RemoteKind:
    """big_repo's models in repo, and a remote of this kind as its default."""
    remote = make_remote(kind, tmp_path, request)
    for k, v in remote.env.items():
        monkeypatch.setenv(k, v)
    big_repo(repo, cli)
    assert cli(*remote.add_args()).exit_code == 0
    return remote


@pytest.mark.parametrize("kind", DISK_KINDS)
def test_sigkill_during_push_then_rerun(
    repo: Path,
    cli: Cli,
    tmp_path: Path,
    kind: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote = big_repo_with_remote(kind, repo, cli, tmp_path, request, monkeypatch)
    proc = start(repo, "push", "-j", "2")
    wait_for(lambda: len(remote.oids()) >= 1 or proc.poll() is not None)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    remote_intact(remote)
    res = cli("push", "--json")  # the rerun (in-process: the kill was the point)
    assert res.exit_code == 0, res.stderr
    assert len(remote.oids()) == BIG_FILES + 1
    res = cli("verify", "-r", "origin")
    assert res.exit_code == 0, res.stdout + res.stderr


@pytest.mark.parametrize("kind", DISK_KINDS)
def test_sigkill_during_pull_then_rerun(
    repo: Path,
    cli: Cli,
    tmp_path: Path,
    kind: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    big_repo_with_remote(kind, repo, cli, tmp_path, request, monkeypatch)
    git(repo, "commit", "-qam", "remote")
    assert cli("push").exit_code == 0
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    cache = clone / ".mreg" / "cache" / "sha256"
    proc = start(clone, "pull", "-j", "2")
    wait_for(
        lambda: (
            (cache.is_dir() and any(p.is_file() for p in cache.rglob("*")))
            or proc.poll() is not None
        )
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for blob in (p for p in cache.rglob("*") if p.is_file()):
        assert hash_file(blob)[0] == f"sha256:{blob.parent.name}{blob.name}"
    monkeypatch.chdir(clone)
    res = cli("pull")
    assert res.exit_code == 0, res.stderr
    assert cli("verify").exit_code == 0
    for i in range(BIG_FILES):
        name = f"big/part{i:02d}.bin"
        assert (clone / name).read_bytes() == (repo / name).read_bytes()


# ---------------------------------------------------------- a server going away mid-way


def test_sftp_server_stops_mid_push(repo: Path, cli: Cli, tmp_path: Path) -> None:
    server = start_sshd(tmp_path / "own-sshd")
    big_repo(repo, cli)
    store = tmp_path / "sftp-store"
    url = f"ssh://root@127.0.0.1:{server.port}{store}"
    res = cli(
        "remote",
        "add",
        "origin",
        url,
        "-d",
        "--local",
        "-o",
        f"client_keys={server.client_key}",
        "-o",
        f"known_hosts={server.known_hosts}",
    )
    assert res.exit_code == 0
    proc = start(repo, "push", "-j", "2")
    wait_for(
        lambda: (
            (store / "sha256").is_dir() and any(p.is_file() for p in (store / "sha256").rglob("*"))
        )
    )
    server.stop()
    started = time.monotonic()
    _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 5, err
    assert "remote origin" in err and "Traceback" not in err
    assert time.monotonic() - started < 60
    for blob in (p for p in (store / "sha256").rglob("*") if p.is_file()):
        assert hash_file(blob)[0] == f"sha256:{blob.parent.name}{blob.name}"
    # The server comes back (new port): the rerun completes.
    server = start_sshd(tmp_path / "own-sshd")
    try:
        url = f"ssh://root@127.0.0.1:{server.port}{store}"
        cli(
            "remote",
            "add",
            "origin",
            url,
            "-d",
            "--local",
            "--force",
            "-o",
            f"client_keys={server.client_key}",
            "-o",
            f"known_hosts={server.known_hosts}",
        )
        assert cli("push").exit_code == 0
        assert cli("verify", "-r", "origin").exit_code == 0
    finally:
        server.stop()


def test_s3_server_stops_mid_pull(repo: Path, cli: Cli, tmp_path: Path) -> None:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    import boto3  # type: ignore[import-untyped]

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
        Bucket="stopping"
    )
    big_repo(repo, cli)
    assert (
        cli(
            "remote", "add", "origin", "s3://stopping/m", "-d", "-o", f"endpoint_url={endpoint}"
        ).exit_code
        == 0
    )
    git(repo, "commit", "-qam", "remote")
    assert cli("push").exit_code == 0
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    cache = clone / ".mreg" / "cache" / "sha256"
    proc = start(clone, "pull", "-j", "1")
    wait_for(lambda: cache.is_dir() and any(p.is_file() for p in cache.rglob("*")))
    server.stop()
    assert server._server is not None
    server._server.server_close()  # the listening socket goes too: nothing answers
    try:
        _out, err = proc.communicate(timeout=90)
        assert proc.returncode == 5, err
        assert "remote origin (s3://stopping/m)" in err and "Traceback" not in err
        assert not (clone / "big").exists()
        for blob in (p for p in cache.rglob("*") if p.is_file()):
            assert hash_file(blob)[0] == f"sha256:{blob.parent.name}{blob.name}"
    finally:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
    try:
        os.chdir(clone)
        res = cli("pull")
        assert res.exit_code == 0, res.stderr
        assert cli("verify").exit_code == 0
    finally:
        os.chdir(repo)
        server.stop()


# ------------------------------------------------------------- push REF --all-versions


def card_oid(root: Path, name: str) -> str:
    from mreg import card

    return card.loads((root / ".mreg" / "models" / f"{name}.yaml").read_bytes()).artifact.oid


@pytest.mark.parametrize("kind", DISK_KINDS)
def test_push_ref_all_versions_pushes_every_version_of_that_model(
    repo2: Path,
    cli: Cli,
    tmp_path: Path,
    kind: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    remote = make_remote(kind, tmp_path, request)
    for k, v in remote.env.items():
        monkeypatch.setenv(k, v)
    v1 = card_oid(repo2, "churn")
    write(repo2 / "out" / "model.pkl", b"churn, version two")
    assert cli("add", "churn", "out/model.pkl").exit_code == 0
    git(repo2, "commit", "-qam", "churn v2")
    v2 = card_oid(repo2, "churn")
    assert run_mreg(repo2, *remote.add_args()).exit_code == 0
    res = run_mreg(repo2, "push", "churn", "--all-versions", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["models"] == ["churn v1", "churn v2"]
    assert res.json["transferred"] == 2
    assert remote.oids() == {v1, v2}  # both versions of churn, nothing of enc


# ------------------------------------------------- a blob the remote lacks, a bad bucket


def pushed_clone(repo2: Path, tmp_path: Path) -> Path:
    """repo2 pushed to a folder remote `origin`, and a fresh clone of it."""
    store = tmp_path / "store"
    assert run_mreg(repo2, "remote", "add", "origin", str(store), "-d").exit_code == 0
    git(repo2, "commit", "-qam", "remote")
    assert run_mreg(repo2, "push").exit_code == 0
    dest = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo2), str(dest))
    return dest


def test_a_blob_missing_on_the_remote_names_the_model_and_the_push(
    repo2: Path, tmp_path: Path
) -> None:
    clone = pushed_clone(repo2, tmp_path)
    churn = card_oid(repo2, "churn")
    from mreg.hashing import parse_manifest

    store = tmp_path / "store" / "sha256"
    (store / churn[7:9] / churn[9:]).unlink()
    tree = card_oid(repo2, "enc")
    gone = parse_manifest((store / tree[7:9] / tree[9:]).read_bytes())[0].oid
    (store / gone[7:9] / gone[9:]).unlink()
    message = f"blob {churn} of churn v1 is not on remote 'origin' ({tmp_path / 'store'})"
    for args in (["pull", "churn"], ["get", "churn", "-o", "x.pkl"]):
        res = run_mreg(clone, *args)
        assert_error(res, 5, message, "run `mreg push churn@v1` in the repository where it was")
        assert "does the bucket" not in res.stderr
    res = run_mreg(clone, "fetch")
    assert res.exit_code == 5, res.stderr
    assert "2 blobs of churn v1, enc v1 are not on remote 'origin'" in res.stderr
    assert "`mreg push churn@v1 enc@v1`" in res.stderr
    res = run_mreg(clone, "get", "enc", "-o", "enc-out")
    assert_error(res, 5, f"blob {gone} of enc v1 is not on remote 'origin'", "mreg push enc@v1")
    assert not (clone / "x.pkl").exists() and not (clone / "enc-out").exists()


def test_a_missing_bucket_or_folder_is_not_a_missing_blob(
    repo2: Path, moto_server: str, tmp_path: Path
) -> None:
    add_s3(repo2, "s3://no-such-bucket-here/m", moto_server)
    for args in (["push"], ["pull"], ["fetch"], ["get", "churn", "-o", "x.pkl", "-r", "o"]):
        res = run_mreg(repo2, *args)
        assert_error(res, 5, "bucket or container 'no-such-bucket-here' does not", "create it")
        assert "mreg push" not in res.stderr
        no_secret(res.stdout, res.stderr)
    nowhere = tmp_path / "no-such-folder"
    assert run_mreg(repo2, "remote", "add", "f", str(nowhere), "--force").exit_code == 0
    for args in (["fetch", "-r", "f"], ["get", "churn", "-o", "x.pkl", "-r", "f"]):
        res = run_mreg(repo2, *args)
        assert_error(res, 5, f"remote f ({nowhere}): folder {nowhere} does not", "fix the URL")
    assert not nowhere.exists()


# ------------------------------------------------------------ a server that never answers


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word."""
    import socket
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            held.append(conn)  # kept open, never read from nor written to

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1])
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    sock.close()


@pytest.mark.parametrize("kind", ["s3", "sftp"])
def test_a_server_that_never_answers_times_out(repo2: Path, silent_server: int, kind: str) -> None:
    if kind == "s3":
        display = "s3://bucket/m"
        add_s3(repo2, display, f"http://127.0.0.1:{silent_server}")
    else:
        display = f"ssh://root@127.0.0.1:{silent_server}/srv/m"
        url = f"ssh://root:{SECRET}@127.0.0.1:{silent_server}/srv/m"
        assert run_mreg(repo2, "remote", "add", "o", url, "-d", "--local").exit_code == 0
    env = dict(os.environ, MREG_REMOTE_TIMEOUT="2", MREG_REMOTE_RETRIES="2")
    done = subprocess.run(
        [str(mreg_script()), "push"],
        cwd=repo2,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # without the timeouts this takes minutes: that is the failure
    )
    res = CliResult(done.returncode, done.stdout, done.stderr)
    assert_error(res, 5, f"remote o ({display}): no answer within 2s", "MREG_REMOTE_TIMEOUT")
    no_secret(res.stdout, res.stderr)


# --------------------------------------------------------------------- fetch --repair


def test_fetch_repair_downloads_damaged_cache_blobs_again(repo2: Path, tmp_path: Path) -> None:
    clone = pushed_clone(repo2, tmp_path)
    assert run_mreg(clone, "pull").exit_code == 0
    from tests.helpers import blob_path

    churn = card_oid(repo2, "churn")
    tree = card_oid(repo2, "enc")
    for oid in (churn, tree):  # a file blob and a manifest
        path = blob_path(clone, oid)
        path.chmod(0o644)
        path.write_bytes(b"bit rot")
    # pull fetches nothing (the blob is there) and checkout refuses the bytes: it says how
    # to repair them.
    (clone / "out" / "model.pkl").unlink()
    assert_error(run_mreg(clone, "pull", "churn"), 4, "corrupt", "mreg fetch --repair churn")
    # A plain fetch takes the cache at its word (no re-hash of what is there); a
    # manifest it must read is checked, and the error says how to repair it ...
    res = run_mreg(clone, "fetch", "churn", "--json")
    assert res.exit_code == 0 and res.json["transferred"] == 0, res.stderr
    assert_error(run_mreg(clone, "fetch"), 4, "corrupt", "mreg fetch --repair")
    res = run_mreg(clone, "verify")
    assert res.exit_code == 1 and "mreg fetch --repair" in res.stderr
    # ... --repair re-hashes the blobs of the models asked for, and only those.
    res = run_mreg(clone, "fetch", "churn", "--repair", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["transferred"] == 1
    assert hash_file(blob_path(clone, churn))[0] == churn
    assert hash_file(blob_path(clone, tree))[0] != tree  # enc was not asked for
    assert run_mreg(clone, "pull", "churn").exit_code == 0
    assert (clone / "out" / "model.pkl").read_bytes() == (repo2 / "out" / "model.pkl").read_bytes()
    res = run_mreg(clone, "fetch", "--repair")
    assert res.exit_code == 0, res.stderr
    assert f"repaired {tree} (enc v1): damaged in the cache, fetched again" in res.stderr
    assert run_mreg(clone, "verify").exit_code == 0
    again = run_mreg(clone, "fetch", "--repair", "--json")
    assert again.exit_code == 0 and again.json["transferred"] == 0
    # A damaged blob the remote lacks too: removed from the cache, reported missing.
    path = blob_path(clone, churn)
    path.chmod(0o644)
    path.write_bytes(b"rot again")
    (tmp_path / "store" / "sha256" / churn[7:9] / churn[9:]).unlink()
    res = run_mreg(clone, "fetch", "churn", "--repair")
    assert res.exit_code == 5, res.stderr
    assert "damaged in the cache, missing" in res.stderr
    assert not path.exists()
