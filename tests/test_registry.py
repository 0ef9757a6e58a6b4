"""mreg.project and mreg.registry: init, add (versions, cards, cache, git), list, claims."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from mreg import card as card_mod
from mreg import registry
from mreg.errors import (
    InvalidArgument,
    InvalidCard,
    InvalidPath,
    ModelNotFound,
    NotAGitRepo,
    NotInitialised,
)
from mreg.hashing import parse_manifest
from mreg.project import Project, init
from tests.helpers import (
    assert_error,
    blob_path,
    cache_blobs,
    card_yaml,
    git,
    partial_leftovers,
    run_mreg,
    sha,
    snapshot,
    write,
)

# ---------------------------------------------------------------------------- init


def test_init_creates_the_layout(git_repo: Path) -> None:
    proj, created = init(git_repo)
    proj.close()
    assert created
    mreg_dir = git_repo / ".mreg"
    assert (mreg_dir / "config.yaml").is_file()
    assert (mreg_dir / "models").is_dir()
    ignored = (mreg_dir / ".gitignore").read_text().splitlines()
    assert {"/cache/", "/tmp/", "/config.local.yaml"} <= set(ignored)
    # git agrees: what .gitignore says is ignored is ignored.
    write(mreg_dir / "cache" / "x", "x")
    write(mreg_dir / "tmp" / "y", "y")
    write(mreg_dir / "config.local.yaml", "z: 1\n")
    status = git(git_repo, "status", "--porcelain", "--untracked-files=all")
    assert "cache" not in status and "tmp/" not in status and "config.local" not in status
    assert ".mreg/config.yaml" in status


def test_init_twice_changes_nothing(git_repo: Path) -> None:
    init(git_repo)[0].close()
    before = snapshot(git_repo)
    mtimes = {p: (git_repo / p).stat().st_mtime_ns for p in before}
    proj, created = init(git_repo)
    proj.close()
    assert not created
    assert snapshot(git_repo) == before
    assert {p: (git_repo / p).stat().st_mtime_ns for p in before} == mtimes


def test_init_from_a_subfolder_uses_the_top(git_repo: Path) -> None:
    sub = git_repo / "a" / "b"
    sub.mkdir(parents=True)
    init(sub)[0].close()
    assert (git_repo / ".mreg" / "config.yaml").is_file()
    assert not (sub / ".mreg").exists()


def test_init_outside_git(tmp_path: Path) -> None:
    with pytest.raises(NotAGitRepo) as info:
        init(tmp_path)
    assert info.value.hint is not None and "git init" in info.value.hint
    assert not (tmp_path / ".mreg").exists()


def test_open_without_init(git_repo: Path) -> None:
    with pytest.raises(NotInitialised) as info:
        Project.open(git_repo)
    assert info.value.hint is not None and "mreg init" in info.value.hint


def test_open_from_a_subfolder(repo: Path) -> None:
    sub = repo / "src" / "deep"
    sub.mkdir(parents=True)
    with Project.open(sub) as proj:
        assert proj.root == repo.resolve()


# ---------------------------------------------------------------------------- add


def _add(project: Project, name: str = "churn", path: str = "out/model.pkl", **kw: object):
    return registry.add(project, name, Path(path), **kw)  # type: ignore[arg-type]


def test_first_add(project: Project, repo: Path) -> None:
    data = b"model v1 bytes"
    write(repo / "out" / "model.pkl", data)
    result = _add(project, params={"lr": 0.01}, metrics={"auc": 0.9})
    assert (result.name, result.version, result.status) == ("churn", 1, "new")
    assert result.card_path == ".mreg/models/churn.yaml"
    assert result.artifact_path == "out/model.pkl"
    assert result.short_oid == sha(data)[7:19]
    # The card on disk is what add returned.
    text = (repo / ".mreg" / "models" / "churn.yaml").read_text()
    card = card_mod.loads(text)
    assert card == result.card
    assert card.artifact == card_mod.Artifact("out/model.pkl", sha(data), "file", len(data), 1)
    assert card.framework == {"name": "pickle"}
    assert card.registered.by == "Test User <test@example.com>"
    assert card.registered.commit is None  # no commit yet in this repository
    assert card.registered.dirty is False
    assert card.registered.at is not None
    dt.datetime.strptime(card.registered.at, "%Y-%m-%dT%H:%M:%SZ")
    # The bytes are in the cache, read-only, and the work-tree path is git-ignored.
    blob = blob_path(repo, sha(data))
    assert blob.read_bytes() == data
    assert stat.S_IMODE(blob.stat().st_mode) == 0o444
    assert partial_leftovers(repo) == []
    assert "/out/model.pkl" in (repo / ".gitignore").read_text().splitlines()
    assert git(repo, "check-ignore", "out/model.pkl").strip() == "out/model.pkl"
    assert result.paths_to_commit == [
        ".mreg/models/churn.yaml",
        ".gitignore",
        ".mreg/config.yaml",
        ".mreg/.gitignore",
        ".mreg/models/.gitkeep",
    ]


def test_registered_commit_and_dirty_come_from_git(project: Project, repo: Path) -> None:
    write(repo / "train.py", "print(1)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "code")
    head = git(repo, "rev-parse", "HEAD").strip()
    write(repo / "out" / "model.pkl", "m1")
    card = _add(project).card
    assert card.registered.commit == head
    assert card.registered.dirty is False
    write(repo / "train.py", "print(2)\n")  # the code that made v2 is not committed
    write(repo / "out" / "model.pkl", "m2")
    card = _add(project).card
    assert card.registered.dirty is True


def test_registered_by_comes_from_git_config(
    project: Project, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without GIT_AUTHOR_*, `registered.by` is git's user.name and user.email: the
    repository's config over the global one, includes followed, the last value winning."""
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    assert project.git.identity() == "Test User <test@example.com>"  # global (HOME)
    extra = write(repo.parent / "who.gitconfig", "[user]\n\tname = Zoë van der Berg\n")
    git(repo, "config", "include.path", str(extra))
    git(repo, "config", "user.email", "zoe@example.org")
    write(repo / "out" / "model.pkl", "m1")
    assert _add(project).card.registered.by == "Zoë van der Berg <zoe@example.org>"
    monkeypatch.setenv("GIT_AUTHOR_NAME", "CI Bot")  # as for a commit, the environment wins
    assert project.git.identity() == "CI Bot <zoe@example.org>"


