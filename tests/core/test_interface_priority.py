"""A worker steps aside while the interface draws, but a busy interface can never starve it."""

from __future__ import annotations

import threading

import pytest

from metalearn_gui.core import interface_priority
from metalearn_gui.core.interface_priority import InterfacePriority
from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import make_objective

STEPS = 200
#: A hang guard only (the run takes a fraction of a second): a worker starved by the
#: interface's flag would never finish.
HANG_GUARD_SECONDS = 120


@pytest.fixture
def priority():
    priority = InterfacePriority()
    interface_priority.install(priority)
    yield priority
    interface_priority.install(None)


def evolution_on_bbob():
    learner = learner_class("evolution")(make_objective("bbob-f15-i01", 10), {})
    learner.reset(0)
    return learner


def advance_on_a_worker_thread(learner, steps: int) -> int:
    """Advance ``learner`` by ``steps`` on another thread; the steps it made."""
    made: list[int] = []
    worker = threading.Thread(target=lambda: made.append(len(learner.advance(max_steps=steps))), daemon=True)
    worker.start()
    worker.join(HANG_GUARD_SECONDS)
    assert not worker.is_alive(), "the worker never finished: starved by the interface"
    return made[0]


def test_a_worker_finishes_its_steps_while_the_interface_stays_busy(priority):
    learner = evolution_on_bbob()
    with priority.interface_busy():  # an interface busy all along: only the caps let the worker on
        made = advance_on_a_worker_thread(learner, STEPS)
    assert made == STEPS and learner.step == STEPS
    assert priority.waited_seconds > 0  # it did defer to the interface


def test_a_worker_never_waits_while_the_interface_is_idle(priority):
    learner = evolution_on_bbob()
    assert advance_on_a_worker_thread(learner, STEPS) == STEPS
    assert priority.waited_seconds == 0


def test_a_learner_whose_steps_release_the_gil_does_not_wait(priority):
    # gradient's steps run in XLA, outside the GIL: waiting would only cost it
    learner = learner_class("gradient")(make_objective("seed", 10), {"alpha": 1e-6})
    learner.reset(0)
    with priority.interface_busy():
        assert advance_on_a_worker_thread(learner, 20) == 20
    assert priority.waited_seconds == 0


def test_the_interface_thread_never_waits_for_itself(priority):
    learner = evolution_on_bbob()
    with priority.interface_busy():  # e.g. the window computing something of the core while it draws
        learner.advance(max_steps=STEPS)
    assert learner.step == STEPS and priority.waited_seconds == 0


def test_nested_busy_spells_end_with_the_outermost(priority):
    with priority.interface_busy():
        with priority.interface_busy():
            pass
        assert priority.busy
    assert not priority.busy

