"""Fixtures for the model-history tests: a repository whose history a test builds.

`History` makes commits through mreg (`add --commit`) or by hand (a card edited and
committed with git), each with its own pinned date one hour after the one before, so
that log order and tag dates are known without ever sleeping.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mreg
from mreg.registry import AddResult
from tests.helpers import git, write

BASE_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
CARD = ".mreg/models/{}.yaml"


class History:
    """Builds the history of the repository at `root` (also the current folder)."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.mp = monkeypatch
        self.ticks = 0

    def tick(self) -> str:
        """Move the pinned author/committer/tagger date one hour on; return it."""
        self.ticks += 1
        when = (BASE_DATE + dt.timedelta(hours=self.ticks)).isoformat()
        self.mp.setenv("GIT_AUTHOR_DATE", when)
        self.mp.setenv("GIT_COMMITTER_DATE", when)
        return when

    def git(self, *args: str) -> str:
        return git(self.root, *args)

    def sha(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", f"{rev}^{{commit}}").strip()

    def add(
        self,
        content: bytes | str,
        name: str = "churn",
        *,
        path: str = "out/model.pkl",
        metrics: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        labels: dict[str, Any] | None = None,
        commit: bool = True,
        message: str | None = None,
    ) -> AddResult:
        """Write the artifact and register it (committed and tagged by default)."""
        self.tick()
        write(self.root / path, content)
        return mreg.add(
            name,
            self.root / path,
            metrics=metrics,
            params=params,
            labels=labels,
            commit=commit,
            message=message,
            repo=self.root,
        )

    def card_path(self, name: str = "churn") -> Path:
        return self.root / CARD.format(name)

    def card_text(self, name: str = "churn") -> str:
        return self.card_path(name).read_text(encoding="utf-8")

    def commit_card(self, text: str, name: str = "churn", message: str = "edit card") -> str:
        """Write a card by hand and commit it with git; return the new commit."""
        write(self.card_path(name), text)
        return self.commit([CARD.format(name)], message)

    def commit(self, paths: list[str], message: str) -> str:
        self.tick()
        self.git("add", "--", *paths)
        self.git("commit", "-q", "-m", message)
        return self.sha()

    def edit_card(self, old: str, new: str, name: str = "churn", message: str = "edit") -> str:
        """Replace text in the card and commit it."""
        text = self.card_text(name)
        assert old in text, (old, text)
        return self.commit_card(text.replace(old, new, 1), name, message)


@pytest.fixture(scope="session", autouse=True)
def _build_the_cli_once() -> Iterator[None]:
    """typer's CliRunner rebuilds the click command from the app on every invoke, about
    70% of a short command's time here; build it once (the app does not change)."""
    import typer.testing

    real = typer.testing._get_command
    built: dict[int, Any] = {}

    def cached(app: Any) -> Any:
        if id(app) not in built:
            built[id(app)] = real(app)
        return built[id(app)]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(typer.testing, "_get_command", cached)
        yield


@pytest.fixture
def hist(repo: Path, monkeypatch: pytest.MonkeyPatch) -> History:
    """An initialised repository with no commits yet, and a History to build on it."""
    return History(repo, monkeypatch)


def build_three(hist: History) -> None:
    """churn v1 (auc 0.8), v2 (auc 0.9), a metadata-only update of v2 (auc 0.91), v3."""
    hist.add(b"one", metrics={"auc": 0.8, "loss": {"train": 0.5}}, params={"lr": 0.1})
    hist.add(b"two", metrics={"auc": 0.9, "loss": {"train": 0.4}}, params={"lr": 0.1})
    hist.add(b"two", metrics={"auc": 0.91}, message="churn v2: better eval")
    hist.add(b"three", metrics={"auc": 0.95, "loss": {"train": 0.3}}, params={"lr": 0.05})


@pytest.fixture(scope="session")
def three_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """`build_three` made once per session; tests get a copy (git repos copy fine)."""
    root = tmp_path_factory.mktemp("three") / "repo"
    root.mkdir()
    git(root, "init", "-q")
    mreg.init(root)
    with pytest.MonkeyPatch.context() as mp:
        hist = History(root, mp)
        build_three(hist)
    return root, hist.ticks


@pytest.fixture
def three(
    three_template: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> History:
    """A copy of the `build_three` repository, the current folder; build on with it."""
    template, ticks = three_template
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    monkeypatch.chdir(root)
    hist = History(root, monkeypatch)
    hist.ticks = ticks
    return hist
