"""The plots, pyqtgraph items created once and updated with ``setData``.

Drawn live by the window (:mod:`metalearn_gui.ui`) and offscreen by the figure export
(:mod:`metalearn_gui.export.figures`); this package imports neither of them.
"""
