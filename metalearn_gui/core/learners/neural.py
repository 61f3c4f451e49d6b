"""``neural``: the model-based learner — learn how good a strategy is, then descend that.

A deep ensemble (:mod:`.surrogate`) models P(y|θ) and is fit by maximum likelihood
on the evaluated (θ, y). A step starts from the best θ so far, takes gradient
steps θ ← θ − α∇θ[μ(θ) − κσ(θ)] on the model inside a trust region, evaluates the
true loss once there, adds the observation and refits (warm-started).

Scale-free by construction, so it keeps converging as the loss shrinks: inputs
are expressed in trust-region units around the best θ, targets are the local
losses log-warped and standardised, and the radius follows the steps that work.
"""

from __future__ import annotations

import numpy as np

from metalearn_gui.core.hyperparams import HyperParam
from metalearn_gui.core.learners.base import Learner, Rows
from metalearn_gui.core.learners.graph_pool import GraphPool
from metalearn_gui.core.learners.surrogate import Surrogate
from metalearn_gui.core.tf_runtime import get_tf, pooled_function

#: Observations used in one fit: the nearest ones to the trust region's centre.
FIT_CAPACITY = 128
#: Starting points of the model descent (the centre and random points in the region).
DESCENT_STARTS = 8
DESCENT_STEPS = 25
SHRINK, GROW = 0.7, 2.0
NOISY_MIN_RADIUS = 0.1


