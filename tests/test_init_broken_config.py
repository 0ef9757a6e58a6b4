"""`mreg init` over a `.mreg/config.yaml` it cannot read: the invalid-config error (exit 3),
the user's file untouched; and no "run mreg init" from other commands when init cannot help."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import mreg
from mreg.errors import InvalidConfig
from tests.helpers import assert_error, run_mreg, snapshot, write


def _tree(root: Path) -> dict[str, tuple[str, int]]:
    return snapshot(root / ".mreg")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("cache: [\n", "invalid YAML"),
        ("- a list\n", "must be a mapping"),
        ("cache:\n  link: [bogus]\n", "cache.link"),
    ],
)
def test_init_refuses_a_config_it_cannot_read(repo: Path, text: str, problem: str) -> None:
    config = write(repo / ".mreg" / "config.yaml", text)
    before = _tree(repo)
    res = run_mreg(repo, "init")
    assert_error(res, 3, f"{config}: {problem}", hint="fix .mreg/config.yaml by hand")
    assert "mreg init" in res.lines[1]
    err = run_mreg(repo, "init", "--json")
    assert err.exit_code == 3 and err.stdout == ""
    assert err.error_json["error"]["code"] == "invalid-config"
    assert config.read_text() == text  # never overwritten
    assert _tree(repo) == before
    with pytest.raises(InvalidConfig):
        mreg.init(repo)


def test_init_refuses_a_broken_local_config(repo: Path) -> None:
    local = write(repo / ".mreg" / "config.local.yaml", "remotes: [\n")
    res = run_mreg(repo, "init")
    assert_error(res, 3, f"{local}: invalid YAML", hint="fix .mreg/config.local.yaml by hand")
    assert local.read_text() == "remotes: [\n"


def test_init_creates_nothing_before_refusing(git_repo: Path) -> None:
    """A config.yaml written by hand before the first init, with models/ not there yet."""
    write(git_repo / ".mreg" / "config.yaml", "cache: [\n")
    assert_error(run_mreg(git_repo, "init"), 3, "invalid YAML", hint="by hand")
    assert sorted(p.name for p in (git_repo / ".mreg").iterdir()) == ["config.yaml"]


def test_config_folder_init_and_other_commands_agree(repo: Path) -> None:
    config = repo / ".mreg" / "config.yaml"
    config.unlink()
    config.mkdir()
    write(config / "keep.txt", "mine")
    for args in (["init"], ["ls"], ["add", "m", "m.bin"], ["hooks", "install"]):
        res = run_mreg(repo, *args)
        assert_error(res, 3, f"{config}: is a folder, not a file", hint="move it away")
        assert "not initialised" not in res.stderr
    assert (config / "keep.txt").read_text() == "mine"
    # The hint's way out works: move it away, then init writes a default one.
    config.rename(repo / "old-config")
    assert run_mreg(repo, "init").exit_code == 0
    assert config.is_file()
    assert run_mreg(repo, "ls").exit_code == 0


def test_config_dangling_symlink_is_not_replaced(repo: Path) -> None:
    config = repo / ".mreg" / "config.yaml"
    config.unlink()
    os.symlink("elsewhere.yaml", config)
    for args in (["init"], ["ls"]):
        res = run_mreg(repo, *args)
        assert_error(res, 3, "is a symbolic link to 'elsewhere.yaml', which does not exist")
    assert config.is_symlink() and os.readlink(config) == "elsewhere.yaml"


def test_init_again_with_a_good_config_is_a_no_op(repo: Path) -> None:
    config = repo / ".mreg" / "config.yaml"
    write(config, "cache:\n  link: [copy]\n")
    res = run_mreg(repo, "init", "--json")
    assert res.exit_code == 0, res.stderr
    assert res.json["created"] is False
    assert config.read_text() == "cache:\n  link: [copy]\n"


@pytest.mark.parametrize("text", ["cache: [\n", "cache: 5\n", "checks: 5\n"])
def test_other_commands_hint_at_fixing_the_config(repo: Path, text: str) -> None:
    """Every command that reads a config it cannot use says so with a hint (there was no
    hint line at all)."""
    write(repo / "m.bin", "model")
    config = write(repo / ".mreg" / "config.yaml", text)
    for args in (["add", "m", "m.bin"], ["push"], ["check"]):
        res = run_mreg(repo, *args)
        assert_error(res, 3, f"{config}: ", hint="fix that file by hand; git diff")
    assert config.read_text() == text
