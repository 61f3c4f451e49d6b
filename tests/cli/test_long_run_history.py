"""A long run's exported history keeps the run's shape (the Reliability issue): a run that
converges in its first few hundred steps and then stays put, run for 100,000 steps, must
still show those early steps and every improvement of the best loss in its exported rows,
as the full-resolution ``--csv`` has them.

The learners now end a run that has stopped improving (genetic and evolution restart, then
finish), so the run here is projected gradient descent on a bowl whose centre lies outside
the bounds: it reaches the nearest corner and stays there, its gradient never vanishing."""

from __future__ import annotations

import numpy as np
import pytest

from metalearn_gui.cli import main
from metalearn_gui.core.objectives import OBJECTIVES, register_objective
from metalearn_gui.core.objectives.classic import Sphere

STEPS = 100_000


class CornerBowl(Sphere):
    name = "corner-bowl"
    description = "‖θ − 10‖² on [−5.12, 5.12]^D: its minimum in the bounds is the corner θ = 5.12 (tests only)"
    optimum_value = None
    optimum_coordinate = None

    def loss_np(self, thetas, rng=None):
        return super().loss_np(thetas - 10.0, rng)

    def loss_tf(self, theta, seed=None):
        return super().loss_tf(theta - 10.0, seed)


def read_rows(path) -> np.ndarray:
    """step, loss, best_loss of each row of a CSV written by ``--csv`` or an export."""
    return np.genfromtxt(path, delimiter=",", skip_header=1, usecols=(0, 1, 2))


@pytest.fixture(scope="module")
def corner_bowl():
    """The objective, registered for this module's run only (other tests list every objective)."""
    register_objective(CornerBowl)
    yield CornerBowl.name
    del OBJECTIVES[CornerBowl.name]


@pytest.fixture(scope="module")
def long_run(tmp_path_factory, corner_bowl):
    """The run, its full ``--csv``, its ``--export`` (log-scaled step axis) and the stored
    run's export: (full rows, the export's folder, the stored run's export folder)."""
    folder = tmp_path_factory.mktemp("long-run")
    store = tmp_path_factory.mktemp("store")
    code = main([str(arg) for arg in (
        "run", "--learner", "gradient", "--objective", corner_bowl, "--dim", 10, "--steps", STEPS, "--seed", 0,
        "--csv", folder / "full.csv", "--export", folder / "export", "--log-x", "--quiet", "--data-dir", store)])
    assert code == 0
    assert main(["runs", "--data-dir", str(store), "export", "1", str(folder / "stored")]) == 0
    return read_rows(folder / "full.csv"), folder / "export", folder / "stored"


@pytest.mark.parametrize("export", ["export", "stored"])
def test_the_exported_history_keeps_the_early_steps_and_every_improvement(long_run, export):
    full, *folders = long_run
    exported = read_rows(dict(zip(("export", "stored"), folders))[export] / "history.csv")
    assert len(full) == STEPS + 1 and exported[-1, 0] == STEPS
    assert np.count_nonzero(exported[:, 0] < 1000) >= 200  # the convergence, not a straight line
    improved = np.flatnonzero(full[1:, 2] < full[:-1, 2]) + 1
    assert len(improved) > 20
    kept = np.isin(exported[:, 0], full[improved, 0])
    np.testing.assert_array_equal(exported[kept, 0], full[improved, 0])  # every improvement, at its step
    np.testing.assert_array_equal(exported[kept, 2], full[improved, 2])  # with its best loss
    # Between improvements the best loss is flat, so the exported curve is the full one.
    np.testing.assert_array_equal(exported[:, 2], full[exported[:, 0].astype(int), 2])


def test_the_exported_loss_figure_has_a_log_scaled_step_axis(long_run):
    _, export, _ = long_run
    svg = (export / "loss.svg").read_text()
    assert "step + 1" in svg  # the log axis's label (step 0 is drawn at 1)
