"""The pre-commit framework runs `mreg-check-cards` from .pre-commit-hooks.yaml.

Slow (pre-commit pip-installs mreg and its dependencies into its own environment, from
PyPI), so there is one test. The project tree may hold uncommitted work, so a copy of it
(src/, pyproject.toml, README.md, .pre-commit-hooks.yaml) is committed to a temporary
git repository and the user repository's .pre-commit-config.yaml points at that.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import git, write
from tests.hooks.conftest import VENV_BIN, add_model, base_env, ok, run

ROOT = Path(__file__).resolve().parents[2]


def project_copy(dest: Path) -> str:
    """A git repository holding this project's source; returns its commit sha."""
    dest.mkdir()
    shutil.copytree(
        ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    for name in ("pyproject.toml", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, dest / name)
    readme = ROOT / "README.md"
    write(dest / "README.md", readme.read_text() if readme.exists() else "# mreg\n")
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "mreg for pre-commit")
    return git(dest, "rev-parse", "HEAD").strip()


def test_pre_commit_framework_runs_mreg_check_cards(repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "mreg-src"
    rev = project_copy(source)
    write(
        repo / ".pre-commit-config.yaml",
        f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n      - id: mreg-check-cards\n",
    )
    env = base_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    ok(run(repo, str(VENV_BIN / "pre-commit"), "install", env=env))
    add_model(repo, "churn", "model-one", "auc=0.9")
    ok(run(repo, "git", "add", "-A", env=env))
    res = run(repo, "git", "commit", "-q", "-m", "churn v1", env=env)
    assert res.exit_code == 0, (res.stdout, res.stderr)
    assert "mreg check staged model cards" in res.stdout + res.stderr

    card = repo / ".mreg" / "models" / "churn.yaml"
    write(card, card.read_text().replace("version: 1", "version: one"))
    ok(run(repo, "git", "add", "-A", env=env))
    res = run(repo, "git", "commit", "-q", "-m", "broken", env=env)
    assert res.exit_code == 1
    out = res.stdout + res.stderr
    assert "churn" in out and "version: must be an integer" in out
