"""Which process owns a running run, and whether that process is still there.

The run store records the writing process of a run while it runs; a later process
uses this to tell a run cut short by a crash or kill -9 (owner gone) from one that
another live process (the window beside a command-line run) is still writing.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


@dataclass(frozen=True)
class Owner:
    pid: int
    host: str
    #: Identifies the machine's current boot where the system says (Linux), else None:
    #: after a reboot an old pid may belong to an unrelated process.
    boot: str | None

    @classmethod
    def current(cls) -> Owner:
        return cls(os.getpid(), socket.gethostname(), _boot_id())

    def is_gone(self) -> bool:
        """Whether this owner has certainly ended; a process on another host never is
        (we cannot tell), nor is one that may still run here."""
        here = Owner.current()
        if self.host != here.host:
            return False
        if self.boot and here.boot and self.boot != here.boot:
            return True
        return not _process_alive(self.pid)


def _boot_id() -> str | None:
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, but belongs to another user
    return True


if sys.platform == "win32":  # defined there only: ctypes.windll exists only on Windows

    def _windows_process_alive(pid: int) -> bool:
        # os.kill(pid, 0) would terminate the process on Windows; ask the kernel instead.
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
