"""Shared fixtures: an isolated git identity and HOME, real temporary repos, a CLI runner.

Every test runs with HOME, git config and author/committer dates pinned by the
session-scoped `isolated_env` fixture, so nothing from the developer's machine leaks in
and two runs make the same commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from mreg.project import Project
from tests.helpers import Cli, git

settings.register_profile(
    "mreg",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("mreg")

PINNED_DATE = "2026-01-02T03:04:05+00:00"

# Variables from a surrounding git (a hook, a CI step) that would point git elsewhere.
_GIT_LEAKS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_COUNT",
    "GIT_CEILING_DIRECTORIES",
    "XDG_CONFIG_HOME",
    "MREG_DEBUG",
    "MREG_LOCK_TIMEOUT",
)


@pytest.fixture(scope="session", autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A HOME of our own with a known git identity, and pinned commit dates."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n"
        "\tname = Test User\n"
        "\temail = test@example.com\n"
        "[init]\n"
        "\tdefaultBranch = main\n"
        "[commit]\n"
        "\tgpgsign = false\n",
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as mp:
        for var in _GIT_LEAKS:
            mp.delenv(var, raising=False)
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("GIT_AUTHOR_NAME", "Test User")
        mp.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
        mp.setenv("GIT_COMMITTER_NAME", "Test User")
        mp.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
        mp.setenv("GIT_AUTHOR_DATE", PINNED_DATE)
        mp.setenv("GIT_COMMITTER_DATE", PINNED_DATE)
        mp.setenv("NO_COLOR", "1")
        mp.setenv("COLUMNS", "200")
        yield home


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh `git init` work tree (no mreg yet), the current folder."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def repo(git_repo: Path) -> Path:
    """A git work tree with `mreg init` done, the current folder."""
    import mreg

    mreg.init(git_repo)
    return git_repo


@pytest.fixture
def cli() -> Cli:
    """Run the typer app in-process; see `tests.helpers.Cli`."""
    return Cli()


@pytest.fixture
def project(repo: Path) -> Iterator[Project]:
    """An open `Project` on `repo`, closed at teardown (git and sqlite released)."""
    proj = Project.open(repo)
    try:
        yield proj
    finally:
        proj.close()
