"""The project's refresh lock: an flock on data/refresh.lock.

flock is released by the kernel when the holder dies, even by SIGKILL, so a
crashed refresh never leaves a stale lock behind; the pid written into the file
is only for the messages (the refused second run, `synth status`).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Callable

from synth.errors import EXIT_LOCKED, SynthError


class ProjectLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.fh = None

    def acquire(self, wait: bool = False, on_wait: Callable[[str], None] | None = None) -> "ProjectLock":
        """Take the lock; when it is held, raise SynthError (exit 75) or, with `wait`, block until it is free."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fh)
            if not wait:
                fh.close()
                raise SynthError(
                    f"another refresh is running on this project (pid {holder}); "
                    "use --wait to queue behind it", exit_code=EXIT_LOCKED) from None
            if on_wait:
                on_wait(holder)
            try:
                fcntl.flock(fh, fcntl.LOCK_EX)
            except BaseException:
                fh.close()
                raise
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self.fh = fh
        return self

    def release(self) -> None:
        if self.fh:
            self.fh.truncate(0)  # no pid: the lock is free (see holder)
            self.fh.flush()
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None

    def holder(self) -> str | None:
        """The pid of the live process holding the lock, or None. Never touches the lock itself,
        so `synth status` cannot make a starting refresh see the lock as taken."""
        try:
            pid = self.path.read_text().strip()
        except OSError:
            return None
        # A killed holder's flock was released by the kernel: its pid means nothing.
        return pid if pid.isdigit() and pid_alive(pid) else None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _read_pid(fh) -> str:
    fh.seek(0)
    return fh.read().strip() or "?"


def pid_alive(pid) -> bool:
    """Whether process PID exists (someone else's process counts as alive)."""
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