def test_registered_by_is_empty_without_an_identity(
    project: Project, repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GIT_AUTHOR_NAME")
    monkeypatch.delenv("GIT_AUTHOR_EMAIL")
    monkeypatch.setenv("HOME", str(tmp_path / "nobody"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nobody"))
    unset = subprocess.run(["git", "config", "--get-regexp", "^user[.]"], cwd=repo)
    assert unset.returncode == 1  # git itself finds no identity
    assert project.git.identity() is None
    git(repo, "config", "user.name", "Only A Name")
    assert project.git.identity() == "Only A Name <>"


def test_versions(project: Project, repo: Path) -> None:
    model = repo / "out" / "model.pkl"
    write(model, "v1")
    first = _add(project, params={"lr": 0.1}, description="churn", labels={"team": "growth"})
    card_file = repo / ".mreg" / "models" / "churn.yaml"
    text_v1 = card_file.read_bytes()

    again = _add(project, params={"lr": 0.1})
    assert (again.status, again.version) == ("unchanged", 1)
    assert card_file.read_bytes() == text_v1

    meta = _add(project, metrics={"auc": 0.8})
    assert (meta.status, meta.version) == ("updated", 1)
    assert meta.card.params == {"lr": 0.1}  # kept: same bytes
    assert meta.card.metrics == {"auc": 0.8}

    write(model, "v2")
    second = _add(project, metrics={"auc": 0.85})
    assert (second.status, second.version) == ("new-version", 2)
    # Per-version metadata starts afresh; model-level keys carry over.
    assert second.card.params == {}
    assert second.card.metrics == {"auc": 0.85}
    assert second.card.description == "churn"
    assert second.card.labels == {"team": "growth"}

    write(model, "v1")  # going back to old bytes is still a new version
    assert _add(project).version == 3
    assert first.card.artifact.oid == _add(project).card.artifact.oid
    assert len(cache_blobs(repo)) == 2


def test_nested_params_and_metrics_merge(project: Project, repo: Path) -> None:
    write(repo / "m.bin", "x")
    _add(project, path="m.bin", params={"tree": {"depth": 6}, "lr": 0.1})
    card = _add(project, path="m.bin", params={"tree": {"leaves": 31}}).card
    assert card.params == {"tree": {"depth": 6, "leaves": 31}, "lr": 0.1}


def test_an_existing_blob_is_not_written_again(project: Project, repo: Path) -> None:
    big = os.urandom(2 * 1024 * 1024)  # above artifact.SMALL: the streaming path
    write(repo / "big.bin", big)
    write(repo / "small.bin", b"small")
    _add(project, "big", "big.bin")
    _add(project, "small", "small.bin")
    blobs = {p: os.stat(p).st_ino for p in cache_blobs(repo)}
    project.state.close()
    (repo / ".mreg" / "tmp" / "hashstate.sqlite").unlink()  # force a re-hash
    _add(project, "big", "big.bin", metrics={"auc": 1})
    _add(project, "small", "small.bin", metrics={"auc": 1})
    assert {p: os.stat(p).st_ino for p in cache_blobs(repo)} == blobs
    assert partial_leftovers(repo) == []


def test_directory_artifact(project: Project, repo: Path) -> None:
    ck = repo / "ck"
    write(ck / "weights.bin", b"w" * 100)
    write(ck / "sub" / "config.json", "{}")
    write(ck / "run.sh", "#!/bin/sh\n")
    (ck / "run.sh").chmod(0o755)
    result = _add(project, "vision/resnet", "ck")
    card = result.card
    assert (card.artifact.kind, card.artifact.files, card.artifact.size) == ("dir", 3, 112)
    assert result.card_path == ".mreg/models/vision/resnet.yaml"
    assert card.framework == {}  # nothing to guess from
    # The artifact's oid is the digest of its manifest blob, which lists every file.
    manifest = blob_path(repo, card.artifact.oid).read_bytes()
    assert sha(manifest) == card.artifact.oid
    entries = parse_manifest(manifest)
    assert [(e.path, e.size, e.exec) for e in entries] == [
        ("run.sh", 10, True),
        ("sub/config.json", 2, False),
        ("weights.bin", 100, False),
    ]
    for e in entries:
        assert blob_path(repo, e.oid).read_bytes() == (ck / e.path).read_bytes()
    assert len(cache_blobs(repo)) == 4

    # A file unchanged between two versions is stored once.
    write(ck / "weights.bin", b"W" * 100)
    second = _add(project, "vision/resnet", "ck")
    assert second.version == 2
    assert len(cache_blobs(repo)) == 6  # one new file, one new manifest


def test_directory_with_a_symlink_is_refused(project: Project, repo: Path) -> None:
    write(repo / "ck" / "a.bin", "a")
    os.symlink("a.bin", repo / "ck" / "link")
    with pytest.raises(InvalidPath, match=r"ck/link is a symlink") as info:
        _add(project, "m", "ck")
    assert info.value.hint is not None
    assert not (repo / ".mreg" / "models" / "m.yaml").exists()
    assert not (repo / ".gitignore").exists()


def test_framework_guess(project: Project, repo: Path) -> None:
    write(repo / "m.onnx", "x")
    assert _add(project, "a", "m.onnx").card.framework == {"name": "onnx"}
    write(repo / "m.bin", "x")
    assert _add(project, "b", "m.bin").card.framework == {}
    write(repo / "c.bin", "y")
    assert _add(project, "c", "c.bin", framework="custom").card.framework == {"name": "custom"}
    write(repo / "tf" / "saved_model.pb", "x")
    assert _add(project, "tf", "tf").card.framework == {"name": "tensorflow"}


def test_data_lineage(project: Project, repo: Path) -> None:
    write(repo / "data" / "train.csv", "a,b\n1,2\n")
    write(repo / "m.bin", "x")
    card = _add(
        project, "m", "m.bin", data=["train=data/train.csv", "test=s3://bucket/t.parquet"]
    ).card
    assert card.data == [
        {"role": "train", "path": "data/train.csv", "oid": sha(b"a,b\n1,2\n"), "size": 8},
        {"role": "test", "uri": "s3://bucket/t.parquet"},
    ]
    card = _add(project, "m", "m.bin", data=["data/train.csv"]).card
    assert card.data == [{"path": "data/train.csv", "oid": sha(b"a,b\n1,2\n"), "size": 8}]


def test_data_outside_the_repository(project: Project, repo: Path, tmp_path: Path) -> None:
    write(tmp_path / "outside.csv", "x")
    write(repo / "m.bin", "x")
    with pytest.raises(InvalidPath, match=r"--data .* is outside the repository"):
        _add(project, "m", "m.bin", data=[str(tmp_path / "outside.csv")])


def test_training_times(project: Project, repo: Path) -> None:
    write(repo / "m.bin", "x")
    card = _add(
        project, "m", "m.bin", started="2026-01-01T10:00:00Z", finished="2026-01-01T11:30:00+01:00"
    ).card
    assert card.training == {
        "started": "2026-01-01T10:00:00Z",
        "finished": "2026-01-01T10:30:00Z",
        "duration_s": 1800.0,
    }


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"started": "yesterday"}, "--started: 'yesterday' is not an ISO-8601 time"),
        (
            {"started": "2026-01-02T00:00:00Z", "finished": "2026-01-01T00:00:00Z"},
            "--finished is before --started",
        ),
        ({"metrics": {"auc": [[1], 2]}}, "metrics.auc[0]: lists may hold only scalars"),
        ({"metrics": {"auc": {"x": object()}}}, "metrics.auc.x: unsupported value"),
        ({"labels": {"team": ["a"]}}, "labels.team: must be a number"),
        ({"params": ["lr"]}, "params must be a mapping"),
        ({"started": dt.date(2026, 1, 1)}, "--started: must be a datetime or an ISO-8601"),
        ({"finished": 1767225600}, "--finished: must be a datetime or an ISO-8601 string"),
    ],
)
def test_add_refuses_bad_arguments(
    project: Project, repo: Path, kw: dict[str, object], message: str
) -> None:
    write(repo / "m.bin", "x")
    with pytest.raises(InvalidArgument) as info:
        _add(project, "m", "m.bin", **kw)
    assert message in info.value.message
    assert not (repo / ".mreg" / "models" / "m.yaml").exists()


