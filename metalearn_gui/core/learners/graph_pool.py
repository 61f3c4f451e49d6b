"""Compiled TensorFlow state shared by successive learners of the same shape.

Every ``tf.function`` a learner creates is traced and XLA-compiled again (seconds),
and the compiled programs stay in TensorFlow's caches for the rest of the process:
a window whose user switches learner, objective or D builds learners by the dozen,
so per-learner functions made it retrace on every switch and grow by hundreds of MB.
A pool keeps each kind of compiled state (variables + functions) per shape, lends it
to one learner at a time and hands it to the next learner of that shape once the
previous one has released it or is gone, so a shape is traced once per process.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Kit = TypeVar("Kit")


class GraphPool(Generic[Key, Kit]):
    """Kits built by ``build(key)``, lent to one owner at a time."""

    def __init__(self, build: Callable[[Key], Kit]) -> None:
        self._build = build
        self._lock = threading.Lock()
        #: key -> [kit, weak reference to its owner or None when free]
        self._kits: dict[Key, list[list]] = {}

    def acquire(self, key: Key, owner: object) -> Kit:
        """A kit for ``key`` nobody else uses (built if none is free), now ``owner``'s.
        The caller must re-initialise every variable it reads."""
        with self._lock:
            entries = self._kits.setdefault(key, [])
            for entry in entries:
                holder = entry[1]() if entry[1] is not None else None
                if holder is None or holder is owner:
                    entry[1] = weakref.ref(owner)
                    return entry[0]
        kit = self._build(key)  # outside the lock: tracing takes seconds
        with self._lock:
            entries.append([kit, weakref.ref(owner)])
        return kit

    def release(self, kit: Kit) -> None:
        """``kit``'s owner no longer uses it (it switched to another shape)."""
        with self._lock:
            for entries in self._kits.values():
                for entry in entries:
                    if entry[0] is kit:
                        entry[1] = None

    def kits(self) -> list[Kit]:
        with self._lock:
            return [entry[0] for entries in self._kits.values() for entry in entries]

    def size(self) -> int:
        """How many kits were built."""
        with self._lock:
            return sum(len(entries) for entries in self._kits.values())

    def shapes(self) -> int:
        """How many different keys kits were built for."""
        with self._lock:
            return len(self._kits)
