"""Import TensorFlow once, lazily, with settings that suit a desktop app.

``import tensorflow`` costs seconds and hundreds of MB, so nothing imports it at
module level: callers use :func:`get_tf`.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from types import ModuleType
from typing import Any, Callable

log = logging.getLogger(__name__)

_lock = threading.Lock()
_tf: ModuleType | None = None


def get_tf() -> ModuleType:
    """Return the ``tensorflow`` module, importing and configuring it on first call."""
    global _tf
    with _lock:
        if _tf is None:
            # Hide TF's C++ info chatter (XLA banners) unless the user asked for it.
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            import tensorflow as tf

            # Thread settings must precede the first op (TF #57812). Leave one core
            # to the GUI; never force inter-op threads to 1 (hangs, TF #38969).
            cores = os.cpu_count() or 2
            try:
                tf.config.threading.set_intra_op_parallelism_threads(max(1, cores - 1))
            except RuntimeError:  # TF was already initialised by someone else
                log.debug("TensorFlow already initialised; keeping its thread settings")
            _tf = tf
        return _tf


def pooled_function(python_function: Callable, **options: Any) -> Any:
    """``tf.function(python_function, **options)`` for a kit of :mod:`.learners.graph_pool`.

    Each kit (one per problem shape) traces its functions once, by design; TensorFlow's
    frequent-retracing warning counts the traces of every kit's copy of the same code
    together and would report a user switching between a few problems as retracing.
    Tests count each function's traces instead (``experimental_get_tracing_count``).
    """
    function = get_tf().function(python_function, **options)
    function._omit_frequent_tracing_warning = True  # the flag TF sets for restored functions
    return function


def tf_loaded() -> bool:
    """Whether TensorFlow has been imported (by us or anyone else)."""
    return _tf is not None or "tensorflow" in sys.modules
