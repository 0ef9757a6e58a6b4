"""The CI recipe of docs/ci.md works: its pull-request steps, read out of
examples/ci/github-actions.yml, run in a fresh clone of a repository with a main branch
and a PR branch; and `check-ref --json` tells the deploy step what a stage tag means."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import git
from tests.hooks.conftest import add_model, base_env, inproc, ok, run

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / ".gitlab-ci.yml"
CHECKS = "checks:\n  churn:\n    auc: {min: 0.85, max_drop: 0.01}\n"


def pr_steps() -> list[str]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    steps = doc["jobs"]["models"]["steps"]
    return [s["run"] for s in steps if "run" in s and s["run"].startswith("mreg ")]


def test_the_workflow_has_the_documented_steps() -> None:
    assert pr_steps() == [
        'mreg diff origin/main HEAD --md >> "$GITHUB_STEP_SUMMARY"',
        "mreg check --baseline origin/main",
    ]
    workflow = yaml.safe_load(WORKFLOW.read_text())
    for job in workflow["jobs"].values():
        assert job["steps"][0]["with"]["fetch-depth"] == 0
    text = WORKFLOW.read_text()
    assert 'mreg check-ref "$GITHUB_REF" --json' in text and "mreg get" in text
    gitlab = yaml.safe_load(GITLAB.read_text())
    assert gitlab["variables"]["GIT_DEPTH"] == "0"
    assert any("mreg check --baseline" in line for line in gitlab["models"]["script"])


def test_pull_request_steps_in_a_fresh_clone(repo: Path, tmp_path: Path) -> None:
    with open(repo / ".mreg" / "config.yaml", "a", encoding="utf-8") as f:
        f.write(CHECKS)
    add_model(repo, "churn", "model-one", "auc=0.90")
    ok(run(repo, "git", "add", "-A"))
    ok(run(repo, "git", "commit", "-q", "-m", "churn v1"))
    ok(inproc(repo, "promote", "churn", "production"))
    git(repo, "checkout", "-q", "-b", "pr-good")
    add_model(repo, "churn", "model-two", "auc=0.93")
    ok(run(repo, "git", "commit", "-q", "-am", "churn v2"))
    git(repo, "checkout", "-q", "-b", "pr-bad", "main")
    add_model(repo, "churn", "model-three", "auc=0.87")
    ok(run(repo, "git", "commit", "-q", "-am", "churn v2, worse"))

    clone = tmp_path / "ci"
    git(tmp_path, "clone", "-q", str(repo), str(clone))  # full history and tags
    summary = tmp_path / "summary.md"
    env = base_env(GITHUB_STEP_SUMMARY=str(summary))

    ok(run(clone, "git", "checkout", "-q", "pr-good"))
    for step in pr_steps():
        res = run(clone, "sh", "-c", step, env=env)
        assert res.exit_code == 0, (step, res.stdout, res.stderr)
    table = summary.read_text()
    assert table.startswith("| Model | Kind | Key | origin/main | HEAD | Change |")
    assert "| churn | metric | auc | 0.9 | 0.93 | +0.03 (+3.3%) |" in table
    assert "| churn | version |  | 1 | 2 |" in table

    ok(run(clone, "git", "checkout", "-q", "pr-bad"))
    res = run(clone, "sh", "-c", pr_steps()[1], env=env)
    assert res.exit_code == 1  # the gate stops the pull request
    assert "max_drop" in res.stdout and "fail: dropped by 0.03" in res.stdout

    # The deploy job: a stage tag push.
    tag = git(clone, "tag", "--list", "churn#production#*").strip()
    res = ok(
        run(
            clone,
            "sh",
            "-c",
            'mreg check-ref "$GITHUB_REF" --json',
            env=base_env(GITHUB_REF=f"refs/tags/{tag}"),
        )
    )
    assert res.json["event"] == "assignment"
    assert (res.json["name"], res.json["stage"], res.json["version"]) == ("churn", "production", 1)

    # A shallow clone cannot see the baseline: the error says what to do.
    shallow = tmp_path / "shallow"
    git(
        tmp_path,
        "clone",
        "-q",
        "--depth",
        "1",
        "--branch",
        "pr-good",
        f"file://{repo}",
        str(shallow),
    )
    res = run(shallow, "sh", "-c", pr_steps()[1], env=env)
    assert res.exit_code == 3
    assert "unknown revision 'origin/main'" in res.stderr and "unshallow" in res.stderr
