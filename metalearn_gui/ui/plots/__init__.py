"""Live pyqtgraph plots: items are created once and updated with ``setData``."""
