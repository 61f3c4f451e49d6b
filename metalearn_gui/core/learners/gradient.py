"""``gradient``: the exact-gradient baseline — TensorFlow autodiff of L itself, each step
projected back onto the objective's bounds.

A chunk of steps runs inside one XLA-compiled ``tf.while_loop`` (per-call
overhead, ~0.3 ms a call with TF 2.21, would cap it at ~3,500 steps/s). Live
hyper-parameters are ``tf.Variable``s assigned between chunks, so changing α never
retraces; the compiled function takes the step count as a tensor and always
returns buffers of ``max_block`` rows, so it is traced once per objective, D and
optimizer in a process (:mod:`.graph_pool`).

Failed evaluations: a step has one θ, the one the gradient leads from, so a non-finite loss
there leaves nowhere to go on from. The run ends as diverged, naming the step and θ, for user
objectives as for built-in ones (the only differentiable user objectives are formulas, whose
NaN is arithmetic — a logarithm of a negative number, an overflow — as a built-in's is).
"""

from __future__ import annotations

import numpy as np

from metalearn_gui.core.hyperparams import HyperParam, Value
from metalearn_gui.core.learners.base import Learner, Rows
from metalearn_gui.core.learners.graph_pool import GraphPool
from metalearn_gui.core.objectives.base import Objective
from metalearn_gui.core.tf_runtime import get_tf, pooled_function

ADAM_BETA2 = 0.999
ADAM_EPSILON = 1e-8


class GradientLearner(Learner):
    name = "gradient"
    label = "Gradient (exact)"
    description = "θ descends the exact gradient ∇L (TensorFlow autodiff) with SGD, momentum or Adam"
    uses_tensorflow = True
    requires = frozenset({"differentiable"})
    max_block = 2048
    bad_points = False  # see the module's docstring
    hyperparams = (
        HyperParam(
            "alpha", "Learning rate α", 0.01,
            "step size: θ ← θ − α·u, where u is ∇L (sgd), the velocity (momentum) or Adam's ratio",
            low=1e-6, high=10.0, log=True,
        ),
        HyperParam(
            "optimizer", "Optimizer", "sgd",
            "sgd: u = ∇L; momentum: v ← βv + ∇L, u = v; adam: Adam with β1 = β, β2 = 0.999",
            choices=("sgd", "momentum", "adam"), live=False,
        ),
        HyperParam(
            "beta", "Momentum β", 0.9,
            "momentum coefficient (Adam's β1); sgd ignores it",
            low=0.0, high=0.999,
        ),
    )

    def __init__(self, objective, hyperparameters=None, *, max_steps=None) -> None:
        super().__init__(objective, hyperparameters, max_steps=max_steps)
        self._graphs: _Graphs | None = None

    def divergence_hint(self) -> str:
        return f"Try a smaller learning rate α (now {self.hp['alpha']:g})."

    def _apply_live(self, name, value):
        if self._graphs is None:  # not reset yet: _reset assigns every value
            return
        if name == "alpha":
            self._graphs.alpha.assign(value)
        elif name == "beta":
            self._graphs.beta.assign(value)

    # -- Learner -------------------------------------------------------------------------
    def _reset(self, seed):
        tf = get_tf()
        key = (type(self.objective), self.objective.dim, self.hp["optimizer"], self.max_block)
        if self._graphs is not None and self._graphs.key != key:
            GRAPHS.release(self._graphs)
        graphs = self._graphs = GRAPHS.acquire(key, self)
        if graphs.objective is None:  # new: compile the chunk now (0 steps), so stepping never stalls
            graphs.objective = self.objective
            graphs.chunk(tf.constant(0, tf.int32))
        rng = np.random.default_rng(seed)
        theta0 = self.objective.initial_theta(rng)
        zeros = np.zeros(self.objective.dim)
        graphs.theta.assign(theta0)
        graphs.first.assign(zeros)
        graphs.second.assign(zeros)
        graphs.count.assign(0)
        graphs.noise_seed.assign(seed)
        graphs.alpha.assign(self.hp["alpha"])
        graphs.beta.assign(self.hp["beta"])
        loss, grad = graphs.evaluate(tf.constant(theta0), tf.constant(0, tf.int64))
        graphs.grad.assign(grad)
        self._evaluated = 1  # one evaluation per step, plus step 0's
        return Rows(
            np.array([loss.numpy()]), theta0[None, :], np.array([1]),
            {"grad_norm": np.array([np.linalg.norm(grad.numpy())])},
        )

    def _run(self, count):
        tf = get_tf()
        graphs = self._graphs
        assert graphs is not None, "a learner runs after its reset"
        losses, thetas, norms = graphs.chunk(tf.constant(count, tf.int32))
        done, self._evaluated = self._evaluated, self._evaluated + count
        return Rows(
            losses.numpy()[:count],
            thetas.numpy()[:count],
            done + np.arange(1, count + 1),
            {"grad_norm": norms.numpy()[:count]},
        )

    def _converged(self, rows):
        # A vanishing gradient stops every optimizer here (Adam's ratio included).
        return bool(rows.extras["grad_norm"][-1] < 1e-12)


