"""A bad setting names the file its value came from: `.mreg/config.local.yaml` (git-ignored,
merged over config.yaml) when that file sets the key, config.yaml otherwise, both when
only their merge is wrong; and the hint fits that file (no `git diff` of a file git does
not track, never "move config.yaml away" for a value config.yaml does not hold).

Before, every setting's error named config.yaml, and its hint sent the user to discard the
committed config, which did not help. End to end through the installed console script.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import mreg
from mreg.config import ConfigFileError
from mreg.errors import InvalidConfig
from tests.helpers import assert_error, run_mreg, snapshot, write

# (kind of setting, config.local.yaml text, what the message says after the file name,
# a part of the hint). The committed config.yaml is the one mreg init writes (it sets
# cache.link and cache.fsync, which the local file overrides here), plus MAIN_EXTRA.
LOCAL_HINT = "fix .mreg/config.local.yaml by hand, or move it away"
MAIN_EXTRA = "remotes:\n  o:\n    url: ../store\nchecks:\n  churn:\n    auc: {min: 0.5}\n"
CASES: list[tuple[str, str, str, str]] = [
    ("file invalid YAML", "cache: [\n", "invalid YAML", LOCAL_HINT),
    ("file not a mapping", "- a list\n", "must be a mapping", LOCAL_HINT),
    ("cache", "cache: 5\n", "cache: must be a mapping", LOCAL_HINT),
    ("cache.link", "cache:\n  link: [bogus]\n", "cache.link: must be a list", LOCAL_HINT),
    ("cache.fsync", "cache:\n  fsync: maybe\n", "cache.fsync: must be true or false", LOCAL_HINT),
    ("cache.dir", "cache:\n  dir: 5\n", "cache.dir: must be a path", LOCAL_HINT),
    (
        "cache.dir ~user",
        "cache:\n  dir: ~nosuchuser-mreg/x\n",
        "cache.dir: cannot expand",
        LOCAL_HINT,
    ),
    (
        "core.lock_timeout",
        "core:\n  lock_timeout: -1\n",
        "core.lock_timeout: must be a number of seconds",
        LOCAL_HINT,
    ),
    ("remotes", "remotes: [o]\n", "remotes: must be a mapping", LOCAL_HINT),
    (
        "remote name",
        "remotes:\n  'a;b':\n    url: /x\n",
        "remotes: 'a;b' is not a valid remote name",
        LOCAL_HINT,
    ),
    ("remote", "remotes:\n  o: 5\n", "remotes.o: must be a mapping with a url", LOCAL_HINT),
    (
        "remote url",
        "remotes:\n  o:\n    url: ''\n",
        "remotes.o.url: must be a non-empty",
        LOCAL_HINT,
    ),
    (
        "remote options",
        "remotes:\n  o:\n    options: [a]\n",
        "remotes.o.options: must be a mapping",
        LOCAL_HINT,
    ),
    (
        "remote option name",
        "remotes:\n  o:\n    options: {1: a}\n",
        "remotes.o.options: must be a mapping of names (not 1)",
        LOCAL_HINT,
    ),
    ("default remote", "core:\n  remote: 5\n", "core.remote: must be the name", LOCAL_HINT),
    ("checks", "checks: 5\n", "checks: must be a mapping", LOCAL_HINT),
    (
        "checks model name",
        "checks:\n  'Bad Name!':\n    auc: {min: 1}\n",
        "checks.Bad Name!: not a model name",
        LOCAL_HINT,
    ),
    ("checks model", "checks:\n  churn: 5\n", "checks.churn: must be a mapping", LOCAL_HINT),
    (
        "checks metric name",
        "checks:\n  churn:\n    'a..b': {min: 1}\n",
        "checks.churn.a..b: empty metric name",
        LOCAL_HINT,
    ),
    (
        "checks metric",
        "checks:\n  churn:\n    auc: 5\n",
        "checks.churn.auc: must be a mapping of rules",
        LOCAL_HINT,
    ),
    (
        "checks rule",
        "checks:\n  churn:\n    auc: {mn: 1}\n",
        "checks.churn.auc.mn: unknown rule",
        "rules: min, max",
    ),
    (
        "checks bound",
        "checks:\n  churn:\n    auc: {min: high}\n",
        "checks.churn.auc.min: must be a number",
        LOCAL_HINT,
    ),
    (
        "checks negative bound",
        "checks:\n  churn:\n    auc: {max_drop: -1}\n",
        "checks.churn.auc.max_drop: must not be negative",
        LOCAL_HINT,
    ),
    (
        "checks rule twice",
        "checks:\n  churn:\n    loss.train: {max: 1}\n    loss:\n      train: {max: 2}\n",
        "checks.churn.loss.train.max: given twice",
        "keep one of them",
    ),
]


def _setup(repo: Path, local_text: str) -> tuple[Path, Path]:
    main = repo / ".mreg" / "config.yaml"
    with open(main, "a", encoding="utf-8") as f:
        f.write(MAIN_EXTRA)
    write(repo / "m.bin", "model")
    return main, write(repo / ".mreg" / "config.local.yaml", local_text)


def _hint_fits_the_local_file(hint_line: str) -> None:
    assert "git diff" not in hint_line, hint_line  # config.local.yaml is not committed
    assert "rerun mreg init" not in hint_line, hint_line
    assert "config.yaml by hand" not in hint_line, hint_line


@pytest.mark.parametrize(("kind", "text", "problem", "hint"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_local_setting_names_config_local_yaml(
    repo: Path, kind: str, text: str, problem: str, hint: str
) -> None:
    main, local = _setup(repo, text)
    before = snapshot(repo)
    commands = [["init"], ["add", "m", "m.bin"]]
    commands.append(["check"] if kind.startswith("checks") else ["push"])
    for args in commands:
        res = run_mreg(repo, *args)
        assert_error(res, 3, f"{local}: {problem}", hint=hint)
        assert str(main) not in res.lines[0], res.lines[0]
        _hint_fits_the_local_file(res.lines[1])
    err = run_mreg(repo, "add", "m", "m.bin", "--json").error_json["error"]
    assert err["code"] == "invalid-config" and err["message"].startswith(f"{local}: ")
    assert snapshot(repo) == before  # nothing written, both files as they were
    with pytest.raises(InvalidConfig) as info:
        mreg.init(repo)
    assert isinstance(info.value, ConfigFileError) and info.value.files == (local,)
    # The hint's way out works: without the local file, the committed config loads.
    local.rename(repo / "old-local.yaml")
    assert run_mreg(repo, "add", "m", "m.bin").exit_code == 0


def test_a_local_config_that_is_a_folder(repo: Path) -> None:
    local = repo / ".mreg" / "config.local.yaml"
    local.mkdir()
    write(repo / "m.bin", "model")
    for args in (["init"], ["add", "m", "m.bin"]):
        res = run_mreg(repo, *args)
        assert_error(res, 3, f"{local}: cannot read", hint=LOCAL_HINT)
        _hint_fits_the_local_file(res.lines[1])


def test_the_reported_case(repo: Path) -> None:
    """The reviewer's steps: a bad cache.link in config.local.yaml only."""
    local = write(repo / ".mreg" / "config.local.yaml", "cache:\n  link: [bogus]\n")
    write(repo / "a.bin", "x")
    for args in (["init"], ["add", "a", "a.bin"]):
        res = run_mreg(repo, *args)
        assert_error(res, 3, f"{local}: cache.link: ", hint=LOCAL_HINT)
        assert "(it is optional, and not committed)" in res.lines[1]


