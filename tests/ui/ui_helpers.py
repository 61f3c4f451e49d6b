"""Waiting on GUI-side state (not on worker signals: pytest-qt #586)."""

from __future__ import annotations

from metalearn_gui.ui.controls import SPEEDS

#: The first TensorFlow run of a session imports TF and compiles (seconds on 2 cores).
TF_TIMEOUT_MS = 120_000


def wait_phase(qtbot, window, phase, timeout=10_000):
    qtbot.waitUntil(lambda: window.state is not None and window.state.phase == phase, timeout=timeout)


def current_step(window) -> int:
    return int(window.history.column("step")[-1])


def run_for_steps(qtbot, window, steps, timeout=TF_TIMEOUT_MS):
    """Start, wait until the run is ``steps`` past where it was, pause, wait until paused.

    At 1,000 steps/s: at full speed a gradient run on a small sphere converges (and
    stops by itself) before a pause could reach it.
    """
    window.panel.speed_slider.setValue(SPEEDS.index(1_000))
    start = current_step(window)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: current_step(window) >= start + steps, timeout=timeout)
    window.start_action.trigger()
    wait_phase(qtbot, window, "paused")


def rss_mb() -> float:
    """This process's resident memory in MB (Linux), after handing freed heap back to the
    system: glibc keeps freed memory in per-thread arenas, which made RSS jump by tens of MB
    between identical runs."""
    import ctypes
    import os

    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
