"""One running local cloud per state directory.

Two stacks on one directory would share its objects, bucket settings and endpoints.json
and overwrite each other's; the second one is refused with one line naming the first and
how to give it a directory of its own. The lock ends with its owner, however it ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localcloud.stack import LocalCloud, StateDirInUse
from localcloud.statelock import LOCK_FILE
from tests.e2e.processes import cli_env, run_cli

REPO = Path(__file__).resolve().parents[2]


def start(state_dir: Path, **kwargs: Any) -> LocalCloud:
    return LocalCloud.start(state_dir, start_function=False, publish_web=False, **kwargs)


def test_a_second_stack_on_the_same_state_dir_is_refused_naming_the_first(
    tmp_path: Path,
) -> None:
    with start(tmp_path / "state") as first:
        with pytest.raises(StateDirInUse) as refused:
            start(tmp_path / "state", oss_port=0)
        endpoints_before = (first.state_dir / "endpoints.json").read_text(encoding="utf-8")
    assert str(refused.value) == (
        f"localcloud: state dir {first.state_dir} is in use by another local cloud "
        f"(pid {os.getpid()}; OSS {first.emulator.port}, STS {first.sts.port}; "
        f"page {first.website_url}); stop it, or give this one its own state dir: "
        "DEV_STATE_DIR=.localcloud/other")
    assert endpoints_before == (first.state_dir / "endpoints.json").read_text(encoding="utf-8")


def test_stacks_with_state_dirs_of_their_own_run_side_by_side(tmp_path: Path) -> None:
    with start(tmp_path / "one") as one, start(tmp_path / "two") as two:
        assert one.emulator.port != two.emulator.port
        assert one.grant_secret != two.grant_secret


def test_the_state_dir_is_free_again_once_the_stack_stopped(tmp_path: Path) -> None:
    with start(tmp_path / "state"):
        pass
    assert (tmp_path / "state" / LOCK_FILE).read_text(encoding="utf-8") == ""
    with start(tmp_path / "state"):
        pass


def test_a_refused_start_leaves_the_state_dir_free(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="page bucket"):
        start(tmp_path / "state", bucket="same-name", web_bucket="same-name")
    with start(tmp_path / "state"):
        pass


def test_a_killed_owner_leaves_no_stale_lock(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from localcloud.statelock import StateLock;"
         " StateLock.acquire(Path(sys.argv[1]), env_var='V', suggestion='s')"
         ".record({'page_url': 'x'}); print('held', flush=True); time.sleep(60)",
         str(state)],
        cwd=REPO, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        with pytest.raises(StateDirInUse, match=f"pid {holder.pid}; page x"):
            start(state)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert json.loads((state / LOCK_FILE).read_text(encoding="utf-8"))["pid"] == holder.pid
    with start(state):
        pass


def test_cli_refuses_a_second_instance_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    with start(tmp_path / "state") as first:
        done = run_cli(cli_env(tmp_path / "state"), timeout=60)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        f"localcloud: state dir {first.state_dir} is in use by another local cloud "
        f"(pid {os.getpid()}; OSS {first.emulator.port}, STS {first.sts.port}; "
        f"page {first.website_url}); stop it, or give this one its own state dir: "
        "DEV_STATE_DIR=.localcloud/other"]
