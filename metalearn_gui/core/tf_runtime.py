"""Import TensorFlow once, lazily, with settings that suit a desktop app.

``import tensorflow`` costs seconds and hundreds of MB, so nothing imports it at
module level: callers use :func:`get_tf`.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()
_tf: ModuleType | None = None

#: What TensorFlow's native code logs while it loads: absl records (``I0000 00:00:… port.cc:153] …``),
#: older ``2025-… : I tensorflow/…`` ones, and absl's banner about logging before its set-up.
#: They ignore TF_CPP_MIN_LOG_LEVEL (absl is not set up yet) and say nothing a user can act on.
_LOAD_CHATTER = re.compile(
    r"[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\]]+\] "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
)


def get_tf() -> ModuleType:
    """Return the ``tensorflow`` module, importing and configuring it on first call.

    Unless the user set ``TF_CPP_MIN_LOG_LEVEL`` (then they asked for TensorFlow's logs),
    the info, warning and error chatter of TensorFlow's native code is silenced: the
    terminal that started the window, and ``run --quiet``, stay clean.
    """
    global _tf
    with _lock:
        if _tf is None:
            quiet = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
            if quiet:
                os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
            # Only the native side: Python-side warnings (AutoGraph cannot read the source of a
            # frozen app, retracing) point at real problems and stay visible.
            with _native_stderr_filtered() if quiet else nullcontext():
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


@contextmanager
def _native_stderr_filtered() -> Iterator[None]:
    """Catch what is written to file descriptor 2 meanwhile (native code writes there, not to
    ``sys.stderr``) and pass it on afterwards without TensorFlow's load-time chatter."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (a windowed app): nothing to keep clean
        yield
        return
    with tempfile.TemporaryFile() as caught:
        sys.stderr.flush()
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines = caught.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _LOAD_CHATTER.match(line))
            if kept:  # anything else (a Python warning, another thread's message) is shown
                sys.stderr.write(kept)
                sys.stderr.flush()


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
