"""mreg.forkshare: a forked helper takes every other item; what it could not do comes
back as None for the caller to redo. Run in a fresh interpreter: a helper forks only
from a process with no other thread, which a test session may not be."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from mreg import forkshare
from tests.helpers import HELPER_POSSIBLE, HELPER_SKIP_REASON, helper_env, run_helper_script

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the helper is Linux only"
)

_SCRIPT = """
import json, os, sys
from mreg import forkshare

forkshare.FORK_FROM = int(sys.argv[1])
parent = os.getpid()

def work(item):
    if os.getpid() == parent:
        return "parent"
    if item == 7:
        raise ValueError("no")
    return f"{item * 2} \\udcff"  # any str without a newline, lone surrogates too

share = forkshare.ForkShare(list(range(20)), work)
mine = [work(i) for i in share.mine]
print(json.dumps({
    "mine": share.mine, "theirs": share.theirs, "mine_answers": mine,
    "results": share.results(), "pid_after": share.pid,
}, ensure_ascii=True))
"""


def _run(fork_from: int, **env: str) -> Any:
    return run_helper_script(_SCRIPT, str(fork_from), env=env)


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_the_helper_does_every_other_item_and_hands_back_what_it_could_not() -> None:
    got = _run(8)
    assert got["mine"] == list(range(0, 20, 2)) and got["theirs"] == list(range(1, 20, 2))
    assert got["mine_answers"] == ["parent"] * 10
    answers = dict((item, answer) for item, answer in got["results"])
    assert sorted(answers) == got["theirs"]
    assert answers[7] is None  # work raised in the helper: the caller redoes it
    assert answers[9] == "18 \udcff"
    assert got["pid_after"] is None  # reaped


_FINISH = """
import json, os, sys, time
from mreg import forkshare

forkshare.FORK_FROM = 8
parent = os.getpid()

def work(item):
    if item == 7:
        raise ValueError("no")
    if sys.argv[1] == "fail" and item == 1:
        time.sleep(5)  # the helper's first item: still running when the parent fails
    return f"{item}:{os.getpid() != parent}"

done, absorbed, redone, pid, error = [], [], [], None, None
try:
    with forkshare.ForkShare(list(range(20)), work) as share:
        pid = share.pid
        done += [work(i) for i in share.mine]
        if sys.argv[1] == "fail":
            raise RuntimeError("the parent fails")
        share.finish(lambda i, a: absorbed.append([i, a]), redo=redone.append)
except RuntimeError as exc:
    error = str(exc)
try:
    left = os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    left = None
print(json.dumps({"forked": pid is not None, "done": done, "absorbed": absorbed,
                  "redone": redone, "error": error, "left": left, "pid": share.pid}))
"""


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_finish_absorbs_the_helpers_answers_and_redoes_the_rest_here() -> None:
    got = run_helper_script(_FINISH, "ok")
    assert got["forked"] and got["error"] is None
    assert got["done"] == [f"{i}:False" for i in range(0, 20, 2)]
    assert got["absorbed"] == [[i, f"{i}:True"] for i in range(1, 20, 2) if i != 7]
    assert got["redone"] == [7]  # work raised in the helper: the caller does it
    assert got["left"] is None and got["pid"] is None  # reaped


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_leaving_the_block_on_an_error_kills_and_reaps_the_helper() -> None:
    got = run_helper_script(_FINISH, "fail")
    assert got["forked"] and got["error"] == "the parent fails"
    assert got["absorbed"] == [] and got["redone"] == []
    assert got["left"] is None and got["pid"] is None  # no child left, running or not


@pytest.mark.parametrize(("fork_from", "env"), [(100, {}), (8, {"MREG_PROCESSES": "1"})])
def test_no_helper_for_few_items_or_when_told(fork_from: int, env: dict[str, str]) -> None:
    got = _run(fork_from, **env)
    assert got["mine"] == list(range(20)) and got["theirs"] == [] and got["results"] == []


def test_no_helper_beside_another_thread() -> None:
    import threading

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not forkshare.may_fork()
        share = forkshare.ForkShare(list(range(5000)), str)
        assert share.theirs == [] and share.pid is None and len(share.mine) == 5000
    finally:
        stop.set()
        other.join()


_BAR = """
import time
from mreg import forkshare
from mreg.cli.remote import _Bar

bar = _Bar()
bar.start(1000, 2, "push")
try:
    alone = forkshare.may_fork()
    bar.advance(400)
    time.sleep(bar.REDRAW)
    bar.advance(100)
finally:
    bar.stop()
print(alone)  # after stop: while it runs, rich shows stdout inside the bar
"""


@pytest.mark.skipif(not HELPER_POSSIBLE, reason=HELPER_SKIP_REASON)
def test_a_progress_bar_draws_without_a_thread_so_the_helper_may_fork() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _BAR],
        capture_output=True,
        text=True,
        env=helper_env(FORCE_COLOR="1", COLUMNS="100"),  # stderr drawn as a terminal
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True\n"
    # 0.4 kB is drawn only by advance(): stop() draws the last state (0.5 kB) anyway.
    assert "push 2 blob(s)" in done.stderr and "0.4/1.0 kB" in done.stderr
