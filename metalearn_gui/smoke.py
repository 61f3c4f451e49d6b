"""Offscreen smoke start of the desktop app: ``python -m metalearn_gui.smoke``.

Opens the main window (offscreen unless ``QT_QPA_PLATFORM`` says otherwise), checks that
the icon resources are found, runs a few ``genetic`` and ``evolution`` generations (the latter
checks that its CMA-ES library is installed), then a few ``gradient`` and ``neural`` steps
(which load TensorFlow), checks that the loss plot drew each run,
closes the window and exits 0; on failure it prints one line and exits 1. It needs no
source tree, so it checks an installed wheel (tests/packaging) and an app bundle
(packaging/build_bundle.sh, as ``metalearn-gui --smoke``) as a user would start them.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable

#: Each learner in turn, with its steps: the TensorFlow ones (gradient, neural) check that
#: TensorFlow loads and compiles; neural runs past its initial random evaluations.
RUNS = (("genetic", 20), ("evolution", 20), ("gradient", 20), ("neural", 15))
#: Importing TensorFlow and compiling the first chunk take seconds on 2 cores, more when busy.
TIMEOUT_S = 180.0


class SmokeFailure(Exception):
    """What went wrong, in one line."""


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.monotonic()
    # The user's run history and window settings stay untouched: both go to a scratch folder.
    with tempfile.TemporaryDirectory(prefix="metalearn-gui-smoke-") as scratch:
        os.environ["METALEARN_GUI_DATA_DIR"] = scratch
        try:
            timings = _smoke(scratch)
        except Exception as error:  # noqa: BLE001 - one line whatever broke: the caller reads the exit status
            _join_workers()
            message = str(error) if isinstance(error, SmokeFailure) else f"{type(error).__name__}: {error}"
            print(f"metalearn-gui smoke: FAILED: {message}", file=sys.stderr)
            return 1
    print(f"metalearn-gui smoke: ok in {time.monotonic() - started:.1f} s ({timings})")
    return 0


def _join_workers() -> None:
    """Stop workers a failure left running: a live QThread at exit aborts the process."""
    worker = sys.modules.get("metalearn_gui.worker")
    for controller in list(getattr(worker, "CONTROLLERS", ())):
        controller.shutdown()


def _smoke(scratch: str) -> str:
    import numpy as np
    from PySide6.QtCore import QEventLoop, QSettings, qInstallMessageHandler
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from metalearn_gui import __version__
    from metalearn_gui.resources import APP_ID, ICON_SIZES, icon_png, icon_svg
    from metalearn_gui.ui.controls import SPEEDS
    from metalearn_gui.ui.main_window import MainWindow

    def quiet(kind, context, message: str) -> None:
        # The offscreen platform complains once per window that it cannot size it; harmless.
        if "does not support propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(quiet)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, scratch)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setDesktopFileName(APP_ID)

    # The icon: found through importlib.resources, and drawable (a bundle without Qt's
    # SVG plugins would give an empty pixmap, not an error).
    icons = [("icon.svg", icon_svg(), 64), *((f"icons/{n}.png", icon_png(n), n) for n in ICON_SIZES)]
    for name, path, size in icons:
        if not path.is_file():
            raise SmokeFailure(f"icon resource {name} not found at {path}")
        if QIcon(str(path)).pixmap(size).isNull():
            raise SmokeFailure(f"icon resource {name} cannot be drawn (Qt image plugins missing?)")

    def wait(what: str, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not done():
            state = window.state
            if state is not None and state.phase == "failed":
                raise SmokeFailure(f"run failed while waiting for {what}: {state.message}")
            if time.monotonic() > deadline:
                raise SmokeFailure(f"timed out after {TIMEOUT_S:.0f} s waiting for {what}")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.005)  # worker signals arrive as posted events; no need to spin

    def phase_is(learner: str, phase: str) -> Callable[[], bool]:
        return lambda: (window.state is not None and window.state.config is not None
                        and window.state.config.learner == learner and window.state.phase == phase)

    def last_step() -> int:
        return int(window.history.column("step")[-1]) if window.history is not None else 0

    def drawn_loss() -> np.ndarray:
        _, loss = window.loss_plot.loss.getOriginalDataset()
        return np.empty(0) if loss is None else loss

    def run(learner: str, steps: int) -> str:
        """Switch to ``learner``, run ``steps`` steps, pause; what it took, for the last line."""
        t0 = time.monotonic()
        window.panel.learner_box.setCurrentIndex(window.panel.learner_box.findData(learner))
        wait(f"the {learner} run to be ready", phase_is(learner, "ready"))
        t1 = time.monotonic()
        window.start_action.trigger()
        wait(f"{steps} {learner} steps", lambda: last_step() >= steps)
        window.start_action.trigger()
        wait(f"{learner} to pause", phase_is(learner, "paused"))
        wait(f"the loss plot to draw the {learner} run",
             lambda: window.history is not None and len(drawn_loss()) == len(window.history))
        if len(drawn_loss()) <= steps or not np.isfinite(drawn_loss()).all():
            raise SmokeFailure(f"the loss plot did not receive a finite {learner} run")
        return f"{learner}: ready {t1 - t0:.1f} s, {steps} steps {time.monotonic() - t1:.1f} s"

    window = MainWindow(learner=RUNS[0][0], objective="sphere", dim=3)
    try:
        if window.windowIcon().isNull():
            raise SmokeFailure("the window has no icon")
        window.show()
        # A steady pace, so that a pause lands before the run converges by itself.
        window.panel.speed_slider.setValue(SPEEDS.index(1_000))
        timings = [run(learner, steps) for learner, steps in RUNS]
        if not window.loss_plot.has_ghost():
            raise SmokeFailure("the previous run did not stay on the loss plot as the ghost")
    finally:
        window.close()  # joins the worker thread
    if window.controller.is_running():
        raise SmokeFailure("the worker thread outlived the window")
    return f"version {__version__}; {'; '.join(timings)}; icon and {len(ICON_SIZES)} PNG sizes found"


if __name__ == "__main__":
    sys.exit(main())
