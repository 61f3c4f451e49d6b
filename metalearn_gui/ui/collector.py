"""Python's cyclic garbage collection, run on the GUI thread only.

The collector runs in whichever thread happens to allocate past its threshold: often
the worker, while TensorFlow traces. A Qt object caught in a reference cycle (a plot
built for an export, a pyqtgraph item) is then destroyed on the worker thread while
the GUI thread's timers still point at it, and the process dies in
``QTimerInfoList::activateTimers``. So while a window is open, automatic collection
is off and a GUI-thread timer collects instead, with the collector's own thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 100

_open = 0  # windows holding automatic collection off
_was_enabled = True


class GuiThreadCollector(QObject):
    """Collects garbage on the thread it lives on from :meth:`start` to :meth:`stop`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.collect_due)

    def start(self) -> None:
        global _open, _was_enabled
        if self._timer.isActive():
            return
        if _open == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _open += 1
        self._timer.start()

    def stop(self) -> None:
        global _open
        if not self._timer.isActive():
            return
        self._timer.stop()
        _open -= 1
        if _open == 0 and _was_enabled:
            gc.enable()

    @staticmethod
    def collect_due() -> None:
        """Collect the generations whose counts passed their thresholds, as gc would."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = -1
        while generation < 2 and counts[generation + 1] > thresholds[generation + 1]:
            generation += 1
        if generation >= 0:
            gc.collect(generation)
