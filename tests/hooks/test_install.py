"""`mreg hooks install|uninstall|status`: shims, chaining, odd repositories."""

from __future__ import annotations

import json
from pathlib import Path

from mreg.hooks import ATTR_LINES, CHAINED_SUFFIX, HOOKS, MARKER, MERGE_DRIVER_CMD
from tests.helpers import assert_error, git, write
from tests.hooks.conftest import commit_all, hooks_dir, mreg, ok, run

FOREIGN = '#!/bin/sh\necho foreign-ran >> "$(git rev-parse --show-toplevel)/foreign.log"\n'


def test_install_writes_shims_merge_driver_and_is_idempotent(repo: Path) -> None:
    res = ok(mreg(repo, "hooks", "install", "--json"))
    assert res.json["hooks"] == {h: "installed" for h in HOOKS}
    folder = repo / ".git" / "hooks"
    for name in HOOKS:
        text = (folder / name).read_text()
        assert text.startswith("#!/bin/sh\n")
        assert f"{MARKER}: {name}" in text
        assert f'mreg hook {name} "$@"' in text
        assert (folder / name).stat().st_mode & 0o111
    assert git(repo, "config", "merge.mreg-card.driver").strip() == MERGE_DRIVER_CMD
    assert git(repo, "config", "merge.mreg-card.name").strip() == "mreg card merge"
    attrs = (repo / ".gitattributes").read_text().splitlines()
    assert all(line in attrs for line in ATTR_LINES)
    assert ".mreg/models/*.yaml merge=mreg-card" in attrs

    again = ok(mreg(repo, "hooks", "install", "--json"))
    assert again.json["hooks"] == {h: "unchanged" for h in HOOKS}
    assert not again.json["gitattributes_changed"]
    assert (repo / ".gitattributes").read_text().splitlines() == attrs

    st = ok(mreg(repo, "hooks", "status", "--json")).json
    assert {h: v["state"] for h, v in st["hooks"].items()} == {h: "mreg" for h in HOOKS}
    assert st["merge_driver"] and st["gitattributes"]
    assert "pre-commit" in ok(mreg(repo, "hooks", "status")).stdout


def test_uninstall_removes_only_mreg_hooks(repo: Path) -> None:
    write(repo / ".gitattributes", "*.bin binary\n")
    ok(mreg(repo, "hooks", "install"))
    folder = repo / ".git" / "hooks"
    (folder / "pre-push").unlink()
    write(folder / "pre-push", FOREIGN)  # someone else's, written after ours
    res = ok(mreg(repo, "hooks", "uninstall", "--json")).json
    assert res["hooks"]["pre-commit"] == "removed"
    assert res["hooks"]["pre-push"] == "foreign"
    assert (folder / "pre-push").read_text() == FOREIGN
    assert not (folder / "pre-commit").exists()
    assert (repo / ".gitattributes").read_text() == "*.bin binary\n"
    assert run(repo, "git", "config", "merge.mreg-card.driver").exit_code == 1
    st = ok(mreg(repo, "hooks", "status", "--json")).json
    assert st["hooks"]["pre-commit"]["state"] == "absent"
    assert st["hooks"]["pre-push"]["state"] == "foreign"


def test_foreign_hook_is_left_alone_without_chain(repo: Path) -> None:
    folder = repo / ".git" / "hooks"
    write(folder / "pre-commit", FOREIGN).chmod(0o755)
    res = mreg(repo, "hooks", "install")
    assert res.exit_code == 1, res.stderr
    assert "left alone: .git/hooks/pre-commit is not mreg's hook" in res.stderr
    assert "--chain" in res.stderr
    assert (folder / "pre-commit").read_text() == FOREIGN
    for name in HOOKS[1:]:
        assert MARKER in (folder / name).read_text()  # the others still installed


