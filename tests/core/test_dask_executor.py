"""A real Dask cluster on 127.0.0.1 (started here, stopped here): a GA on a slow user
objective gives the rows of an in-process run even when a worker dies mid-run; a scheduler
that goes away fails the run cleanly, every row before kept in the run store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import executor_objectives
import numpy as np
import pytest
from executor_objectives import row_sphere
from test_executors import EVALUATIONS, GENERATIONS, IN_PROCESS, POPULATION, calls_made, ga_run

from metalearn_gui.core.events import EvaluationsFailed, RunFailed
from metalearn_gui.core.executors import EvaluationSettings
from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import OBJECTIVES, register_objective
from metalearn_gui.core.run import RunConfig
from metalearn_gui.core.session import Recording, RunSession
from metalearn_gui.core.status import Status
from metalearn_gui.core.store import RunStore

distributed = pytest.importorskip("distributed")

#: Seconds per evaluation: slow enough that a worker dies with rows in flight.
SLOW = 0.05
#: Hang guard for starting the cluster's processes on a loaded machine.
START_SECONDS = 120


@pytest.fixture
def local_cluster(tmp_path):
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, local_directory=str(tmp_path / "dask"),
                                  timeout=START_SECONDS) as cluster:
        yield cluster


def test_a_ga_through_a_dask_cluster_whose_worker_dies_gives_the_rows_of_an_in_process_run(local_cluster, tmp_path):
    dask = EvaluationSettings("dask", scheduler=local_cluster.scheduler_address)
    calls = tmp_path / "calls"
    calls.mkdir()
    _, undisturbed = ga_run(IN_PROCESS, seconds=SLOW)
    learner, rows = ga_run(dask, seconds=SLOW, calls=str(calls), fault_at=EVALUATIONS // 2, fault="kill")
    assert (calls / "faulted").exists()  # a worker process did die, mid-run
    np.testing.assert_array_equal(rows, undisturbed)
    assert learner.status is Status.FINISHED and learner.evaluations == EVALUATIONS
    assert learner.evaluator.drain_failures() == []
    assert EVALUATIONS < calls_made(calls) <= EVALUATIONS + 2  # only rows the dead worker held again


@pytest.fixture
def cluster_processes(tmp_path):
    """A scheduler and a worker started with Dask's own commands on 127.0.0.1:
    (scheduler process, address); every process is stopped after the test."""
    scheduler_file = tmp_path / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    # As on a real cluster, the objective's module must be importable on the scheduler (it
    # unpickles the tasks) and the workers.
    tests = os.pathsep.join([str(Path(executor_objectives.__file__).parent), os.environ.get("PYTHONPATH", "")])
    quiet = {**quiet, "env": {**os.environ, "PYTHONPATH": tests}}
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)], **quiet)
    worker = None
    try:
        deadline = time.monotonic() + START_SECONDS
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--host",
                                   "127.0.0.1", "--nworkers", "1", "--nthreads", "2", "--no-dashboard",
                                   "--local-directory", str(tmp_path / "dask"), "--death-timeout", "10"], **quiet)
        with distributed.Client(address, timeout=START_SECONDS) as client:
            client.wait_for_workers(1, timeout=START_SECONDS)
        yield scheduler, address
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.kill()
                process.wait()


@pytest.fixture
def registered_row_sphere():
    """RowSphere known by name (the run store rebuilds a stored run's configuration)."""
    register_objective(executor_objectives.RowSphere)
    yield
    OBJECTIVES.pop(executor_objectives.RowSphere.name, None)


def test_a_scheduler_that_goes_away_fails_the_run_once_with_a_message_keeping_every_row_before(
        cluster_processes, registered_row_sphere, tmp_path):
    scheduler, address = cluster_processes
    calls = tmp_path / "calls"
    calls.mkdir()
    fault_at = 2 * POPULATION + 3  # during step 2: steps 0 and 1 are committed
    objective = row_sphere(3, seconds=SLOW, calls=str(calls), fault_at=fault_at,
                           fault_command=("kill", "-9", str(scheduler.pid)))
    config = RunConfig("genetic", "row-sphere", 3, steps=GENERATIONS, seed=3,
                       hyperparameters={"population": POPULATION})
    events = []
    session = RunSession(events.append, build=lambda _: learner_class("genetic")(
        objective, config.hyperparameters, max_steps=config.steps))
    session.set_recording(Recording(tmp_path / "store"))
    session.set_evaluation(EvaluationSettings("dask", scheduler=address))
    session.prepare(config)
    session.start()
    deadline = time.monotonic() + START_SECONDS
    while session.running and time.monotonic() < deadline:
        session.advance()
    session.leave()

    failed = [event for event in events if isinstance(event, RunFailed)]
    assert len(failed) == 1 and f"the Dask cluster at {address} went away" in failed[0].message
    assert "at step 2 for θ" in failed[0].message
    assert not any(isinstance(event, EvaluationsFailed) for event in events)
    with RunStore.open(tmp_path / "store") as store:
        (stored,) = store.list_runs()
        run = store.load(stored.id)
    assert run.status == "failed" and list(run.history.column("step")) == [0, 1]
    assert run.summary.evaluated_on == f"the Dask cluster at {address}, timeout 300 s"
