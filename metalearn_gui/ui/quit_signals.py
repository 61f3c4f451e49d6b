"""SIGINT, SIGTERM and SIGHUP close the window as the Quit action would, then exit
with 128 + the signal's number (130, 143, 129), like a shell's child killed by it.

Python runs signal handlers only between bytecodes, and Qt's event loop sits in C++
for as long as nothing happens: a handler alone would wait for the next mouse move.
So the C-level handler's wakeup byte (``signal.set_wakeup_fd``) goes to a socket a
QSocketNotifier watches; its slot runs in the event loop and closes the window, which
stops the worker and stores the current run as ``stopped`` with all its steps.
"""

from __future__ import annotations

import signal
import socket

from PySide6.QtCore import QObject, QSocketNotifier
from PySide6.QtWidgets import QApplication, QWidget

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class QuitOnSignals(QObject):
    """Installs the handlers for as long as it lives (one per application)."""

    def __init__(self, app: QApplication, window: QWidget) -> None:
        super().__init__(app)
        self._app, self._window = app, window
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno())
        # The Python-level handlers do nothing: the wakeup byte carries the signal.
        self._previous = {number: signal.signal(number, lambda *_: None) for number in SIGNALS}
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_signal)

    def _on_signal(self) -> None:
        try:
            received = self._reader.recv(64)
        except BlockingIOError:
            return
        numbers = [number for number in received if number in SIGNALS]
        if numbers:
            self._window.close()  # stops the worker; the run is stored as stopped
            self._app.exit(128 + numbers[0])

    def uninstall(self) -> None:
        """Back to the handlers from before (the application is done)."""
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._reader.close()
        self._writer.close()