def test_chain_runs_the_original_first_and_uninstall_restores_it(repo: Path) -> None:
    folder = repo / ".git" / "hooks"
    write(folder / "pre-commit", FOREIGN).chmod(0o755)
    res = ok(mreg(repo, "hooks", "install", "--chain", "--json"))
    assert res.json["hooks"]["pre-commit"] == "chained"
    assert (folder / f"pre-commit{CHAINED_SUFFIX}").read_text() == FOREIGN
    assert (
        ok(mreg(repo, "hooks", "status", "--json")).json["hooks"]["pre-commit"]["state"]
        == "chained"
    )
    # The original runs, then mreg's: a broken staged card is still refused.
    write(repo / ".mreg" / "models" / "churn.yaml", "schema: 1\nname: churn\n")
    res = commit_all(repo, "broken card")
    assert res.exit_code == 1
    assert (repo / "foreign.log").read_text() == "foreign-ran\n"
    assert "churn" in res.stderr and "version: missing" in res.stderr
    # A failing original blocks on its own.
    write(folder / f"pre-commit{CHAINED_SUFFIX}", "#!/bin/sh\nexit 7\n")
    assert run(repo, "sh", str(folder / "pre-commit")).exit_code == 7

    ok(mreg(repo, "hooks", "uninstall"))
    assert (folder / "pre-commit").read_text() == "#!/bin/sh\nexit 7\n"
    assert not (folder / f"pre-commit{CHAINED_SUFFIX}").exists()