def test_params_may_hold_lists(project: Project, repo: Path) -> None:
    write(repo / "m.bin", "x")
    assert _add(project, "m", "m.bin", params={"layers": [64, 32]}).card.params == {
        "layers": [64, 32]
    }


def test_add_refuses_to_overwrite_a_broken_card(project: Project, repo: Path) -> None:
    write(repo / "m.bin", "x")
    card_file = write(repo / ".mreg" / "models" / "m.yaml", "schema: 1\nname: [\n")
    with pytest.raises(InvalidCard) as info:
        _add(project, "m", "m.bin")
    assert info.value.message.startswith(".mreg/models/m.yaml: invalid YAML")
    assert info.value.hint == "fix or delete the card by hand; mreg will not overwrite it"
    assert card_file.read_bytes() == b"schema: 1\nname: [\n"
    assert cache_blobs(repo) == []


def test_add_keeps_the_upgrade_hint_for_a_newer_card(project: Project, repo: Path) -> None:
    write(repo / "m.bin", "x")
    text = "schema: 2\nname: m\nversion: 1\nartifact: {}\n"
    card_file = write(repo / ".mreg" / "models" / "m.yaml", text)
    with pytest.raises(InvalidCard) as info:
        _add(project, "m", "m.bin")
    assert "newer than this mreg knows" in info.value.message
    assert info.value.hint is not None and "upgrade mreg" in info.value.hint
    assert card_file.read_text() == text


