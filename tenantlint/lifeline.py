"""Worker processes die with the scan that started them.

A scan killed by ``kill -TERM`` (or ``-9``, or an out-of-memory killer) must not leave
parser workers running with parent 1, holding gigabytes. On Linux the kernel sends a
worker SIGKILL when its parent goes (``prctl(PR_SET_PDEATHSIG)``); if the parent is gone
already by the time the worker asks, it exits at once. Standard library only: the
policy worker loads this file by path.
"""

from __future__ import annotations

import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """Ask the kernel to kill this process when its parent exits (Linux; elsewhere a no-op).
    ``parent``: the pid the caller expects as parent, to close the race with an early exit."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:
        os._exit(1)
