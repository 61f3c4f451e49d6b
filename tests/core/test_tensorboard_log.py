"""TensorBoard logs of runs: written without TensorFlow, read back with TensorBoard's reader."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from metalearn_gui.core.hyperparams import Change  # noqa: E402
from metalearn_gui.core.learners import Chunk, Status  # noqa: E402
from metalearn_gui.core.run import RunConfig, run_to_end  # noqa: E402
from metalearn_gui.core.tensorboard_log import FLOAT32_MAX, ROWS_PER_CHUNK, TensorBoardLog  # noqa: E402


def read(path) -> EventAccumulator:
    events = EventAccumulator(str(path), size_guidance={"scalars": 0, "tensors": 0})  # 0 = keep all
    events.Reload()
    return events


def scalars(events: EventAccumulator, tag: str) -> tuple[list[int], list[float]]:
    points = events.Scalars(tag)
    return [p.step for p in points], [p.value for p in points]


def texts(events: EventAccumulator, tag: str) -> dict[int, str]:
    return {e.step: e.tensor_proto.string_val[0].decode() for e in events.Tensors(tag)}


def logged_run(tmp_path, config: RunConfig, change: dict, change_after: int, chunk_steps: int):
    """Run ``config`` to its end in chunks of ``chunk_steps`` steps, writing a log; ``change``
    is applied once the run has passed step ``change_after``. Returns the learner, the log
    and the chunk count."""
    learner = config.build()
    chunks = []
    with TensorBoardLog(tmp_path, config, learner.hp) as log:
        def on_chunk(chunk: Chunk) -> None:
            chunks.append(len(chunk))
            log.write(chunk)
            if learner.step >= change_after and not learner.changes:
                learner.set_hyperparameters(change)
            log.write_changes(learner.changes)

        run_to_end(learner, config.seed, on_chunk, chunk_seconds=None, chunk_steps=chunk_steps)
    return learner, log, len(chunks)


def check_run(events: EventAccumulator, learner, name: str, old, new) -> None:
    dim = learner.objective.dim
    tags = set(events.Tags()["scalars"])
    assert {"loss", "best_loss", f"hyperparameters/{name}"} | {f"theta/{i}" for i in range(dim)} <= tags
    steps, losses = scalars(events, "loss")
    assert steps[0] == 0 and steps[-1] == learner.step
    assert np.all(np.diff(steps) > 0)
    assert losses[-1] == np.float32(learner.last_loss)  # simple_value is float32
    assert scalars(events, "best_loss")[1][-1] == np.float32(learner.best_loss)
    assert scalars(events, f"theta/{dim - 1}")[1][-1] == np.float32(learner.theta[-1])
    [(step, _, _, _)] = learner.changes
    assert 0 < step < learner.step  # a change in the middle of the run
    assert scalars(events, f"hyperparameters/{name}") == ([0, step], [np.float32(old), np.float32(new)])
    assert f"`{name}`: {old} → {new}" in texts(events, "changes")[step]
    config_text = texts(events, "config")[0]
    assert json.loads(config_text.split("```json\n")[1].split("```")[0])["learner"] == learner.name


def test_genetic_run_reads_back_with_its_live_change(tmp_path):
    config = RunConfig("genetic", "sphere", steps=40, seed=3)
    learner, log, _ = logged_run(tmp_path, config, {"mutation": 0.2}, change_after=15, chunk_steps=4)
    assert log.path.parent == tmp_path and log.path.name.startswith("genetic-sphere-seed3-")
    events = read(log.path)
    check_run(events, learner, "mutation", learner.spec("mutation").default, 0.2)
    assert len(events.Scalars("loss")) == learner.step + 1  # small chunks are written whole


def test_gradient_run_reads_back_bounded(tmp_path):
    # Small steps: rosenbrock's valley keeps the run going past the change (sphere converges in one chunk).
    config = RunConfig("gradient", "rosenbrock", steps=100_000, seed=1, hyperparameters={"alpha": 0.0005})
    learner, log, chunks = logged_run(tmp_path, config, {"alpha": 0.00025}, change_after=1,
                                      chunk_steps=10_000)
    events = read(log.path)
    check_run(events, learner, "alpha", 0.0005, 0.00025)
    rows = len(events.Scalars("loss"))
    assert rows <= chunks * (ROWS_PER_CHUNK + 3) and rows < learner.step / 100


def big_chunk(rows: int, dim: int = 10) -> Chunk:
    generator = np.random.default_rng(0)
    loss = np.exp(-np.linspace(0, 5, rows)) + 0.01 * generator.random(rows)
    loss[rows // 3] = 100.0  # a spike and a dip that thinning must keep
    loss[2 * rows // 3] = -1.0
    return Chunk(step=np.arange(1, rows + 1), loss=loss, best_loss=np.minimum.accumulate(loss),
                 evaluations=np.arange(1, rows + 1), theta=generator.normal(size=(rows, dim)),
                 extras={}, snapshot={}, status=Status.RUNNING)


def test_a_big_chunk_is_thinned_keeping_extremes_and_last_row(tmp_path):
    chunk = big_chunk(300_000)
    with TensorBoardLog(tmp_path, RunConfig("gradient", "sphere")) as log:
        log.write(chunk)
    steps, losses = scalars(read(log.path), "loss")
    assert len(steps) <= ROWS_PER_CHUNK + 3
    assert steps[-1] == 300_000 and losses[-1] == np.float32(chunk.loss[-1])
    assert 100.0 in losses and -1.0 in losses


def test_guards_non_finite_and_huge_values_and_choices(tmp_path):
    config = RunConfig("gradient", "sphere")
    with TensorBoardLog(tmp_path, config, {"alpha": 0.01, "optimizer": "sgd"}) as log:
        chunk = big_chunk(3)
        chunk.loss[1] = 1e300  # finite in float64, ∞ in float32
        log.write(chunk)
        log.write_changes([Change(1, "alpha", 0.01, float("nan")), Change(2, "alpha", 0.01, float("inf")),
                           Change(3, "optimizer", "sgd", "adam"), Change(3, "alpha", 0.01, 0.02)])
    events = read(log.path)
    assert scalars(events, "loss")[1][1] == np.float32(FLOAT32_MAX)
    assert scalars(events, "hyperparameters/alpha") == ([0, 3], [np.float32(0.01), np.float32(0.02)])
    assert "hyperparameters/optimizer" not in events.Tags()["scalars"]
    changes = texts(events, "changes")
    assert "`alpha`: 0.01 → nan" in changes[1]
    assert "`optimizer`: sgd → adam" in changes[3] and "`alpha`: 0.01 → 0.02" in changes[3]


def test_close_twice_is_harmless_and_writing_after_close_fails(tmp_path):
    log = TensorBoardLog(tmp_path, RunConfig("genetic", "sphere"))
    log.close()
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.write(big_chunk(2))


def test_runs_in_one_logdir_get_their_own_directories(tmp_path):
    config = RunConfig("genetic", "sphere")
    with TensorBoardLog(tmp_path, config, name="same") as first, \
         TensorBoardLog(tmp_path, config, name="same") as second:
        pass
    assert (first.path.name, second.path.name) == ("same", "same-2")


def test_writing_a_genetic_run_does_not_import_tensorflow(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from metalearn_gui.core.run import RunConfig, run_to_end
        from metalearn_gui.core.tensorboard_log import TensorBoardLog
        config = RunConfig("genetic", "sphere", steps=20)
        learner = config.build()
        with TensorBoardLog({str(tmp_path)!r}, config, learner.hp) as log:
            run_to_end(learner, 0, log.write, chunk_steps=5)
        loaded = sorted(name for name in sys.modules if name.split(".")[0] == "tensorflow")
        print(loaded, learner.step)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "20"]
