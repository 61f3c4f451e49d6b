"""The window's redraws go first: its worker steps aside while a plot refreshes or paints,
and still runs while the window stays busy."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from ui_helpers import current_step

from metalearn_gui.ui.main_window import DRAW_ORDER
from metalearn_gui.worker import INTERFACE_PRIORITY


class PaintSpy(QObject):
    """Notes, for each paint of the watched widget, whether the window had said it was busy."""

    def __init__(self) -> None:
        super().__init__()
        self.busy_at_paints: list[bool] = []

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if event.type() == QEvent.Type.Paint:
            self.busy_at_paints.append(INTERFACE_PRIORITY.busy)
        return False


def test_the_window_is_busy_while_a_plot_refreshes_and_paints(make_window, qtbot, monkeypatch):
    window = make_window("evolution", "bbob-f15-i01", 5)
    plot = window.loss_plot
    busy_at_refreshes = []
    refresh = plot.refresh
    monkeypatch.setattr(plot, "refresh", lambda: (busy_at_refreshes.append(INTERFACE_PRIORITY.busy), refresh()))
    spy = PaintSpy()
    plot.graphics.viewport().installEventFilter(spy)
    window.mark_stale()
    for _ in DRAW_ORDER:
        window._on_frame_timer_timeout()
    qtbot.waitUntil(lambda: len(spy.busy_at_paints) > 0)
    assert busy_at_refreshes == [True] and all(spy.busy_at_paints)
    assert not INTERFACE_PRIORITY.busy  # idle again once drawn


def test_the_worker_keeps_running_while_the_window_stays_busy(make_window, qtbot):
    window = make_window("evolution", "bbob-f15-i01", 10)
    waited = INTERFACE_PRIORITY.waited_seconds
    window.start_action.trigger()
    qtbot.waitUntil(lambda: current_step(window) > 0, timeout=60_000)
    start = current_step(window)
    with INTERFACE_PRIORITY.interface_busy():  # a window that never finishes drawing
        qtbot.waitUntil(lambda: current_step(window) >= start + 100, timeout=60_000)
    window.start_action.trigger()
    assert INTERFACE_PRIORITY.waited_seconds > waited  # the worker did defer to the window


def test_the_window_keeps_numpy_to_one_blas_thread(make_window):
    """The learners' small products run faster on one BLAS thread, and no idle BLAS thread
    spins on a core the window needs."""
    from threadpoolctl import threadpool_info

    make_window()
    blas = [library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"]
    assert blas and set(blas) == {1}