class _Graphs:
    """The variables and compiled functions of one (objective class, D, optimizer, block):
    a chunk of steps runs inside one XLA-compiled ``tf.while_loop``. Objectives of one
    class and D are interchangeable (they are built from D alone), so learners share it."""

    def __init__(self, key) -> None:
        tf = get_tf()
        _, dim, self.optimizer, self.max_block = self.key = key
        self.objective: Objective | None = None  # set by the first learner, before the first trace
        f64 = tf.float64
        self.theta = tf.Variable(tf.zeros(dim, f64))
        self.grad = tf.Variable(tf.zeros(dim, f64))
        self.first = tf.Variable(tf.zeros(dim, f64))  # momentum / Adam first moment
        self.second = tf.Variable(tf.zeros(dim, f64))  # Adam second moment
        self.count = tf.Variable(tf.constant(0, tf.int64))  # evaluations so far
        self.noise_seed = tf.Variable(tf.constant(0, tf.int64))
        self.alpha = tf.Variable(tf.constant(0.0, f64))
        self.beta = tf.Variable(tf.constant(0.0, f64))

        self.evaluate = pooled_function(self._value_and_grad, jit_compile=True)
        self.chunk = pooled_function(self._chunk_graph, jit_compile=True)

    def _value_and_grad(self, theta, count):
        tf = get_tf()
        seed = tf.stack([self.noise_seed, count])
        objective = self.objective
        assert objective is not None, "set before the first trace"
        with tf.GradientTape() as tape:
            tape.watch(theta)
            loss = objective.loss_tf(theta, seed)
        return loss, tape.gradient(loss, theta)

    def _update(self, grad, first, second, count):
        """One optimizer step's direction u and new moments (graph code)."""
        tf = get_tf()
        optimizer, beta = self.optimizer, self.beta
        if optimizer == "sgd":
            return grad, first, second
        first = beta * first + (grad if optimizer == "momentum" else (1.0 - beta) * grad)
        if optimizer == "momentum":
            return first, first, second
        second = ADAM_BETA2 * second + (1.0 - ADAM_BETA2) * tf.square(grad)
        t = tf.cast(count, tf.float64)
        first_hat = first / (1.0 - tf.pow(beta, t))
        second_hat = second / (1.0 - tf.pow(tf.constant(ADAM_BETA2, tf.float64), t))
        return first_hat / (tf.sqrt(second_hat) + ADAM_EPSILON), first, second

    def _chunk_graph(self, steps):
        tf = get_tf()
        dim, size = self.theta.shape[0], self.max_block
        assert self.objective is not None, "set before the first trace"
        # Per objective class, as the graphs are.
        low, high = (tf.constant(bound, tf.float64) for bound in self.objective.bounds)

        def body(i, theta, grad, first, second, count, losses, thetas, norms):
            count = count + 1  # also the number of updates, as Adam's bias correction needs
            direction, first, second = self._update(grad, first, second, count)
            # Projected gradient descent: θ stays inside the objective's domain. Two selects,
            # not tf.clip_by_value: with the clip the compiled loop ran 5× slower (0.5 vs 2.6 M
            # steps/s on seed 10-D), with selects 1.6 M; a select keeps in-range values exact.
            theta = theta - self.alpha * direction
            theta = tf.where(theta > high, high, tf.where(theta < low, low, theta))
            loss, grad = self._value_and_grad(theta, count)
            return (
                i + 1, theta, grad, first, second, count,
                losses.write(i, loss), thetas.write(i, theta), norms.write(i, tf.norm(grad)),
            )

        def new_array(shape):
            return tf.TensorArray(tf.float64, size=size, element_shape=shape)

        start = (
            tf.constant(0), self.theta.read_value(), self.grad.read_value(),
            self.first.read_value(), self.second.read_value(), self.count.read_value(),
            new_array(()), new_array((dim,)), new_array(()),
        )
        _, theta, grad, first, second, count, losses, thetas, norms = tf.while_loop(
            lambda i, *_: i < steps, body, start, maximum_iterations=size
        )
        self.theta.assign(theta)
        self.grad.assign(grad)
        self.first.assign(first)
        self.second.assign(second)
        self.count.assign(count)
        return losses.stack(), thetas.stack(), norms.stack()


GRAPHS: GraphPool[tuple[type[Objective], int, Value, int], _Graphs] = GraphPool(_Graphs)