def test_two_models_may_not_claim_one_path(project: Project, repo: Path) -> None:
    write(repo / "ck" / "a.bin", "a")
    _add(project, "whole", "ck")
    with pytest.raises(
        InvalidPath, match=re.escape("ck/a.bin is already the artifact of model 'whole'")
    ):
        _add(project, "part", "ck/a.bin")
    write(repo / "m.bin", "m")
    _add(project, "one", "m.bin")
    with pytest.raises(
        InvalidPath, match=re.escape("m.bin is already the artifact of model 'one'")
    ) as info:
        _add(project, "two", "m.bin")
    assert info.value.hint == "mreg show one"
    # The same model may move its own path.
    write(repo / "m2.bin", "m2")
    assert _add(project, "one", "m2.bin").card.artifact.path == "m2.bin"


def test_gitignore_is_appended_once(project: Project, repo: Path) -> None:
    write(repo / ".gitignore", "*.pyc")  # no trailing newline
    write(repo / "m.bin", "x")
    first = _add(project, "m", "m.bin")
    assert first.gitignore_changed
    second = _add(project, "m", "m.bin", metrics={"a": 1})
    assert not second.gitignore_changed
    assert (repo / ".gitignore").read_text() == "*.pyc\n/m.bin\n"


def test_naive_and_aware_times_mix_and_data_may_be_path_objects(
    project: Project, repo: Path
) -> None:
    """What training code passes: a naive datetime (this machine's local time) beside an
    aware one or a string, and pathlib paths for --data."""
    write(repo / "out" / "model.pkl", "m")
    write(repo / "train.csv", "a,b\n")
    naive = dt.datetime(2026, 1, 1, 10, 0, 0)
    aware = naive.astimezone() + dt.timedelta(minutes=90)
    card = _add(project, started=naive, finished=aware, data=[Path("train.csv")]).card
    assert card.training["duration_s"] == 5400.0
    assert card.training["started"] == registry.iso(naive.astimezone())
    assert [d["path"] for d in card.data] == ["train.csv"] and "role" not in card.data[0]
    card = _add(project, started=naive, finished="2099-01-01T00:00:00Z").card
    assert card.training["finished"] == "2099-01-01T00:00:00Z"