@pytest.mark.parametrize(
    ("main_text", "local_text", "problem"),
    [
        ("cache:\n  fsync: maybe\n", "cache:\n  link: [copy]\n", "cache.fsync: must be true"),
        ("checks:\n  churn:\n    auc: {min: x}\n", "checks:\n  other:\n    auc: {min: 1}\n",
         "checks.churn.auc.min: must be a number"),
        ("remotes:\n  o:\n    url: s3://b\n    options: {secret: x}\n",
         "remotes:\n  o:\n    options: {region: r}\n",
         "remotes.o.options.secret holds a secret in the committed config"),
        ("remotes:\n  'a;b':\n    url: /x\n", "remotes:\n  c:\n    url: /y\n",
         "remotes: 'a;b' is not a valid remote name"),
    ],
)  # fmt: skip
def test_a_bad_committed_setting_still_names_config_yaml(
    repo: Path, main_text: str, local_text: str, problem: str
) -> None:
    """A local file that is fine (and sets other keys) is not blamed."""
    write(repo / "m.bin", "model")
    main = write(repo / ".mreg" / "config.yaml", main_text)
    local = write(repo / ".mreg" / "config.local.yaml", local_text)
    res = run_mreg(repo, "add", "m", "m.bin")
    assert_error(res, 3, f"{main}: {problem}")
    assert str(local) not in res.lines[0]
    if "secret" not in problem:  # that one has its own hint: move it to the local file
        assert "git diff .mreg/config.yaml" in res.lines[1]
        assert "rerun mreg init" in run_mreg(repo, "init").lines[1]


