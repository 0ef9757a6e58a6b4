"""The conformance suite: every remote kind (local, memory, S3 server, SFTP server) runs
the same push, fetch, pull, get, gc, verify and fault tests, in-process through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.helpers import (
    Cli,
    assert_error,
    cache_blobs,
    git,
    partial_leftovers,
    sha,
    snapshot,
    write,
)
from tests.remote.servers import RemoteKind

from mreg.hashing import Entry, manifest_bytes


def card_oid(root: Path, name: str) -> str:
    from mreg import card

    return card.loads((root / ".mreg" / "models" / f"{name}.yaml").read_bytes()).artifact.oid


def all_oids(root: Path) -> set[str]:
    return {f"sha256:{p.parent.name}{p.name}" for p in cache_blobs(root)}


def test_push_uploads_the_cache_layout_and_skips_what_is_there(
    models_repo: Path, cli: Cli, remote: RemoteKind
) -> None:
    res = cli("push", "--json")
    assert res.exit_code == 0, res.stderr
    doc = res.json
    local = all_oids(models_repo)
    assert doc["transferred"] == len(local) == 6  # churn, enc manifest + 4 files
    assert doc["present"] == 0
    assert doc["bytes"] == sum(p.stat().st_size for p in cache_blobs(models_repo))
    assert remote.oids() == local
    for oid in local:
        assert sha(remote.read(oid)) == oid
    again = cli("push", "--json")
    assert again.exit_code == 0
    assert again.json["transferred"] == 0
    assert again.json["present"] == 6


def test_an_up_to_date_push_asks_per_artifact_not_for_a_listing(
    models_repo: Path, cli: Cli, remote: RemoteKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mreg.remote import Remote

    assert cli("push").exit_code == 0
    calls: list[str] = []

    def no_listing(self: Remote) -> dict[str, int]:
        calls.append("list_blobs")
        raise AssertionError("an up-to-date push listed the remote")

    listing = Remote.list_blobs
    monkeypatch.setattr(Remote, "list_blobs", no_listing)
    again = cli("push", "--json")
    assert again.exit_code == 0, again.stderr
    assert (again.json["transferred"], again.json["present"]) == (0, 6)
    assert calls == []
    # One artifact not there (churn's blob deleted on the remote): the listing decides.
    remote.delete(card_oid(models_repo, "churn"))
    monkeypatch.setattr(Remote, "list_blobs", listing)
    res = cli("push", "--json")
    assert res.exit_code == 0, res.stderr
    assert (res.json["transferred"], res.json["present"]) == (1, 5)


def test_a_push_of_a_few_blobs_probes_them_instead_of_listing(
    models_repo: Path, cli: Cli, remote: RemoteKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mreg.remote import Remote

    if remote.kind != "local":
        pytest.skip("probing is for folder remotes; object stores answer 2 requests per probe")
    assert cli("push", "enc").exit_code == 0  # the folder model: a listing (remote empty)
    monkeypatch.setattr(Remote, "list_blobs", lambda self: pytest.fail("listed the remote"))
    churn = card_oid(models_repo, "churn")
    res = cli("push", "churn", "--json")  # one blob, known from the cache: one probe
    assert res.exit_code == 0, res.stderr
    assert (res.json["transferred"], res.json["present"]) == (1, 0)
    assert sha(remote.read(churn)) == churn
    assert remote.oids() == all_oids(models_repo)


def test_status_remote(models_repo: Path, cli: Cli, remote: RemoteKind) -> None:
    if remote.kind in ("local", "sftp"):  # never pushed to: its folder is not there yet
        res = cli("status", "--remote", "--json")
        assert res.exit_code == 5 and res.stdout == "", (res.exit_code, res.stderr)
        assert res.error_json["error"]["code"] == "remote-not-found"
        assert "does not exist" in res.error_json["error"]["message"]
        remote.fs.makedirs(remote.root, exist_ok=True)
    res = cli("status", "--remote", "--json")
    assert res.exit_code == 0, res.stderr
    assert {m["name"]: m["remote"] for m in res.json["models"]} == {
        "churn": "missing",
        "enc": "missing",
    }
    assert cli("push").exit_code == 0
    res = cli("status", "--remote", "--json")
    assert {m["name"]: m["remote"] for m in res.json["models"]} == {"churn": "ok", "enc": "ok"}
    # One file of the directory model goes missing on the remote: partial.
    from mreg.hashing import parse_manifest

    tree = card_oid(models_repo, "enc")
    entries = parse_manifest(remote.read(tree))
    remote.delete(entries[0].oid)
    res = cli("status", "--remote", "--json")
    assert {m["name"]: m["remote"] for m in res.json["models"]} == {
        "churn": "ok",
        "enc": "partial",
    }


def test_pull_into_a_fresh_clone(
    models_repo: Path, cli: Cli, remote: RemoteKind, clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = {k: v for k, v in snapshot(models_repo).items() if k.startswith(("out/", "enc/"))}
    assert cli("push").exit_code == 0
    monkeypatch.chdir(clone)
    res = cli("pull", "--json")
    assert res.exit_code == 0, res.stderr
    assert sorted(m["action"] for m in res.json["models"]) == ["created", "created"]
    got = {k: v for k, v in snapshot(clone).items() if k.startswith(("out/", "enc/"))}
    assert got == want  # bytes and modes (run.sh stays executable)
    assert not partial_leftovers(clone)
    assert cli("verify").exit_code == 0
    # A second pull has nothing to do.
    again = cli("pull", "--json")
    assert again.exit_code == 0 and again.json["transferred"] == 0


def test_fetch_is_resumable_and_fills_only_the_cache(
    models_repo: Path, cli: Cli, remote: RemoteKind, clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("push").exit_code == 0
    monkeypatch.chdir(clone)
    # Half a fetch: only churn. Then the whole: only the rest comes.
    res = cli("fetch", "churn", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["transferred"] == 1
    res = cli("fetch", "--json")
    assert res.exit_code == 0
    assert res.json["transferred"] == 5 and res.json["present"] == 1
    assert all_oids(clone) == all_oids(models_repo)
    assert not (clone / "out").exists()  # fetch never touches the work tree


def test_get_from_the_remote_and_from_the_cache(
    models_repo: Path,
    cli: Cli,
    remote: RemoteKind,
    clone: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    assert cli("push").exit_code == 0
    monkeypatch.chdir(clone)
    before = snapshot(clone)
    res = cli("get", "churn", "-o", str(tmp_path / "got" / "m.pkl"), "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["source"] == "remote origin"
    assert (tmp_path / "got" / "m.pkl").read_bytes() == (
        models_repo / "out" / "model.pkl"
    ).read_bytes()
    res = cli("get", "enc", "-o", str(tmp_path / "enc-out"))
    assert res.exit_code == 0, res.stderr
    assert snapshot(tmp_path / "enc-out") == snapshot(models_repo / "enc")
    assert snapshot(clone) == before  # nor the work tree nor the cache changed
    # An existing output is not replaced without --force; a folder only by a folder.
    assert_error(cli("get", "enc", "-o", str(tmp_path / "enc-out")), 3, "already exists")
    assert_error(cli("get", "churn", "-o", str(tmp_path / "enc-out"), "-f"), 3, "is a folder")
    assert cli("get", "enc", "-o", str(tmp_path / "enc-out"), "--force").exit_code == 0
    assert snapshot(tmp_path / "enc-out") == snapshot(models_repo / "enc")
    assert cli("get", "churn", "-o", str(tmp_path / "got" / "m.pkl"), "--force").exit_code == 0
    # From the cache where it holds the blobs.
    monkeypatch.chdir(models_repo)
    res = cli("get", "enc", "-o", str(tmp_path / "from-cache"), "--json")
    assert res.json["source"] == "cache"
    assert not list(tmp_path.glob(".*.mreg-*.tmp"))


def test_push_all_versions(models_repo: Path, cli: Cli, remote: RemoteKind) -> None:
    v1 = card_oid(models_repo, "churn")
    write(models_repo / "out" / "model.pkl", b"version two")
    assert cli("add", "churn", "out/model.pkl").exit_code == 0
    git(models_repo, "commit", "-qam", "v2")
    v2 = card_oid(models_repo, "churn")
    assert cli("push", "churn").exit_code == 0
    assert v2 in remote.oids() and v1 not in remote.oids()
    res = cli("push", "--all-versions", "--json")
    assert res.exit_code == 0, res.stderr
    assert v1 in remote.oids()


def test_gc_keeps_history_and_drops_the_rest(
    models_repo: Path, cli: Cli, remote: RemoteKind
) -> None:
    v1 = card_oid(models_repo, "churn")
    write(models_repo / "out" / "model.pkl", b"version two")
    assert cli("add", "churn", "out/model.pkl").exit_code == 0
    git(models_repo, "commit", "-qam", "v2")
    # A blob nothing refers to (a version registered, then abandoned).
    write(models_repo / "out" / "model.pkl", b"abandoned experiment")
    assert cli("add", "churn", "out/model.pkl").exit_code == 0
    stray = card_oid(models_repo, "churn")
    git(models_repo, "checkout", "-q", "--", ".mreg/models/churn.yaml")
    assert cli("push", "--all-versions").exit_code == 0
    cli("push")  # the work tree card is v2 again
    from mreg.project import Project
    from mreg.remote import Remote
    from mreg.store import Store

    with Project.open(models_repo) as proj, Remote(proj.config.remotes["origin"], proj.root) as r:
        r.upload(stray, Store(proj.cache_dir).blob_path(stray))
    dry = cli("gc", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert [x["oid"] for x in dry.json["removed"]] == [stray]
    assert stray in all_oids(models_repo)
    res = cli("gc")
    assert res.exit_code == 0
    assert stray in res.stdout
    assert stray not in all_oids(models_repo) and v1 in all_oids(models_repo)
    # On the remote: refused without --force, and it says why.
    assert_error(cli("gc", "-r", "origin"), 3, "other repositories", "--force")
    assert stray in remote.oids()
    res = cli("gc", "-r", "origin", "--force", "--json")
    assert res.exit_code == 0, res.stderr
    assert [x["oid"] for x in res.json["removed"]] == [stray]
    assert stray not in remote.oids() and v1 in remote.oids()
    assert len(remote.oids()) == 7  # churn v1 and v2, enc's manifest and 4 files
    assert cli("verify", "-r", "origin").exit_code == 0


def test_verify_reports_tampered_and_missing_blobs(
    models_repo: Path, cli: Cli, remote: RemoteKind
) -> None:
    assert cli("push").exit_code == 0
    assert cli("verify", "-r", "origin").exit_code == 0
    churn = card_oid(models_repo, "churn")
    remote.write(churn, b"tampered bytes")
    from mreg.hashing import parse_manifest

    gone = parse_manifest(remote.read(card_oid(models_repo, "enc")))[0].oid
    remote.delete(gone)
    res = cli("verify", "-r", "origin", "--json")
    assert res.exit_code == 1
    bad = {b["oid"]: (b["problem"], b["models"]) for b in res.json["bad"]}
    assert bad == {churn: ("corrupt", ["churn v1"]), gone: ("missing", ["enc v1"])}
    text = cli("verify", "-r", "origin")
    assert text.exit_code == 1
    assert f"corrupt {churn} (churn v1)" in text.stdout
    # The local cache: one blob damaged on disk.
    path = models_repo / ".mreg" / "cache" / "sha256" / gone[7:9] / gone[9:]
    path.chmod(0o644)
    path.write_bytes(b"rot")
    res = cli("verify", "--json")
    assert res.exit_code == 1
    assert [(b["oid"], b["problem"]) for b in res.json["bad"]] == [(gone, "corrupt")]


def test_pull_of_a_tampered_blob_changes_nothing(
    models_repo: Path, cli: Cli, remote: RemoteKind, clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("push").exit_code == 0
    churn = card_oid(models_repo, "churn")
    remote.write(churn, b"x" * 1000)
    monkeypatch.chdir(clone)
    before = snapshot(clone)
    res = cli("pull")
    assert res.exit_code == 4, res.stderr
    assert "did not match their digest" in res.stderr
    after = snapshot(clone)
    # The good blobs may have arrived in the cache; the bad one did not, nor did any
    # artifact appear in the work tree.
    assert churn not in all_oids(clone)
    assert {k: v for k, v in after.items() if not k.startswith(".mreg/cache/")} == {
        k: v for k, v in before.items() if not k.startswith(".mreg/cache/")
    }
    assert not partial_leftovers(clone)
    assert cli("get", "churn", "-o", "x.pkl").exit_code == 4
    assert not (clone / "x.pkl").exists()


def test_push_repair_uploads_damaged_remote_copies_again(
    models_repo: Path, cli: Cli, remote: RemoteKind, clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mreg.hashing import parse_manifest

    assert cli("push").exit_code == 0
    churn = card_oid(models_repo, "churn")
    tree = card_oid(models_repo, "enc")
    inner = parse_manifest(remote.read(tree))[0].oid
    remote.write(churn, b"tampered bytes")
    remote.write(inner, b"rot")
    # A plain push trusts what is there: the damage stays.
    assert cli("push", "--json").json["transferred"] == 0
    assert cli("verify", "-r", "origin").exit_code == 1
    res = cli("push", "--repair", "--json")
    assert res.exit_code == 0, res.stderr
    assert sorted(res.json["repaired"]) == sorted([churn, inner])
    assert (res.json["transferred"], res.json["present"]) == (2, 4)
    assert cli("verify", "-r", "origin").exit_code == 0
    assert sha(remote.read(churn)) == churn
    text = cli("push", "--repair")
    assert text.exit_code == 0 and "repaired" not in text.stderr  # nothing left to repair
    monkeypatch.chdir(clone)
    assert cli("pull").exit_code == 0


def test_push_repair_without_a_good_copy_leaves_the_remote_alone(
    models_repo: Path, cli: Cli, remote: RemoteKind
) -> None:
    assert cli("push").exit_code == 0
    churn = card_oid(models_repo, "churn")
    remote.write(churn, b"tampered bytes")
    local = models_repo / ".mreg" / "cache" / "sha256" / churn[7:9] / churn[9:]
    local.chmod(0o644)
    local.write_bytes(b"rot in the cache too")
    res = cli("push", "--repair")
    assert res.exit_code == 4, res.stderr
    assert f"corrupt {churn} (churn v1)" in res.stderr
    assert remote.read(churn) == b"tampered bytes"  # not deleted: nothing better to put there


def test_missing_blob_on_the_remote_is_exit_5(
    models_repo: Path, cli: Cli, remote: RemoteKind, clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("push").exit_code == 0
    remote.delete(card_oid(models_repo, "churn"))
    monkeypatch.chdir(clone)
    res = cli("pull", "churn")
    oid = card_oid(models_repo, "churn")
    assert_error(
        res, 5, f"blob {oid} of churn v1 is not on remote 'origin'", "`mreg push churn@v1`"
    )
    assert "does the bucket" not in res.stderr
    assert not (clone / "out").exists()


def test_remote_manifest_with_unsafe_paths_is_refused(
    models_repo: Path,
    cli: Cli,
    remote: RemoteKind,
    clone: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    payload = b"owned"
    remote.write(sha(payload), payload)
    monkeypatch.chdir(clone)
    for i, bad_path in enumerate(["../escape.txt", "/etc/evil", "a/../../b"]):
        manifest = manifest_bytes([Entry("ok.txt", sha(payload), len(payload))]).replace(
            b'"ok.txt"', json.dumps(bad_path).encode()
        )
        tree = sha(manifest)
        remote.write(tree, manifest)
        name = f"evil{i}"
        (clone / ".mreg" / "models" / f"{name}.yaml").write_text(
            f"schema: 1\nname: {name}\nversion: 1\nartifact:\n  path: {name}\n"
            f"  oid: '{tree}'\n  kind: dir\n  size: 5\n  files: 1\n"
        )
        out = tmp_path / f"e{i}"
        for args in (["pull", name], ["fetch", name], ["get", name, "-o", str(out)]):
            res = cli(*args)
            assert res.exit_code == 3, (args, res.stderr)
            assert "manifest" in res.stderr and "Traceback" not in res.stderr
        assert tree not in all_oids(clone)
        assert not out.exists()
    assert not (tmp_path / "escape.txt").exists() and not (clone.parent / "escape.txt").exists()
