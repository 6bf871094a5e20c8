"""The refresh lock: refuses a second holder at once (exit 75), waits with --wait, and is
released by the kernel when its holder is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from synth.errors import EXIT_LOCKED, SynthError
from synth.lock import ProjectLock

HOLD = textwrap.dedent("""
    import sys, time
    from synth.lock import ProjectLock
    lock = ProjectLock(sys.argv[1]).acquire()
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def _holder(path, seconds: float) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_second_holder_is_refused_at_once_with_exit_75(tmp_path):
    path = tmp_path / "data" / "refresh.lock"
    p = _holder(path, 30)
    try:
        t = time.monotonic()
        with pytest.raises(SynthError) as e:
            ProjectLock(path).acquire()
        assert time.monotonic() - t < 1.0
        assert e.value.exit_code == EXIT_LOCKED == 75
        assert f"pid {p.pid}" in e.value.message and "--wait" in e.value.message
        assert ProjectLock(path).holder() == str(p.pid)
    finally:
        p.kill()
        p.wait()


def test_sigkilled_holder_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "refresh.lock"
    p = _holder(path, 30)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert ProjectLock(path).holder() is None  # its pid is still in the file, but it is dead
    lock = ProjectLock(path).acquire()  # no waiting, no error
    assert ProjectLock(path).holder() == str(os.getpid())
    lock.release()
    assert ProjectLock(path).holder() is None


def test_wait_queues_behind_the_holder(tmp_path):
    path = tmp_path / "refresh.lock"
    p = _holder(path, 1.5)
    waited_for = []
    t = time.monotonic()
    lock = ProjectLock(path).acquire(wait=True, on_wait=waited_for.append)
    elapsed = time.monotonic() - t
    p.wait()
    try:
        assert waited_for == [str(p.pid)]
        assert 0.5 < elapsed < 10
        assert p.returncode == 0  # the holder finished its work first
    finally:
        lock.release()


def test_lock_excludes_threads_of_one_process_too(tmp_path):
    """Two acquisitions in one process (separate open files) exclude each other as two processes do."""
    path = tmp_path / "refresh.lock"
    first = ProjectLock(path).acquire()
    errors = []

    def second():
        try:
            ProjectLock(path).acquire()
        except SynthError as e:
            errors.append(e.exit_code)

    th = threading.Thread(target=second)
    th.start()
    th.join()
    first.release()
    assert errors == [EXIT_LOCKED]
    ProjectLock(path).acquire().release()