def test_metrics_may_hold_lists_of_scalars_as_the_card_spec_says(
    project: Project, repo: Path
) -> None:
    write(repo / "out" / "model.pkl", "m")
    write(repo / "m.json", '{"auc": 0.9, "curve": [0.1, 0.5, 0.9]}')
    done = run_mreg(repo, "add", "churn", "out/model.pkl", "--metrics", "m.json")
    assert done.exit_code == 0, done.stderr
    card = registry.load_card(project, "churn")
    assert card.metrics == {"auc": 0.9, "curve": [0.1, 0.5, 0.9]}


def test_gitignore_names_odd_paths_exactly(project: Project, repo: Path) -> None:
    """Glob characters and trailing spaces are escaped: each line ignores its model's
    path and nothing else, so the model's bytes stay out of git and other files do not
    disappear from it."""
    odd = ["out/model [v2].pkl", "out/st*r.pkl", "out/what?.pkl", "out/trailing  "]
    lookalikes = ["out/model v.pkl", "out/stXr.pkl", "out/whatX.pkl", "out/trailing"]
    for i, path in enumerate(odd):
        write(repo / path, f"model {i}")
        _add(project, f"m{i}", path)
    for path in lookalikes:
        write(repo / path, "not a model")
    lines = (repo / ".gitignore").read_text().splitlines()
    assert lines == [
        "/out/model \\[v2].pkl",
        "/out/st\\*r.pkl",
        "/out/what\\?.pkl",
        "/out/trailing\\ \\ ",
    ]
    git(repo, "add", "-A")
    staged = git(repo, "diff", "--cached", "--name-only", "-z").split("\0")
    assert [p for p in staged if p.startswith("out/")] == sorted(lookalikes)
    assert not _add(project, "m0", odd[0]).gitignore_changed  # found again, not appended


