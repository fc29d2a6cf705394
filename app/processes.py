"""Child processes of ``mrd serve`` (HTTP workers, the background process) die with it.

Uvicorn's workers and the background process outlive a SIGKILLed parent otherwise:
they keep the listening socket, database connections and, for the background
process, a running analysis, and a restarted service then shares its port with them.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
# Set by `mrd serve` for its children: the process id they must not outlive.
SERVE_PID_VARIABLE = "MRD_SERVE_PID"


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux; elsewhere the
    background process's wait loop notices a new parent instead)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # died before the request took effect
        os._exit(1)


def die_with_serve() -> int | None:
    """In a child of ``mrd serve``, die with it (at once if it is already gone) and
    return its process id; in ``mrd serve`` itself or anywhere else, nothing."""
    serve_pid = os.environ.get(SERVE_PID_VARIABLE, "")
    if not serve_pid.isdigit() or int(serve_pid) == os.getpid():
        return None
    die_with_parent(int(serve_pid))
    return int(serve_pid)
