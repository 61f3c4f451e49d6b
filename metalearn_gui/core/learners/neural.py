"""``neural``: the model-based learner — learn how good a strategy is, then descend that.

A deep ensemble (:mod:`.surrogate`) models P(y|θ) and is fit by maximum likelihood
on the evaluated (θ, y). A step fits the model in a trust region around the region's
best θ, draws one ensemble member at random (Thompson sampling: a member is one
plausible landscape), descends that member's prediction μ_m(θ) − κσ(θ) from its
most promising random points in the region, and evaluates the true loss once there.

It explores globally: the first design is space-filling, and a region that collapses
or stalls (a local basin learnt to the end) is abandoned for a fresh design (a restart,
counted in the ``restarts`` extra) scattered around the optimum that a fit of the whole
search so far predicts near the best θ, into the neighbouring basins. Scale-free by construction,
so it keeps converging as the loss shrinks: inputs are expressed in trust-region units
around the centre, targets are the local losses log-warped and standardised.

Points per step (``batch`` = q): the step proposes q points at once — each the minimiser in
the region of a different member's prediction (members drawn at random without replacement,
a fresh round once all have been drawn), no two closer than :data:`SEPARATION` region radii —
and evaluates them in one call, so an executor can spread them over processes or machines.
The row reports the batch's best; the region grows or shrinks once per batch, by its best.

Failed evaluations (a user objective's NaN) are bad points: a failed θ is left out of every
fit (the model learns only from losses it saw), counts as a proposal that did not improve
(the region shrinks towards its centre, which succeeded), and is remembered for the rest of
the run: random candidates within :data:`SEPARATION` region radii of a failed θ are drawn
again, and a descended proposal that lands that close to a failed θ (or to another point of
its batch) is replaced by the candidate the ensemble predicts best among those that are not.
A step whose points all failed reports the previous row's loss and θ; a region whose design
found no success yet gets a further design.
"""

from __future__ import annotations

import numpy as np

from metalearn_gui.core.hyperparams import HyperParam
from metalearn_gui.core.learners.base import Learner, Rows
from metalearn_gui.core.learners.graph_pool import GraphPool
from metalearn_gui.core.learners.surrogate import Surrogate
from metalearn_gui.core.learners.trust_region import TrustRegion, space_filling_design
from metalearn_gui.core.tf_runtime import get_tf, pooled_function

#: Observations used in one fit: the nearest ones (of the current region) to its centre.
#: The fit dominates a step's cost and scales with it: 10-D, 300 observations, 13 ms a
#: step at 64 against 25 ms at 128 (one core).
FIT_CAPACITY = 64
#: Random points in the region scored by the sampled member; the best few are descended.
CANDIDATES = 256
DESCENT_STARTS = 8
DESCENT_STEPS = 20
#: Share of a restart's design drawn around the model's predicted optimum (its first point
#: is that optimum itself) within the starting radius (a basin hop: on rugged landscapes
#: good basins neighbour good basins); the rest spans the domain. Measured on rastrigin 5-D
#: at 300 evaluations (median of 3 seeds): 20.2 with half the design hopping, 8.0 with all
#: of it; BBOB 5-D no worse. Hops within half the starting radius: rastrigin 5-D 19.9
#: rather than 8.3 (median of 5 seeds).
HOP_SHARE = 1.0
#: Training passes of the restart's fit, from fresh weights (a step's fit is warm-started).
FUNNEL_EPOCHS = 200
#: How far from the best θ a restart's predicted optimum may lie, in starting radii
#: (ackley 10-D, 300 evaluations, median of 5 seeds: 2.73 at 1, 2.68 at ½).
FUNNEL_REACH = 0.5
#: The restart descends μ + FUNNEL_CAUTION·σ (the ensemble's mean plus its spread): the
#: global fit is sparse, and the plain mean's minimum sat where the members extrapolate,
#: at the edge of the reach. Ackley 5-D at 300 evaluations (median of 5 seeds, reach 1):
#: 0.86 with the plain mean, 0.11 with one σ added, 0.42 with two.
FUNNEL_CAUTION = 1.0
#: Least distance, in region radii, between a proposal and a failed θ or another point of its
#: batch: the scale at which the model tells points apart.
SEPARATION = 0.1