def test_a_local_value_overrides_a_bad_committed_one(repo: Path) -> None:
    """The merged value is the local one: config.yaml's bad value is not used, not blamed."""
    write(repo / ".mreg" / "config.yaml", "cache:\n  fsync: maybe\n")
    write(repo / ".mreg" / "config.local.yaml", "cache:\n  fsync: true\n")
    write(repo / "m.bin", "model")
    res = run_mreg(repo, "add", "m", "m.bin")
    assert res.exit_code == 0, res.stderr


MERGED_HINT = "fix by hand: .mreg/config.local.yaml is merged over .mreg/config.yaml"


def test_a_rule_spelled_once_in_each_file_names_both(repo: Path) -> None:
    """Each file alone is fine; merged, the same rule is written twice."""
    main = repo / ".mreg" / "config.yaml"
    with open(main, "a", encoding="utf-8") as f:
        f.write("checks:\n  churn:\n    loss.train: {max: 1}\n")
    write(
        repo / ".mreg" / "config.local.yaml",
        "checks:\n  churn:\n    loss:\n      train: {max: 2}\n",
    )
    for args in (["check"], ["init"]):
        res = run_mreg(repo, *args)
        assert_error(
            res,
            3,
            f"{main} and config.local.yaml (merged): checks.churn.loss.train.max: given twice,"
            " as `loss.train: {max: 1}` in config.yaml and as `loss: {train: {max: 2}}`"
            " in config.local.yaml",
            hint="keep one of them",
        )
    with pytest.raises(ConfigFileError) as info:
        mreg.init(repo)
    assert [p.name for p in info.value.files] == ["config.yaml", "config.local.yaml"]


def test_a_remote_split_over_both_files_without_a_url_names_both(repo: Path) -> None:
    main = repo / ".mreg" / "config.yaml"
    with open(main, "a", encoding="utf-8") as f:
        f.write("remotes:\n  o:\n    options: {region: r}\n")
    write(repo / ".mreg" / "config.local.yaml", "remotes:\n  o:\n    options: {profile: p}\n")
    for args, fits in ((["push"], "git diff .mreg/config.yaml"), (["init"], "key by key")):
        res = run_mreg(repo, *args)
        assert_error(
            res, 3, f"{main} and config.local.yaml (merged): remotes.o.url:", hint=MERGED_HINT
        )
        assert fits in res.lines[1]
        assert "rerun mreg init" not in res.lines[1]


def test_a_remote_only_in_the_local_file_without_a_url_names_it(repo: Path) -> None:
    local = write(repo / ".mreg" / "config.local.yaml", "remotes:\n  o:\n    options: {a: b}\n")
    res = run_mreg(repo, "push")
    assert_error(res, 3, f"{local}: remotes.o.url: must be a non-empty string", hint=LOCAL_HINT)


def test_a_bad_remote_name_in_both_files_names_both(repo: Path) -> None:
    """A bad key is bad wherever it is written: fixing one file alone would not do."""
    main = repo / ".mreg" / "config.yaml"
    with open(main, "a", encoding="utf-8") as f:
        f.write("remotes:\n  'a;b':\n    url: /x\n")
    write(repo / ".mreg" / "config.local.yaml", "remotes:\n  'a;b':\n    url: /y\n")
    for args in (["push"], ["init"]):
        res = run_mreg(repo, *args)
        assert_error(
            res,
            3,
            f"{main} and config.local.yaml (merged): remotes: 'a;b' is not a valid remote name",
            hint=MERGED_HINT,
        )
        assert "rerun mreg init" not in res.lines[1]