# ---------------------------------------------------------------------------- commit


def _committed(repo: Path) -> list[str]:
    return sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split())


def test_add_commit(project: Project, repo: Path) -> None:
    write(repo / "unrelated.txt", "staged, not for this commit")
    git(repo, "add", "unrelated.txt")
    write(repo / "out" / "model.pkl", "v1")
    result = _add(project, commit=True)
    assert result.commit == git(repo, "rev-parse", "HEAD").strip()
    assert git(repo, "log", "-1", "--format=%s").strip() == "mreg: churn v1"
    assert _committed(repo) == [
        ".gitignore",
        ".mreg/.gitignore",
        ".mreg/config.yaml",
        ".mreg/models/.gitkeep",
        ".mreg/models/churn.yaml",
    ]
    assert "A  unrelated.txt" in git(repo, "status", "--porcelain")

    write(repo / "out" / "model.pkl", "v2")
    result = _add(project, commit=True, message="retrained on May data")
    assert git(repo, "log", "-1", "--format=%s").strip() == "retrained on May data"
    assert _committed(repo) == [".mreg/models/churn.yaml"]
    assert result.version == 2

    # Nothing to commit: no new commit is made.
    head = git(repo, "rev-parse", "HEAD").strip()
    again = _add(project, commit=True)
    assert again.status == "unchanged"
    assert again.commit is None
    assert git(repo, "rev-parse", "HEAD").strip() == head


def test_a_model_registered_again_after_its_card_was_deleted_goes_on_after_its_tags(
    repo: Path,
) -> None:
    """churn@v1 and churn@v2 stay what they were: the new card is v3, not a second v1."""
    write(repo / "out" / "model.pkl", "v1")
    assert run_mreg(repo, "add", "churn", "out/model.pkl", "--commit").exit_code == 0
    write(repo / "out" / "model.pkl", "v2")
    assert run_mreg(repo, "add", "churn", "out/model.pkl", "--commit").exit_code == 0
    git(repo, "rm", "-q", ".mreg/models/churn.yaml")
    git(repo, "commit", "-qm", "retire churn")
    write(repo / "out" / "model.pkl", "a new start")
    done = run_mreg(repo, "add", "churn", "out/model.pkl", "--commit", "--json")
    assert done.exit_code == 0, done.stderr
    assert (done.json["version"], done.json["tag"]) == (3, "churn@v3")
    tags = git(repo, "tag", "-l", "churn@v*").split()
    assert sorted(tags) == ["churn@v1", "churn@v2", "churn@v3"]
    assert (
        git(repo, "rev-list", "-n1", "churn@v3").strip() == git(repo, "rev-parse", "HEAD").strip()
    )


def _commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


def _which(repo: Path, ref: str) -> tuple[int, str]:
    done = run_mreg(repo, "which", ref, "--json")
    assert done.exit_code == 0, done.stderr
    return done.json["version"], done.json["oid"]


def test_a_model_registered_again_goes_on_after_its_untagged_versions(repo: Path) -> None:
    """v2 committed without a tag (add, then git commit, as the `next:` hint says) keeps
    its number after the card is deleted: the new bytes are v3, and churn@v2 and a
    promote of churn still mean what they meant."""
    write(repo / "m.bin", "1")
    assert run_mreg(repo, "add", "churn", "m.bin", "--commit").exit_code == 0
    write(repo / "m.bin", "2")
    assert run_mreg(repo, "add", "churn", "m.bin").exit_code == 0
    _commit_all(repo, "churn v2")
    git(repo, "rm", "-q", ".mreg/models/churn.yaml")
    git(repo, "commit", "-qm", "drop churn")
    write(repo / "m.bin", "3")
    done = run_mreg(repo, "add", "churn", "m.bin", "--json")
    assert done.exit_code == 0, done.stderr
    assert (done.json["status"], done.json["version"]) == ("new", 3)
    _commit_all(repo, "churn again")
    assert _which(repo, "churn") == (3, sha(b"3"))
    assert _which(repo, "churn@v2") == (2, sha(b"2"))
    assert _which(repo, "churn@v3") == (3, sha(b"3"))
    assert run_mreg(repo, "promote", "churn", "production").exit_code == 0
    assert _which(repo, "churn#production") == (3, sha(b"3"))