class NeuralLearner(Learner):
    name = "neural"
    label = "Neural (model-based)"
    description = (
        "a TensorFlow ensemble models P(y|θ) by log-likelihood; θ descends a sampled member's "
        "prediction in a trust region that restarts elsewhere when it collapses, one evaluation (or a batch) per step"
    )
    uses_tensorflow = True
    #: A model fit to FIT_CAPACITY observations cannot tell which of hundreds of directions
    #: lowers the loss (a network's 1,761 weights, say): its proposals would be guesses.
    max_dim = 100
    max_dim_reason = f"its model of the loss is fit to {FIT_CAPACITY} observations, too few to learn a loss over more"
    #: One step per block, so a time-bounded chunk ends within a step of its deadline: the
    #: base class sizes a block by the last one's speed, and a step costs ~1,000× more once
    #: the model steers than in the random design (seconds-long chunks froze the controls).
    max_block = 1
    optional_extras = frozenset({"predicted_mean", "predicted_spread", "model_nll"})
    hyperparams = (
        HyperParam(
            "alpha", "Step α on θ", 0.1,
            "model descent: θ ← θ − α·∇θ[μ_m(θ) − κσ(θ)] (m a randomly drawn ensemble member), "
            "θ in trust-region units",
            low=1e-3, high=1.0, log=True,
        ),
        HyperParam(
            "kappa", "Exploration κ", 0.0,
            "weight of the ensemble's predicted spread σ on top of the drawn member's μ_m: "
            "higher explores where the model is unsure",
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
            "initial", "Design size", 10,
            "space-filling evaluations before the model steers, and again at every restart",
            low=2, high=500, integer=True, log=True, live=False,
        ),
        HyperParam(
            "batch", "Points per step", 1,
            "θs proposed and evaluated together each step (Thompson sampling: each minimises a different "
            "ensemble member's prediction), so an executor can evaluate them in parallel",
            low=1, high=32, integer=True, log=True,
        ),
        HyperParam(
            "trust", "Trust-region radius", 0.25,
            "starting radius of the region the model may move in (also after a restart), "
            "as a fraction of the bounds' width × √D/2",
            low=1e-3, high=1.0, log=True,
        ),
    )

    def __init__(self, objective, hyperparameters=None, *, max_steps=None) -> None:
        super().__init__(objective, hyperparameters, max_steps=max_steps)
        self._kit: _ModelKit | None = None
        self._design: list[np.ndarray] = []  # design points still to evaluate

    def divergence_hint(self) -> str:
        return f"Try a smaller trust-region radius (now {self.hp['trust']:g}) or step α."

    def evaluations_next_step(self) -> int:
        """The batch size (fewer while the last points of a design remain)."""
        batch = int(self.hp["batch"])
        return min(batch, len(self._design)) if self._design else batch

    def _apply_live(self, name, value):
        if name == "trust":
            self._region = self._new_region()

    def _new_region(self) -> TrustRegion:
        low, high = self.objective.bounds
        radius = float(self.hp["trust"]) * (high - low) * np.sqrt(self.objective.dim) / 2.0
        return TrustRegion(radius, self.objective.dim, self.objective.noisy)

    # -- Learner ------------------------------------------------------------------------
    def _reset(self, seed):
        get_tf()
        model_seed, design_seed, noise_seed, search_seed = np.random.SeedSequence(seed).spawn(4)
        dim = self.objective.dim
        self._noise = np.random.default_rng(noise_seed)
        self._search = np.random.default_rng(search_seed)
        self._designs = np.random.default_rng(design_seed)
        key = (dim, int(self.hp["width"]))
        if self._kit is not None and self._kit.key != key:
            MODELS.release(self._kit)
        self._kit = MODELS.acquire(key, self)
        self._model, self._descent = self._kit.model, self._kit.descent
        self._model_rng = np.random.default_rng(model_seed)
        self._thetas = np.empty((0, dim))
        self._losses = np.empty(0)
        self._failed_thetas = np.empty((0, dim))
        self._restarts = 0
        self._region_starts: list[int] = []
        self._frame: _Frame | None = None
        self._start_region()
        return self._step()

    def _start_region(self) -> None:
        """A fresh design (evaluated next) and region; the model forgets the old one."""
        self._region = self._new_region()
        count = int(self.hp["initial"])
        hops = round(HOP_SHARE * count) if len(self._losses) else 0
        design = space_filling_design(self.objective, self._designs, count - hops)
        if hops:
            funnel = self._predicted_optimum()
            near = funnel + self._region.radius * _in_unit_ball(self._designs, hops, self.objective.dim)
            near[0] = funnel  # the prediction itself is evaluated first
            design = np.vstack([self.objective.clip(near), design])
        self._design = list(design)
        self._region_start = len(self._losses)
        self._region_starts.append(self._region_start)
        self._center_index = -1
        self._frame = None  # no model of the new region yet
        self._model.reinitialise(self._model_rng)

    def _predicted_optimum(self) -> np.ndarray:
        """Where a fresh fit of the whole search so far puts the minimum near the best θ.

        The fit sees every region's design points and its best (:meth:`_funnel_sample`),
        so the landscape at the scale of the domain (ackley's and rastrigin's funnel, which
        one region's observations, all in one basin, do not show). It is descended, as
        μ + :data:`FUNNEL_CAUTION`·σ, from the best θ and random points within
        :data:`FUNNEL_REACH` starting radii of it. Fit only on the observations near the
        best θ, the prediction landed a few hundredths from it: ackley 5-D/10-D at 300
        evaluations (median of 5 seeds, stalls at 2 steps per dimension) 0.82/3.0, against
        0.17/2.68 with this fit.
        """
        best = self._thetas[np.argmin(self._losses)]
        chosen = self._funnel_sample()
        frame = _Frame(best, FUNNEL_REACH * self._region.radius, chosen, self._thetas[chosen], self._losses[chosen])
        self._model.reinitialise(self._model_rng)
        self._model.fit(frame.inputs, frame.targets, FUNNEL_EPOCHS)
        dim, members = self.objective.dim, self._model.members
        low, high = (frame.to_inputs(np.full(dim, bound)) for bound in self.objective.bounds)
        candidates = np.vstack([np.zeros(dim), _in_unit_ball(self._search, CANDIDATES - 1, dim)])
        x, _, _ = self._descent(np.clip(candidates, low, high), np.full(members, 1.0 / members), low, high,
                                self.hp["alpha"], -FUNNEL_CAUTION)
        return self.objective.clip(frame.to_theta(x))

    def _funnel_sample(self) -> np.ndarray:
        """Indices of every region's design points and best observation, the
        :data:`FIT_CAPACITY` lowest losses among them if there are more."""
        ends = [*self._region_starts[1:], len(self._losses)]
        design = int(self.hp["initial"])
        chosen: set[int] = set()
        for start, end in zip(self._region_starts, ends, strict=True):
            if end > start:
                chosen.update(range(start, min(start + design, end)))
                chosen.add(start + int(np.argmin(self._losses[start:end])))
        indices = np.array(sorted(chosen))
        indices = indices[np.isfinite(self._losses[indices])]
        if len(indices) > FIT_CAPACITY:
            indices = indices[np.argsort(self._losses[indices], kind="stable")[:FIT_CAPACITY]]
        return indices

    def _run(self, count):
        return self._run_each(count, self._step)

    def _step(self) -> Rows:
        done = len(self._losses)
        if not self._design and not np.isfinite(self._losses[self._region_start:]).any():
            # Every point of the region's design failed: nothing to fit a model to yet.
            self._design = list(space_filling_design(self.objective, self._designs, int(self.hp["initial"])))
        designed = bool(self._design)
        if designed:
            count = self.evaluations_next_step()
            thetas = np.array([self._design.pop(0) for _ in range(count)])
            predicted, nll = np.full((count, 2), np.nan), np.nan
        else:
            thetas, predicted, nll = self._propose(int(self.hp["batch"]))
        thetas = self.objective.clip(thetas)  # rounding may step a hair outside
        losses = self._objective_losses(thetas, self._noise)
        self._observe(thetas, losses, designed)
        best = int(np.argmin(np.where(np.isnan(losses), np.inf, losses)))
        return Rows(
            loss=losses[best:best + 1].copy(),
            theta=thetas[best:best + 1].copy(),
            evaluations=np.array([done + len(thetas)]),
            extras={
                "predicted_mean": predicted[best:best + 1, 0].copy(),
                "predicted_spread": predicted[best:best + 1, 1].copy(),
                "model_nll": np.array([nll]),
                "trust_radius": np.array([self._region.radius]),
                "restarts": np.array([float(self._restarts)]),
            },
        )

    def _propose(self, count: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Fit the model around the centre, descend ``count`` sampled members; return their
        θs (count, D), the ensemble's predicted loss and spread at each (count, 2) and the
        fit's NLL."""
        center = self._thetas[self._center_index]
        region = slice(self._region_start, None)
        frame = _Frame.around(center, self._region.radius, self._thetas[region], self._losses[region])
        frame.indices += self._region_start
        nll = self._model.fit(frame.inputs, frame.targets, int(self.hp["epochs"]))
        dim = self.objective.dim
        first = np.zeros(dim)
        if self.objective.noisy:
            # A single noisy value flatters lucky draws: start from, and next centre on,
            # the observation the model believes best (its mean averages the noise).
            means = self._model.predict(frame.inputs)[0]
            believed = int(np.argmin(means))
            first = frame.inputs[believed]
            self._center_index = int(frame.indices[believed])
            self._center_belief = float(frame.to_loss(means[believed], 0.0)[0])
        low, high = (frame.to_inputs(np.full(dim, bound)) for bound in self.objective.bounds)
        failed = frame.to_inputs(self._failed_thetas)
        failed = failed[np.linalg.norm(failed, axis=1) <= 1.0 + SEPARATION]  # those that can matter
        points, predictions, undrawn = np.empty((0, dim)), [], list(range(self._model.members))
        for _ in range(count):
            candidates = np.vstack([first, _in_unit_ball(self._search, CANDIDATES - 1, dim)])
            if len(failed):
                near = _near(candidates, failed)
                candidates[near] = _in_unit_ball(self._search, int(near.sum()), dim)
            member = np.zeros(self._model.members)
            member[undrawn.pop(int(self._search.integers(len(undrawn))))] = 1.0
            undrawn = undrawn or list(range(self._model.members))  # a fresh round
            candidates = np.clip(candidates, low, high)
            x, mean, spread = self._descent(candidates, member, low, high, self.hp["alpha"], self.hp["kappa"])
            shunned = np.vstack([failed, points])
            if len(shunned) and _near(x[None, :], shunned)[0]:
                x, mean, spread = self._best_candidate_away_from(candidates, shunned, x, mean, spread)
            points = np.vstack([points, x])
            predictions.append((mean, spread))
        self._frame = frame
        mean, spread = np.array(predictions).T
        with np.errstate(over="ignore", invalid="ignore"):
            return frame.to_theta(points), np.column_stack(frame.to_loss(mean, spread)), nll

    def _best_candidate_away_from(self, candidates: np.ndarray, shunned: np.ndarray, x: np.ndarray,
                                  mean: float, spread: float) -> tuple[np.ndarray, float, float]:
        """The candidate the ensemble predicts best (μ − κσ) among those not within
        :data:`SEPARATION` of a ``shunned`` point; ``x`` and its prediction if there is none."""
        allowed = candidates[~_near(candidates, shunned)]
        if not len(allowed):
            return x, mean, spread
        means, spreads = self._model.predict(allowed)
        best = int(np.argmin(means - float(self.hp["kappa"]) * spreads))
        return allowed[best], float(means[best]), float(spreads[best])

    def _observe(self, thetas: np.ndarray, losses: np.ndarray, designed: bool) -> None:
        """Record a step's evaluations (a failed one: its loss +inf, its θ remembered); move
        the centre to the batch's best if it improved, resize the region by it, restart the
        region if exhausted."""
        best = self._losses[self._center_index] if self._center_index >= 0 else np.inf
        first = len(self._losses)
        self._thetas = np.vstack([self._thetas, thetas])
        self._losses = np.append(self._losses, np.where(np.isfinite(losses), losses, np.inf))
        self._failed_thetas = np.vstack([self._failed_thetas, thetas[np.isnan(losses)]])
        newest = first + int(np.argmin(self._losses[first:]))
        theta, loss = self._thetas[newest], self._losses[newest]
        if designed:  # the centre is the design's best point so far
            if loss < best or self._center_index < 0:
                self._center_index = newest
            return
        if self.objective.noisy:
            self._region.noisy_update(loss < self._center_belief)
        elif loss < best:
            assert self._frame is not None  # every step after a design has fit one
            self._center_index = newest
            self._region.succeeded(float(np.linalg.norm(theta - self._frame.center)))
        else:
            self._region.failed()
        if self._region.exhausted(losing=self._losses[self._center_index] > np.min(self._losses)):
            self._restarts += 1
            self._start_region()

    def trust_region(self) -> tuple[np.ndarray, float] | None:
        """Centre and radius of the region the model was last fit in (None before)."""
        return None if self._frame is None else (self._frame.center.copy(), self._frame.radius)

    def predict(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The model's predicted loss and spread at ``thetas`` (n, D), in loss units;
        None until the model has been fit. For the GUI's predicted landscape."""
        if self._frame is None:
            return None
        mean, spread = self._model.predict(self._frame.to_inputs(np.asarray(thetas, np.float64)))
        with np.errstate(over="ignore", invalid="ignore"):
            return self._frame.to_loss(mean, spread)


class _Frame:
    """Local coordinates of one fit: θ in trust-region units around the centre, and
    losses warped by log1p above the local minimum, then standardised (losses that
    span decades become targets of O(1) the model can fit)."""

    def __init__(self, center, radius, indices, thetas, losses):
        self.center, self.radius, self.indices = center, radius, indices
        self.inputs = self.to_inputs(thetas)
        self.floor = float(np.min(losses))
        gaps = losses - self.floor
        self.scale = float(np.median(gaps[gaps > 0])) if np.any(gaps > 0) else 1.0
        warped = np.log1p(gaps / self.scale)
        self.offset, self.spread = float(warped.mean()), float(warped.std()) or 1.0
        self.targets = (warped - self.offset) / self.spread

    @classmethod
    def around(cls, center, radius, thetas, losses):
        """The frame of the observations (``thetas``, ``losses``) nearest ``center``: those
        within two radii, at least D + 2 of them and at most :data:`FIT_CAPACITY`."""
        distance = np.linalg.norm(thetas - center, axis=1)
        usable = np.flatnonzero(np.isfinite(losses))
        nearest = usable[np.argsort(distance[usable], kind="stable")]
        within = int(np.sum(distance[nearest] <= 2.0 * radius))
        count = min(max(within, thetas.shape[1] + 2), FIT_CAPACITY, len(nearest))
        chosen = nearest[:count]
        return cls(center, radius, chosen, thetas[chosen], losses[chosen])

    def to_inputs(self, thetas):
        return (thetas - self.center) / self.radius

    def to_theta(self, x):
        return self.center + self.radius * x

    def to_loss(self, mean, spread):
        """Map a standardised prediction back to loss units (spread by the delta method)."""
        warped = mean * self.spread + self.offset
        loss = self.floor + self.scale * np.expm1(warped)
        return loss, self.scale * np.exp(warped) * self.spread * spread


class _ModelDescent:
    """Thompson sampling through the model, in one graph call (not XLA: see
    :class:`Surrogate`): score the candidates by the drawn member's μ_m − κσ, descend that
    from the best few, each step projected onto the unit ball (the trust region) and the
    objective's bounds; return the best point with the ensemble's mean and spread there."""

    def __init__(self, model: Surrogate) -> None:
        tf = get_tf()
        self._model = model
        self._alpha = tf.Variable(tf.constant(0.1, tf.float64))
        self._kappa = tf.Variable(tf.constant(0.0, tf.float64))
        self._run = pooled_function(self._graph)

    def _graph(self, candidates, member, low, high):
        tf = get_tf()

        def acquisition(points):
            means, log_vars = self._model._members_graph(points)
            _, spread = Surrogate.mixture(means, log_vars)
            return tf.tensordot(member, means, 1) - self._kappa * spread

        def project(points):
            norms = tf.norm(points, axis=1, keepdims=True)
            # Clipping toward the box, which holds the centre, stays inside the ball.
            return tf.clip_by_value(points / tf.maximum(norms, 1.0), low, high)

        def body(i, points):
            with tf.GradientTape() as tape:
                tape.watch(points)
                value = tf.reduce_sum(acquisition(points))
            return i + 1, project(points - self._alpha * tape.gradient(value, points))

        starts = tf.gather(candidates, tf.math.top_k(-acquisition(candidates), DESCENT_STARTS).indices)
        _, x = tf.while_loop(lambda i, _: i < DESCENT_STEPS, body, (tf.constant(0), starts))
        best = x[tf.argmin(acquisition(x))]
        mean, spread = self._model._predict_graph(best[None, :])
        return best, mean[0], spread[0]

    def __call__(self, candidates, member, low, high, alpha, kappa):
        tf = get_tf()
        self._alpha.assign(alpha)
        self._kappa.assign(kappa)
        x, mean, spread = self._run(*(tf.constant(np.asarray(a, np.float64))
                                      for a in (candidates, member, low, high)))
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
        member = np.eye(self.model.members)[0]
        self.descent(np.zeros((CANDIDATES, dim)), member, -np.ones(dim), np.ones(dim), 0.1, 0.0)


MODELS: GraphPool[tuple[int, int], _ModelKit] = GraphPool(_ModelKit)


def _near(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Which of ``points`` lie within :data:`SEPARATION` of one of ``others`` (both in region units)."""
    gaps = np.linalg.norm(points[:, None, :] - others[None, :, :], axis=2)
    return gaps.min(axis=1) < SEPARATION


def _in_unit_ball(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    directions = rng.standard_normal((count, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return directions * rng.random((count, 1)) ** (1.0 / dim)
