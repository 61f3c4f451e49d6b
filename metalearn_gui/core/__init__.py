"""The Qt-free strategy-learning core: objectives, learners and runs.

Nothing under this package may import Qt or pyqtgraph (a test enforces it), and
TensorFlow is imported only on first use (see :mod:`metalearn_gui.core.tf_runtime`),
so the genetic learner and the command line's ``list`` stay fast.
"""