def test_versions_on_other_branches_count_too(repo: Path) -> None:
    """A version made on a branch (or only known from a remote branch) is the model's
    too: `git log --all` of the card, not only HEAD's history."""
    write(repo / "m.bin", "1")
    assert run_mreg(repo, "add", "churn", "m.bin").exit_code == 0
    _commit_all(repo, "v1")
    git(repo, "checkout", "-qb", "experiment")
    for data in ("2", "3"):
        write(repo / "m.bin", data)
        assert run_mreg(repo, "add", "churn", "m.bin").exit_code == 0
        _commit_all(repo, f"v{data}")
    git(repo, "checkout", "-q", "main")
    git(repo, "rm", "-q", ".mreg/models/churn.yaml")
    git(repo, "commit", "-qm", "drop churn")
    write(repo / "m.bin", "4")
    done = run_mreg(repo, "add", "churn", "m.bin", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json["version"] == 4


def test_a_historic_card_that_does_not_parse_still_holds_its_version(repo: Path) -> None:
    """A card of a newer schema (or with conflict markers) in the history: its
    `version:` line still counts."""
    write(repo / ".mreg" / "models" / "churn.yaml", card_yaml(version=7, schema=2))
    _commit_all(repo, "churn from a newer mreg")
    git(repo, "rm", "-q", ".mreg/models/churn.yaml")
    git(repo, "commit", "-qm", "drop churn")
    write(repo / "out" / "model.pkl", "again")
    done = run_mreg(repo, "add", "churn", "out/model.pkl", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json["version"] == 8


def test_a_new_model_costs_one_git_run_to_number(
    project: Project, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numbering a model that has no history at all: one git process, no tag listing."""
    write(repo / "other.bin", "x")
    _add(project, "other", "other.bin", commit=True)  # a history, of another model
    runs: list[list[str]] = []
    real_popen = subprocess.Popen  # subprocess.run starts its process through it too

    def popen(args: list[str], *a: object, **kw: object) -> object:
        runs.append(list(args))
        return real_popen(args, *a, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "Popen", popen)
    assert registry._last_version(project, "fresh") == 0
    assert [r[:2] for r in runs] == [["git", "log"]]


# ---------------------------------------------------------------------------- symlinks


def test_a_path_through_a_symlinked_folder_is_refused(repo: Path) -> None:
    """git never applies an ignore rule past a symlink (`alias/m.bin` is "beyond a
    symbolic link"), so the real file's bytes would go into git: refused, naming the
    real path, with nothing written."""
    write(repo / "real" / "sub" / "m.bin", "model")
    os.symlink("real", repo / "alias")
    os.symlink("../real/sub", repo / "real" / "back")
    before = snapshot(repo)
    for path, real in (
        ("alias/sub/m.bin", "real/sub/m.bin"),
        ("alias/sub", "real/sub"),
        ("real/back/m.bin", "real/sub/m.bin"),
    ):
        assert_error(
            run_mreg(repo, "add", "m", path),
            3,
            f"PATH {path} goes through the symlink",
            hint=f"give the real path: {real}",
        )
    assert_error(
        run_mreg(repo, "add", "m", "alias"),
        3,
        "PATH alias is a symlink to a folder",
        hint="give the real path: real",
    )
    after = snapshot(repo)
    assert {k: v for k, v in after.items() if not k.startswith(".mreg/tmp/")} == before
    done = run_mreg(repo, "add", "m", "real/sub/m.bin")
    assert done.exit_code == 0, done.stderr
    git(repo, "add", "-A")
    staged = git(repo, "diff", "--cached", "--name-only").split()
    assert "real/sub/m.bin" not in staged, staged


def test_a_symlink_to_a_file_in_the_work_tree_is_refused(repo: Path) -> None:
    """`m.bin -> real/m.bin`: the .gitignore line would name the link, and the real
    file's bytes go into git with `git add -A`. A --data path through a link is still
    taken (lineage: no .gitignore line)."""
    write(repo / "real" / "m.bin", "model")
    write(repo / "real" / "train.csv", "a,b\n")
    os.symlink("real", repo / "alias")
    os.symlink("real/m.bin", repo / "m.bin")
    assert_error(
        run_mreg(repo, "add", "m", "m.bin"),
        3,
        "PATH m.bin is a symlink to real/m.bin in the work tree",
        hint="give the real path: real/m.bin",
    )
    done = run_mreg(repo, "add", "m", "real/m.bin", "--data", "alias/train.csv", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json["oid"] == sha(b"model")


@pytest.mark.parametrize("cache_dir", [None, "shared-cache"])
def test_the_symlink_checkout_leaves_is_added_again(
    repo: Path, tmp_path: Path, cache_dir: str | None
) -> None:
    """The `symlink` link type leaves a link into the cache at the artifact's path; a
    re-add reads through it, also with a cache.dir outside the repository (it said "a
    symlink leading outside the repository")."""
    config = "cache:\n  link: [symlink]\n"
    if cache_dir:
        config += f"  dir: {tmp_path / cache_dir}\n"
    write(repo / ".mreg" / "config.yaml", config)
    write(repo / "m.bin", "model")
    assert run_mreg(repo, "add", "m", "m.bin").exit_code == 0
    (repo / "m.bin").unlink()
    assert run_mreg(repo, "checkout", "m").exit_code == 0
    assert (repo / "m.bin").is_symlink()
    done = run_mreg(repo, "add", "m", "m.bin", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json["status"] == "unchanged"


# ---------------------------------------------------------------------------- reading


def test_list_and_load(project: Project, repo: Path) -> None:
    write(repo / "a.bin", "a")
    write(repo / "b.bin", "b")
    _add(project, "team/b", "b.bin")
    _add(project, "a", "a.bin")
    write(repo / ".mreg" / "models" / "broken.yaml", "schema: 1\n")
    write(repo / ".mreg" / "models" / "notes.txt", "not a card")
    entries = registry.list_cards(project)
    assert [e.name for e in entries] == ["a", "broken", "team/b"]
    assert entries[0].card is not None and entries[0].error is None
    assert entries[1].card is None
    assert entries[1].error == ".mreg/models/broken.yaml: name: missing"
    assert entries[1].path == ".mreg/models/broken.yaml"
    assert registry.load_card(project, "team/b").artifact.path == "b.bin"


def test_load_missing_model(project: Project, repo: Path) -> None:
    with pytest.raises(ModelNotFound, match="no model named 'nope'") as info:
        registry.load_card(project, "nope")
    assert info.value.hint == "register one with: mreg add NAME PATH"
    write(repo / "a.bin", "a")
    _add(project, "a", "a.bin")
    with pytest.raises(ModelNotFound) as info:
        registry.load_card(project, "nope")
    assert info.value.hint == "models: a"


def test_card_for_another_name_is_broken(project: Project, repo: Path) -> None:
    write(repo / ".mreg" / "models" / "x.yaml", card_yaml(name="y"))
    entry = registry.list_cards(project)[0]
    assert entry.error == ".mreg/models/x.yaml: name: is 'y' but the file is for 'x'"


def test_parse_time() -> None:
    utc = dt.timezone.utc
    assert registry.parse_time("2026-01-02T03:04:05Z", "t") == dt.datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=utc
    )
    assert registry.parse_time("2026-01-02T05:04:05+02:00", "t").hour == 3
    with pytest.raises(InvalidArgument, match="'tomorrow' is not an ISO-8601 time"):
        registry.parse_time("tomorrow", "--finished")


def test_add_result_json_friendly(project: Project, repo: Path) -> None:
    write(repo / "m.bin", "x")
    result = _add(project, "m", "m.bin")
    json.dumps(result.card.to_dict())  # plain data, no custom objects