class NeuralLearner(Learner):
    name = "neural"
    label = "Neural (model-based)"
    description = (
        "a TensorFlow ensemble models P(y|θ) by log-likelihood; θ descends the model's "
        "μ − κσ in a trust region, one true evaluation per step"
    )
    uses_tensorflow = True
    #: One step per block, so a time-bounded chunk ends within a step of its deadline: the
    #: base class sizes a block by the last one's speed, and a step costs ~1,000× more once
    #: the model steers than in the random design (seconds-long chunks froze the controls).
    max_block = 1
    optional_extras = frozenset({"predicted_mean", "predicted_spread", "model_nll"})
    hyperparams = (
        HyperParam(
            "alpha", "Step α on θ", 0.1,
            "model descent: θ ← θ − α·∇θ[μ(θ) − κσ(θ)], θ in trust-region units",
            low=1e-3, high=1.0, log=True,
        ),
        HyperParam(
            "kappa", "Exploration κ", 1.0,
            "weight of the model's predicted spread σ: higher explores where the model is unsure",
            low=0.0, high=5.0,
        ),
        HyperParam(
            "width", "Hidden width", 32,
            "units in each of the model's two hidden layers (an ensemble of 4 networks)",
            low=4, high=256, integer=True, log=True, live=False,
        ),
        HyperParam(
            "epochs", "Fit epochs per step", 50,
            "maximum-likelihood training passes after each new observation (warm-started)",
            low=1, high=1000, integer=True, log=True,
        ),
        HyperParam(
            "initial", "Initial random evaluations", 10,
            "strategies drawn from the objective's initial distribution before the model steers",
            low=2, high=500, integer=True, log=True, live=False,
        ),
        HyperParam(
            "trust", "Trust-region radius", 0.25,
            "starting radius of the region the model may move in, as a fraction of the plot range × √D/2",
            low=1e-3, high=1.0, log=True,
        ),
    )

    def __init__(self, objective, hyperparameters=None, *, max_steps=None) -> None:
        super().__init__(objective, hyperparameters, max_steps=max_steps)
        self._kit: _ModelKit | None = None

    def divergence_hint(self) -> str:
        return f"Try a smaller trust-region radius (now {self.hp['trust']:g}) or step α."

    def _apply_live(self, name, value):
        if name == "trust":
            self._radius = self._initial_radius()

    def _initial_radius(self) -> float:
        low, high = self.objective.bounds
        return float(self.hp["trust"]) * (high - low) * np.sqrt(self.objective.dim) / 2.0

    # -- Learner ------------------------------------------------------------------------
    def _reset(self, seed):
        get_tf()
        model_seed, design_seed, noise_seed, start_seed = np.random.SeedSequence(seed).spawn(4)
        dim = self.objective.dim
        self._noise = np.random.default_rng(noise_seed)
        self._starts = np.random.default_rng(start_seed)
        self._design = self.objective.initial_theta(
            np.random.default_rng(design_seed), int(self.hp["initial"])
        )
        key = (dim, int(self.hp["width"]))
        if self._kit is not None and self._kit.key != key:
            MODELS.release(self._kit)
        self._kit = MODELS.acquire(key, self)
        self._model, self._descent = self._kit.model, self._kit.descent
        self._model.reinitialise(np.random.default_rng(model_seed))
        self._thetas = np.empty((0, dim))
        self._losses = np.empty(0)
        self._center_index = 0
        self._radius = self._initial_radius()
        self._frame: _Frame | None = None
        return self._step()

    def _run(self, count):
        return self._run_each(count, self._step)

    def _step(self) -> Rows:
        done = len(self._losses)
        if done < len(self._design):
            theta, predicted, nll = self._design[done], (np.nan, np.nan), np.nan
        else:
            theta, predicted, nll = self._propose()
        loss = float(self._objective_losses(theta[None, :], self._noise)[0])
        self._observe(theta, loss)
        return Rows(
            loss=np.array([loss]),
            theta=theta[None, :].copy(),
            evaluations=np.array([done + 1]),
            extras={
                "predicted_mean": np.array([predicted[0]]),
                "predicted_spread": np.array([predicted[1]]),
                "model_nll": np.array([nll]),
                "trust_radius": np.array([self._radius]),
            },
        )

    def _propose(self) -> tuple[np.ndarray, tuple[float, float], float]:
        """Fit the model around the centre, descend it, return θ and its prediction."""
        center = self._thetas[self._center_index]
        frame = _Frame.around(center, self._radius, self._thetas, self._losses)
        nll = self._model.fit(frame.inputs, frame.targets, int(self.hp["epochs"]))
        first_start = np.zeros(self.objective.dim)
        if self.objective.noisy:
            # A single noisy value flatters lucky draws: start from, and next centre
            # on, the observation the model believes best (its mean averages the noise).
            means = self._model.predict(frame.inputs)[0]
            believed = int(np.argmin(means))
            first_start = frame.inputs[believed]
            self._center_index = int(frame.indices[believed])
            self._center_belief = float(frame.to_loss(means[believed], 0.0)[0])
        starts = np.vstack([first_start,
                            _in_unit_ball(self._starts, DESCENT_STARTS - 1, self.objective.dim)])
        x, mean, spread = self._descent(starts, self.hp["alpha"], self.hp["kappa"])
        self._frame = frame
        with np.errstate(over="ignore", invalid="ignore"):
            return frame.to_theta(x), frame.to_loss(mean, spread), nll

    def _observe(self, theta: np.ndarray, loss: float) -> None:
        """Record the evaluation; move the centre and resize the trust region."""
        previous_best = self._losses[self._center_index] if len(self._losses) else np.inf
        self._thetas = np.vstack([self._thetas, theta])
        self._losses = np.append(self._losses, loss if np.isfinite(loss) else np.inf)
        if self._frame is None:  # still in the random design
            self._center_index = int(np.argmin(self._losses))
            return
        if self.objective.noisy:
            # Noise makes single comparisons coin flips: the region adapts slowly and
            # never below the scale at which the model still averages the noise.
            factor = 1.1 if loss < self._center_belief else 0.97
            self._radius = max(self._radius * factor, NOISY_MIN_RADIUS * self._initial_radius())
            return
        if loss < previous_best:
            # Success: centre on it; the next region is sized by the step that worked.
            self._center_index = len(self._losses) - 1
            step = np.linalg.norm(theta - self._frame.center)
            self._radius = float(np.clip(2.0 * step, self._radius / GROW, self._radius * GROW))
        else:
            self._radius *= SHRINK
        low, high = self.objective.bounds
        smallest, largest = 1e-12 * (high - low), (high - low) * np.sqrt(self.objective.dim)
        self._radius = float(np.clip(self._radius, smallest, largest))

    def trust_region(self) -> tuple[np.ndarray, float] | None:
        """Centre and radius of the region the model was last fit in (None before)."""
        return None if self._frame is None else (self._frame.center.copy(), self._frame.radius)

    def predict(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's predicted loss and spread at ``thetas`` (n, D), in loss units;
        None until the model has been fit. For the GUI's predicted landscape."""
        if self._frame is None:
            return None
        x = (np.asarray(thetas, np.float64) - self._frame.center) / self._frame.radius
        mean, spread = self._model.predict(x)
        with np.errstate(over="ignore", invalid="ignore"):
            return self._frame.to_loss(mean, spread)


class _Frame:
    """Local coordinates of one fit: θ in trust-region units around the centre, and
    losses warped by log1p above the local minimum, then standardised."""

    def __init__(self, center, radius, indices, inputs, losses):
        self.center, self.radius, self.indices, self.inputs = center, radius, indices, inputs
        self.floor = float(np.min(losses))
        gaps = losses - self.floor
        self.scale = float(np.median(gaps[gaps > 0])) if np.any(gaps > 0) else 1.0
        warped = np.log1p(gaps / self.scale)
        self.offset, self.spread = float(warped.mean()), float(warped.std()) or 1.0
        self.targets = (warped - self.offset) / self.spread

    @classmethod
    def around(cls, center, radius, thetas, losses):
        distance = np.linalg.norm(thetas - center, axis=1)
        usable = np.flatnonzero(np.isfinite(losses))
        nearest = usable[np.argsort(distance[usable], kind="stable")]
        within = int(np.sum(distance[nearest] <= 2.0 * radius))
        count = min(max(within, thetas.shape[1] + 2), FIT_CAPACITY, len(nearest))
        chosen = nearest[:count]
        return cls(center, radius, chosen, (thetas[chosen] - center) / radius, losses[chosen])

    def to_theta(self, x):
        return self.center + self.radius * x

    def to_loss(self, mean, spread):
        """Map a standardised prediction back to loss units (spread by the delta method)."""
        warped = mean * self.spread + self.offset
        loss = self.floor + self.scale * np.expm1(warped)
        return loss, self.scale * np.exp(warped) * self.spread * spread


class _ModelDescent:
    """Gradient descent of μ − κσ from several starts, projected onto the unit ball
    (the trust region); one graph call (not XLA: see :class:`Surrogate`)."""

    def __init__(self, model: Surrogate) -> None:
        tf = get_tf()
        self._model = model
        self._alpha = tf.Variable(tf.constant(0.1, tf.float64))
        self._kappa = tf.Variable(tf.constant(1.0, tf.float64))
        self._run = pooled_function(self._graph)

    def _graph(self, x):
        tf = get_tf()

        def acquisition(points):
            mean, spread = self._model._predict_graph(points)
            return mean - self._kappa * spread, mean, spread

        def body(i, points):
            with tf.GradientTape() as tape:
                tape.watch(points)
                value = tf.reduce_sum(acquisition(points)[0])
            points = points - self._alpha * tape.gradient(value, points)
            norms = tf.norm(points, axis=1, keepdims=True)
            return i + 1, points / tf.maximum(norms, 1.0)

        _, x = tf.while_loop(lambda i, _: i < DESCENT_STEPS, body, (tf.constant(0), x))
        value, mean, spread = acquisition(x)
        best = tf.argmin(value)
        return x[best], mean[best], spread[best]

    def __call__(self, starts, alpha, kappa):
        tf = get_tf()
        self._alpha.assign(alpha)
        self._kappa.assign(kappa)
        x, mean, spread = self._run(tf.constant(starts))
        return x.numpy(), float(mean), float(spread)


class _ModelKit:
    """A model of one (D, width) and its descent, traced and compiled once per process and
    lent to one learner at a time (:mod:`.graph_pool`)."""

    def __init__(self, key: tuple[int, int]) -> None:
        self.key = dim, width = key
        self.model = Surrogate(dim, width, np.random.default_rng(0), capacity=FIT_CAPACITY)
        self.descent = _ModelDescent(self.model)
        # Compile the fit and trace the descent now (0 epochs changes no weight), so
        # the first steps are not stalled by seconds of XLA work.
        self.model.fit(np.zeros((1, dim)), np.zeros(1), epochs=0)
        self.descent(np.zeros((DESCENT_STARTS, dim)), 0.1, 1.0)


MODELS: GraphPool[tuple[int, int], _ModelKit] = GraphPool(_ModelKit)


def _in_unit_ball(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    directions = rng.standard_normal((count, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return directions * rng.random((count, 1)) ** (1.0 / dim)
