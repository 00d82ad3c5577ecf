"""Ctrl-C while a job is still starting: importing torch takes seconds, and an interrupt inside
its C++ initialisation aborts the process with a C++ error. When the process is
``python -m verify.<job>``, Ctrl-C during start-up (before the job's runner takes over, when
nothing has been written yet) prints one line and exits with status 130 at once. Library users'
processes are left alone. (A top-level module with no imports of its own, so that it is in place
before numpy and torch load.)"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

_state = {"installed": False, "job_process": False}


def install_if_job_process(package: str = "verify") -> None:
    """Handle SIGINT as above if this process was started as ``python -m verify.<module>``."""
    argv = list(getattr(sys, "orig_argv", ()))
    if "-m" not in argv[:-1] or not argv[argv.index("-m") + 1].startswith(f"{package}."):
        return
    if threading.current_thread() is not threading.main_thread():
        return
    _state["job_process"] = True
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return  # SIGINT ignored (a background job) or handled by someone else
    module = argv[argv.index("-m") + 1]

    def stop(signum: int, frame: Any) -> None:
        sys.stderr.write(f"python -m {module}: interrupted while starting; nothing was written\n")
        sys.stderr.flush()
        os._exit(130)

    signal.signal(signal.SIGINT, stop)
    _state["installed"] = True


def resume() -> None:
    """From here on Ctrl-C raises KeyboardInterrupt (the job's runner handles it)."""
    if _state["installed"]:
        _state["installed"] = False
        signal.signal(signal.SIGINT, signal.default_int_handler)


def exit_if_job_process(code: int) -> None:
    """In a ``python -m verify.<job>`` process stopped by Ctrl-C or SIGTERM, once its one line
    is printed and its temporaries removed: exit with ``code`` at once, without waiting for
    worker threads to finish their step or for the interpreter's teardown (seconds on a busy
    machine). Elsewhere (``main(argv)`` in a library user's process) a no-op."""
    if _state["job_process"]:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
