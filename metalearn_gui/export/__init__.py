"""Exports of a run (:class:`metalearn_gui.core.record.RunRecord`) to files.

* :mod:`~metalearn_gui.export.files` — :class:`ExportError` and safe writing (no Qt);
* :mod:`~metalearn_gui.export.table` — the history as CSV (no Qt);
* :mod:`~metalearn_gui.export.figures` — the plots (:mod:`metalearn_gui.plots`) rendered offscreen to PNG/SVG (Qt);
* :mod:`~metalearn_gui.export.bundle` — one call per piece, or all of them into a folder (Qt).

Nothing is imported here, so the Qt-free modules stay light for the command line.
"""
