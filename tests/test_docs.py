"""The docs are part of the contract: these tests fail when they drift from the code.

- docs/cli.md must equal what scripts/gen_cli_reference.py generates, and name every command;
- docs/scripting.md must list every exit code and every error code with its exit code, and
  its JSON examples must have exactly the keys that `--json` prints;
- relative links in README.md and docs/*.md must lead to files (and headings) that exist.
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import json
import re
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from mreg import errors
from mreg.card import KEY_ORDER, from_dict

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CLI_MD = DOCS / "cli.md"
SCRIPTING_MD = DOCS / "scripting.md"
GENERATOR = ROOT / "scripts" / "gen_cli_reference.py"
REGENERATE = "run: python scripts/gen_cli_reference.py (with the project's venv python)"


@functools.cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_cli_reference", GENERATOR)
    assert spec is not None and spec.loader is not None, f"cannot load {GENERATOR}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        pytest.fail(f"{path.relative_to(ROOT)} is missing")


# ----------------------------------------------------------------------- CLI reference


def test_cli_reference_is_current() -> None:
    expected = generator().render()
    actual = CLI_MD.read_text(encoding="utf-8") if CLI_MD.exists() else ""
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile="docs/cli.md",
                tofile="generated",
                n=1,
            )
        )
        pytest.fail(f"docs/cli.md is stale; {REGENERATE}\n{diff[:4000]}")


def test_every_command_is_in_the_cli_reference() -> None:
    headings = set(re.findall(r"^## (.+?)\s*$", _read(CLI_MD), re.MULTILINE))
    missing = [name for name in generator().command_names() if name not in headings]
    assert not missing, f"commands missing from docs/cli.md: {missing}; {REGENERATE}"


def test_every_command_has_help() -> None:
    undocumented = [
        " ".join(path) for path, cmd in generator().commands() if not (cmd.help or "").strip()
    ]
    assert not undocumented, f"commands without help text (a docstring): {undocumented}"


# ------------------------------------------------------------------ exit and error codes


def _error_classes() -> list[type[errors.MregError]]:
    return [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.MregError)
    ]


def test_every_exit_code_is_documented() -> None:
    documented = {int(c) for c in re.findall(r"^\| (\d+) \|", _read(SCRIPTING_MD), re.M)}
    codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_") and isinstance(v, int)}
    missing = sorted(codes - documented)
    assert not missing, f"exit codes from mreg/errors.py missing in docs/scripting.md: {missing}"


def test_every_error_code_is_documented_with_its_exit_code() -> None:
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (\d+) \|", _read(SCRIPTING_MD), re.M))
    wrong = [
        f"{cls.__name__}: `{cls.code}` should be documented with exit code {cls.exit_code}"
        f" (docs say {rows.get(cls.code, 'nothing')})"
        for cls in _error_classes()
        if rows.get(cls.code) != str(cls.exit_code)
    ]
    assert not wrong, "docs/scripting.md error table is out of date:\n" + "\n".join(wrong)


# --------------------------------------------------------------------------- JSON shapes


def _documented_json() -> dict[str, Any]:
    """{name: parsed example} for every ```json block after a `<!-- json: NAME -->` mark."""
    blocks = re.findall(
        r"<!-- json: ([a-z-]+) -->\s*```json\n(.*?)```", _read(SCRIPTING_MD), re.DOTALL
    )
    return {name: json.loads(text) for name, text in blocks}


# Values under these keys are the user's own mappings: their keys are data, not shape.
FREE_KEYS = {"metrics", "params", "labels"}


def _shape(value: Any) -> Any:
    """Keys (recursively) without values; list items by the shape of the first."""
    if isinstance(value, dict):
        return {k: "free" if k in FREE_KEYS else _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        first = value[0] if value else None
        return ["list", _shape(first) if isinstance(first, dict) else None]
    return None


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository as the current folder, with an isolated git identity."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "Docs Test",
        "GIT_AUTHOR_EMAIL": "docs@example.com",
        "GIT_COMMITTER_NAME": "Docs Test",
        "GIT_COMMITTER_EMAIL": "docs@example.com",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("MREG_DEBUG", "MREG_LOCK_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    monkeypatch.chdir(work)
    return work


def _run(*args: str) -> tuple[int, str, str]:
    from mreg.cli.app import app

    result = CliRunner().invoke(app, list(args), prog_name="mreg")
    return result.exit_code, result.stdout, result.stderr


def _json(*args: str) -> Any:
    code, out, err = _run(*args)
    assert code == 0, f"mreg {' '.join(args)} exited {code}: {err}"
    return json.loads(out)


def test_json_examples_have_the_keys_mreg_prints(repo: Path) -> None:
    documented = _documented_json()
    actual: dict[str, Any] = {"init": _json("init", "--json")}
    (repo / "out").mkdir()
    (repo / "out" / "model.pkl").write_bytes(b"not really a model")
    actual["add"] = _json(
        "add", "churn", "out/model.pkl", "-p", "lr=0.1", "-m", "auc=0.9", "--json"
    )
    actual["ls"] = _json("ls", "--json")
    actual["status"] = _json("status", "--json")
    actual["checkout"] = _json("checkout", "--json")
    shown = _json("show", "churn", "--json")
    assert set(shown) <= set(documented.get("show", {})), "show --json: undocumented card keys"
    code, out, err = _run("show", "no-such-model", "--json")
    assert (code, out) == (3, ""), "an error prints nothing on stdout and exits 3"
    actual["error"] = json.loads(err)

    missing = sorted(set(actual) - set(documented))
    assert not missing, f"docs/scripting.md has no <!-- json: NAME --> example for {missing}"
    for name, value in actual.items():
        assert _shape(documented[name]) == _shape(value), (
            f"docs/scripting.md: the `{name}` JSON example has other keys than mreg prints:\n"
            f"documented: {json.dumps(documented[name], indent=1)}\n"
            f"printed:    {json.dumps(value, indent=1)}"
        )


def _git(*args: str) -> None:
    subprocess.run(["git", *args], check=True, capture_output=True)


def _diff_shape(doc: dict[str, Any]) -> dict[str, Any]:
    """Per model: the keys of each single entry (model, version, artifact), and the set of
    key sets of the entries in each keyed group (metrics, params, data, labels)."""
    out: dict[str, Any] = {}
    for model, groups in doc.items():
        out[model] = {
            group: sorted(value)
            if group in ("model", "version", "artifact")
            else sorted({tuple(sorted(entry)) for entry in value.values()})
            for group, value in groups.items()
        }
    return out


def test_history_remote_and_hook_json_examples(repo: Path, tmp_path: Path) -> None:
    """The JSON examples of the history, stage, remote, check and hook commands, against
    a run of the same scenario the docs show (churn v1 -> v2, small added, a local remote)."""
    documented = _documented_json()
    _json("init", "--json")
    model = repo / "out" / "model.pkl"
    model.parent.mkdir()
    model.write_bytes(b"model v1\n")
    base = ["-p", "epochs=40"]
    _json(
        "add",
        "churn",
        "out/model.pkl",
        *base,
        "-p",
        "lr=0.1",
        "-m",
        "auc=0.9",
        "-m",
        "f1=0.8",
        "--commit",
        "--json",
    )
    model.write_bytes(b"model v2\n")
    _json(
        "add",
        "churn",
        "out/model.pkl",
        *base,
        "-p",
        "lr=0.05",
        "-p",
        "optimizer=adam",
        "-m",
        "auc=0.93",
        "--json",
    )
    (repo / "out" / "small.bin").write_bytes(b"small\n")
    _json("add", "small", "out/small.bin", "-m", "auc=.nan", "--json")

    diff = _json("diff", "--json")
    assert diff["small"]["metrics"]["auc"]["new"] == "NaN", "NaN must be the string NaN"
    assert _diff_shape(documented["diff"]) == _diff_shape(diff), (
        "docs/scripting.md: the `diff` JSON example has other keys than mreg prints:\n"
        f"printed: {json.dumps(diff, indent=1)}"
    )

    _git("add", "-A", ".mreg", ".gitignore")
    _git("commit", "-qm", "churn v2, small v1")
    actual: dict[str, Any] = {"tag": _json("tag", "churn", "--json")}
    actual["promote"] = _json("promote", "churn@v1", "production", "--json")
    actual["log"] = _json("log", "churn", "--json")
    actual["stages"] = _json("stages", "--json")
    actual["which"] = _json("which", "churn#production", "--json")
    actual["check-ref"] = _json("check-ref", "refs/tags/churn#production#1", "--json")
    code, out, _ = _run("check-ref", "refs/heads/main", "--json")
    assert (code, out) == (0, ""), "check-ref of a ref that is no mreg tag prints nothing"

    assert _run("remote", "add", "origin", "../store", "-d")[0] == 0
    actual["remote-list"] = _json("remote", "list", "--json")
    actual["push"] = _json("push", "--all-versions", "--json")
    actual["fetch"] = _json("fetch", "--json")
    actual["pull"] = _json("pull", "--json")
    actual["get"] = _json("get", "churn@v1", "-o", str(tmp_path / "v1.pkl"), "--json")

    # a damaged blob: verify names it (exit 1); deleting it and fetching repairs the cache
    oid = actual["which"]["oid"].removeprefix("sha256:")
    blob = repo / ".mreg" / "cache" / "sha256" / oid[:2] / oid[2:]
    blob.chmod(0o644)
    blob.write_bytes(b"garbage")
    code, out, _ = _run("verify", "--json")
    assert code == 1, "verify exits 1 when it finds damage"
    actual["verify"] = json.loads(out)
    blob.unlink()
    assert _run("fetch", "churn@v1")[0] == 0
    assert _run("verify")[0] == 0, "fetch after deleting a bad blob repairs the cache"

    # a version registered and then dropped from the card leaves a blob for gc
    (repo / "out" / "small.bin").write_bytes(b"dropped\n")
    _json("add", "small", "out/small.bin", "--json")
    _git("checkout", "-q", ".mreg/models/small.yaml")
    actual["gc"] = _json("gc", "--json")

    with (repo / ".mreg" / "config.yaml").open("a", encoding="utf-8") as f:
        f.write("checks:\n  churn:\n    auc: {min: 0.5, max_drop: 0.01}\n")
    actual["check"] = _json("check", "--json")
    actual["hooks-install"] = _json("hooks", "install", "--json")
    actual["hooks-status"] = _json("hooks", "status", "--json")

    aliases = {"tag": "promote", "fetch": "push"}  # same shape, documented once
    missing = sorted({aliases.get(n, n) for n in actual} - set(documented))
    assert not missing, f"docs/scripting.md has no <!-- json: NAME --> example for {missing}"
    for name, value in actual.items():
        example = documented[aliases.get(name, name)]
        assert _shape(example) == _shape(value), (
            f"docs/scripting.md: the `{name}` JSON example has other keys than mreg prints:\n"
            f"documented: {json.dumps(example, indent=1)}\n"
            f"printed:    {json.dumps(value, indent=1)}"
        )


def test_show_json_example_is_a_valid_card() -> None:
    example = _documented_json()["show"]
    card = from_dict(example, source="docs/scripting.md")
    assert card.to_dict() == example, "the example must be in canonical key order"
    assert set(example) <= set(KEY_ORDER)


# ---------------------------------------------------------------------------------- links


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of a markdown page."""
    text = re.sub(r"```.*?```", "", _read(page), flags=re.DOTALL)
    out = set()
    for heading in re.findall(r"^#{1,6} (.+?)\s*$", text, re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        out.add(slug)
    return out


@pytest.mark.parametrize(
    "page",
    [ROOT / "README.md", *sorted(DOCS.glob("*.md"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_relative_links_lead_somewhere(page: Path) -> None:
    text = re.sub(r"```.*?```", "", _read(page), flags=re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        path, _, anchor = target.partition("#")
        if re.match(r"^[a-z]+:", path):
            continue
        dest = (page.parent / path) if path else page
        missing_anchor = (
            dest.exists() and dest.suffix == ".md" and anchor and anchor not in _anchors(dest)
        )
        if not dest.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{page.relative_to(ROOT)}: links to missing files or headings: {broken}"