def test_core_hookspath_is_honoured(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", "githooks")
    ok(mreg(repo, "hooks", "install"))
    assert MARKER in (repo / "githooks" / "pre-commit").read_text()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert hooks_dir(repo) == repo / "githooks"
    write(repo / ".mreg" / "models" / "bad.yaml", "name: [")
    assert commit_all(repo, "bad").exit_code == 1  # git ran our hook from githooks/


def test_linked_worktree_shares_the_main_hooks(repo: Path, tmp_path: Path) -> None:
    ok(commit_all(repo, "init"))
    wt = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", "-b", "side", str(wt))
    ok(mreg(wt, "hooks", "install"))
    assert MARKER in (repo / ".git" / "hooks" / "pre-commit").read_text()
    assert (wt / ".gitattributes").is_file()  # the worktree's own checkout
    write(wt / ".mreg" / "models" / "bad.yaml", "name: [")
    res = commit_all(wt, "bad card in the worktree")
    assert res.exit_code == 1
    assert "bad" in res.stderr and "invalid YAML" in res.stderr


def test_bare_repository_is_refused(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    res = mreg(bare, "hooks", "install")
    assert_error(res, 3, "is a bare repository", hint="mreg hooks install")
    assert not (bare / "hooks" / "pre-commit").exists()


def test_not_a_git_repository(tmp_path: Path) -> None:
    res = mreg(tmp_path, "hooks", "install")
    assert_error(res, 3, "not a git repository", hint="git init")


def test_repository_without_mreg(git_repo: Path) -> None:
    res = mreg(git_repo, "hooks", "install")
    assert_error(res, 3, "mreg is not initialised", hint="mreg init")
    # A hook run there (hooks installed by core.hooksPath for many repos) is a no-op.
    for hook_args in (["post-merge", "0"], ["post-checkout", "a", "b", "1"], ["pre-push", "o"]):
        res = ok(mreg(git_repo, "hook", *hook_args, input=""))
        assert res.stderr.count("\n") == 1, res.stderr
        assert "no .mreg/" in res.stderr and "nothing to do" in res.stderr


def test_unknown_hook_name(repo: Path) -> None:
    res = mreg(repo, "hooks", "install", "--hook", "post-commit")
    assert_error(res, 3, "unknown hook 'post-commit'", hint="pre-commit")


def test_install_one_hook(repo: Path) -> None:
    res = ok(mreg(repo, "hooks", "install", "--hook", "pre-push", "--json")).json
    assert res["hooks"] == {"pre-push": "installed"}
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


def test_outdated_shim_is_updated(repo: Path) -> None:
    ok(mreg(repo, "hooks", "install"))
    path = repo / ".git" / "hooks" / "post-merge"
    path.write_text(f"#!/bin/sh\n{MARKER}: post-merge\nexec mreg hook post-merge\n")
    st = ok(mreg(repo, "hooks", "status", "--json")).json
    assert st["hooks"]["post-merge"]["state"] == "outdated"
    res = ok(mreg(repo, "hooks", "install", "--json")).json
    assert res["hooks"]["post-merge"] == "updated"
    assert json.dumps(res)  # plain data


DISABLED = (
    '#!/bin/sh\necho disabled-ran >> "$(git rev-parse --show-toplevel)/foreign.log"\nexit 1\n'
)


def test_chained_hook_that_is_not_executable_is_skipped_as_git_does(repo: Path) -> None:
    folder = repo / ".git" / "hooks"
    for name in ("pre-commit", "post-checkout"):
        write(folder / name, DISABLED).chmod(0o644)  # git ignores it (with a hint)
    res = ok(mreg(repo, "hooks", "install", "--chain", "--json"))
    assert res.json["hooks"]["pre-commit"] == "chained"
    assert res.json["hooks"]["post-checkout"] == "chained"
    text = mreg(repo, "hooks", "install").stderr
    assert "pre-commit.pre-mreg is not executable" in text and "chmod +x" in text
    kept = folder / f"pre-commit{CHAINED_SUFFIX}"
    assert kept.read_text() == DISABLED and kept.stat().st_mode & 0o777 == 0o644
    shown = mreg(repo, "hooks", "status").stdout
    assert "skips pre-commit.pre-mreg, which is not executable" in shown, shown
    assert "runs pre-commit.pre-mreg first" not in shown

    res = commit_all(repo, "hooks")  # the disabled original does not block the commit
    assert res.exit_code == 0, res.stderr
    assert "hint: The '" in res.stderr and "not set as executable" in res.stderr
    assert "Permission denied" not in res.stderr
    res = run(repo, "git", "checkout", "-q", "-b", "side")
    assert res.exit_code == 0, res.stderr
    assert "Permission denied" not in res.stderr
    assert not (repo / "foreign.log").exists()

    git(repo, "config", "advice.ignoredHook", "false")  # git's switch for its hint
    write(repo / "a.txt", "a")
    res = commit_all(repo, "quiet")
    assert res.exit_code == 0 and "not set as executable" not in res.stderr, res.stderr

    kept.chmod(0o755)  # turned on: it runs first, and its failure blocks the commit
    assert "runs pre-commit.pre-mreg first" in mreg(repo, "hooks", "status").stdout
    write(repo / "b.txt", "b")
    assert commit_all(repo, "blocked").exit_code == 1
    assert (repo / "foreign.log").read_text() == "disabled-ran\n"

    ok(mreg(repo, "hooks", "uninstall"))
    back = folder / "post-checkout"
    assert back.read_text() == DISABLED and back.stat().st_mode & 0o777 == 0o644


def test_chain_again_over_a_rewritten_hook_says_why_and_what_to_do(repo: Path) -> None:
    folder = repo / ".git" / "hooks"
    first = '#!/bin/sh\necho first >> "$(git rev-parse --show-toplevel)/foreign.log"\n'
    second = '#!/bin/sh\necho second >> "$(git rev-parse --show-toplevel)/foreign.log"\n'
    write(folder / "pre-commit", first).chmod(0o755)
    ok(mreg(repo, "hooks", "install", "--chain"))
    write(folder / "pre-commit", second).chmod(0o755)  # another tool rewrites it
    for args in (["--chain"], []):
        res = mreg(repo, "hooks", "install", *args)
        assert res.exit_code == 1, res.stderr
        assert "rerun with --chain" not in res.stderr
        assert (
            "left alone: .git/hooks/pre-commit is not mreg's hook, and --chain cannot move it"
            " to .git/hooks/pre-commit.pre-mreg: that holds the hook chained before"
        ) in res.stderr
        assert "hint: merge the two by hand into .git/hooks/pre-commit.pre-mreg" in res.stderr
        assert (folder / "pre-commit").read_text() == second
        assert (folder / f"pre-commit{CHAINED_SUFFIX}").read_text() == first
    assert mreg(repo, "hooks", "install", "--chain", "--json").json["hooks"]["pre-commit"] == (
        "foreign"
    )
    res = mreg(repo, "hooks", "uninstall", "--hook", "pre-commit")
    assert "pre-commit.pre-mreg (the hook mreg chained before it) is kept too" in res.stderr
    assert (folder / f"pre-commit{CHAINED_SUFFIX}").read_text() == first

    # Doing what the hint says: both run, first the merged original, then mreg's.
    write(folder / f"pre-commit{CHAINED_SUFFIX}", first + "echo second >> foreign.log\n")
    (folder / "pre-commit").unlink()
    res = ok(mreg(repo, "hooks", "install", "--json"))
    assert res.json["hooks"]["pre-commit"] == "chained"
    st = ok(mreg(repo, "hooks", "status", "--json")).json["hooks"]["pre-commit"]
    assert st["state"] == "chained"
    assert ok(commit_all(repo, "both")).exit_code == 0
    assert (repo / "foreign.log").read_text() == "first\nsecond\n"
