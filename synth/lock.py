"""The project's refresh lock: an flock on data/refresh.lock.

flock is released by the kernel when the holder dies, even by SIGKILL, so a
crashed refresh never leaves a stale lock behind; the pid written into the file
is only for the message shown to the refused second run.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from synth.errors import EXIT_LOCKED, SynthError


class ProjectLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.fh = None

    def acquire(self, wait: bool = False) -> "ProjectLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            fh.close()
            raise SynthError(
                f"another refresh is running on this project (pid {holder}); use --wait to queue behind it",
                exit_code=EXIT_LOCKED,
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self.fh = fh
        return self

    def release(self) -> None:
        if self.fh:
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
