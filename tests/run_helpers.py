"""Helpers for tests that drive learners directly (a module, not conftest: test modules
cannot import a conftest reliably when several folders have one)."""

from __future__ import annotations

import numpy as np


def run_all(learner, seed=0, max_steps=None):
    """Reset and advance to the end; returns the chunks (step 0's first)."""
    chunks = [learner.reset(seed)]
    while learner.status.value == "running":
        chunks.append(learner.advance(max_steps))
    return chunks


def history(chunks, field):
    return np.concatenate([getattr(c, field) for c in chunks])

