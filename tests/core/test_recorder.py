"""RunRecorder: what a run leaves behind, from the CLI and the window alike."""

from __future__ import annotations

from metalearn_gui.core.recorder import RunRecorder
from metalearn_gui.core.run import RunConfig, summarize
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RunStore


def test_a_run_enters_the_store_with_its_first_step_and_nothing_after_it_ends(tmp_path):
    config = RunConfig("genetic", "sphere", dim=2, steps=5)
    learner = config.build()
    warnings = []
    with RunStore.open(tmp_path) as store:
        recorder = RunRecorder(config, learner, "cli", store, on_warning=warnings.append)
        recorder.add(learner.reset(0))
        assert recorder.run_id is None  # step 0 alone: a reset without a run stores nothing
        while learner.status.value == "running":
            recorder.add(learner.advance(1))
        recorder.finish(summarize(learner, 1.0))
        stored = store.load(recorder.run_id)
        learner.set_hyperparameters({"sigma": 0.3})  # after the end: Step, a slider…
        recorder.add(learner.advance(1))
        recorder.finish(summarize(learner, 1.0), Status.STOPPED)  # a later reset: already finished
        again = store.load(recorder.run_id)
    assert len(stored.history) == 6 and stored.status == "finished"
    assert len(again.history) == 6 and again.changes == [] and again.status == "finished"
    assert warnings == []


def test_a_failing_store_is_dropped_with_one_warning_and_the_run_goes_on(tmp_path):
    config = RunConfig("genetic", "sphere", dim=2, steps=4)
    learner = config.build()
    store = RunStore.open(tmp_path)
    warnings = []
    recorder = RunRecorder(config, learner, "cli", store, on_warning=warnings.append)
    recorder.add(learner.reset(0))
    recorder.add(learner.advance(1))
    store.close()  # e.g. the disk went away
    while learner.status.value == "running":
        recorder.add(learner.advance(1))
    recorder.finish(summarize(learner, 1.0))
    assert len(warnings) == 1 and "no longer saved" in warnings[0]
    assert len(recorder.record.history) == 5  # the in-memory record has every step
