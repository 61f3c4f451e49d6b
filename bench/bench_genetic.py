"""Benchmark: the ``genetic`` learner's generations/s against DEAP's ``eaSimple``.

Why: the genetic learner is a vectorised numpy GA (one step = one generation,
the whole population per numpy call). This compares it with the usual way of
writing the same GA in DEAP -- list individuals, per-individual numpy
evaluation, ``algorithms.eaSimple`` -- using the same operators and rates:
tournament selection (size 3), blend crossover BLX-0.5 of parent pairs
with probability 0.9, per-gene Gaussian mutation (σ 0.1, probability 0.1).
Ours also keeps 2 elites (eaSimple has no elitism), adapts each strategy's σ and
shapes its variation by the population's principal axes (more work per generation
than DEAP's operators). Goal: ratio >= 50x.

Objective ``rastrigin``, 10-D, population 1,000, initial population uniform in
[-5.12, 5.12]. DEAP is slow, so it runs fewer generations; the comparison is of
generations/s. The initial evaluation is untimed for both. Best losses are
printed for information only (the two runs differ in length and randomness).

Run:  python bench/bench_genetic.py [--quick] [--repeats 3] [--generations 200] [--deap-generations 10]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
import time

import deap
import numpy as np
from deap import algorithms, base, creator, tools

from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import make_objective

GOAL = 50.0
DIM = 10
LOW, HIGH = -5.12, 5.12


def run_ours(population: int, generations: int, seed: int) -> tuple[float, dict]:
    # DEAP's rates (the learner's σ is a fraction of the domain's width; no restarts, so that
    # every generation is one like DEAP's).
    rates = {"tournament": 3, "crossover": 0.9, "mutation": 0.1, "sigma": 0.1 / (HIGH - LOW), "restarts": 0}
    learner = learner_class("genetic")(
        make_objective("rastrigin", DIM), {"population": population, **rates}, max_steps=generations
    )
    learner.reset(seed)  # initial population and its evaluation: untimed
    started = time.perf_counter()
    while learner.status.value == "running":
        learner.advance(max_seconds=0.2)
    seconds = time.perf_counter() - started
    return seconds, {"best": learner.best_loss, "status": learner.status.value, "step": learner.step}


def rastrigin(individual) -> tuple[float]:
    x = np.asarray(individual)
    return (10.0 * len(x) + np.sum(x**2 - 10.0 * np.cos(2.0 * math.pi * x)),)


def deap_toolbox() -> base.Toolbox:
    if not hasattr(creator, "FitnessMin"):
        creator.create("FitnessMin", base.Fitness, weights=(-1.0,))
        creator.create("Individual", list, fitness=creator.FitnessMin)
    toolbox = base.Toolbox()
    toolbox.register("attr_float", random.uniform, LOW, HIGH)
    toolbox.register("individual", tools.initRepeat, creator.Individual, toolbox.attr_float, DIM)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("evaluate", rastrigin)
    toolbox.register("mate", tools.cxBlend, alpha=0.5)
    toolbox.register("mutate", tools.mutGaussian, mu=0.0, sigma=0.1, indpb=0.1)
    toolbox.register("select", tools.selTournament, tournsize=3)
    return toolbox


def run_deap(population: int, generations: int, seed: int) -> tuple[float, dict]:
    random.seed(seed)
    toolbox = deap_toolbox()
    pop = toolbox.population(n=population)
    for individual in pop:  # initial evaluation, untimed (eaSimple skips valid ones)
        individual.fitness.values = toolbox.evaluate(individual)
    started = time.perf_counter()
    pop, _ = algorithms.eaSimple(pop, toolbox, cxpb=0.9, mutpb=1.0, ngen=generations, verbose=False)
    seconds = time.perf_counter() - started
    return seconds, {"best": min(ind.fitness.values[0] for ind in pop)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run (20 vs 2 generations, 1 repeat)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 3; 1 with --quick)")
    parser.add_argument("--generations", type=int, default=None, help="generations for ours (default 200)")
    parser.add_argument("--deap-generations", type=int, default=None, help="generations for DEAP (default 10)")
    parser.add_argument("--population", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ours_gens = args.generations or (20 if args.quick else 200)
    deap_gens = args.deap_generations or (2 if args.quick else 10)
    repeats = args.repeats or (1 if args.quick else 3)

    ours, theirs = [], []
    for repeat in range(repeats):
        seconds, info = run_ours(args.population, ours_gens, args.seed + repeat)
        ours.append(ours_gens / seconds)
        seconds, ref = run_deap(args.population, deap_gens, args.seed + repeat)
        theirs.append(deap_gens / seconds)

    print(f"bench_genetic: objective rastrigin, {DIM}-D, population {args.population:,}, "
          f"ours {ours_gens} generations, DEAP {deap_gens}, median of {repeats}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, deap {deap.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print()
    print(f"{'':28} {'generations/s median':>21} {'min':>10} {'max':>10} {'best loss (last run)':>21}")
    for label, rates, best in (
        ("genetic learner", ours, info["best"]),
        ("DEAP eaSimple", theirs, ref["best"]),
    ):
        print(f"{label:28} {statistics.median(rates):>21,.1f} {min(rates):>10,.1f} "
              f"{max(rates):>10,.1f} {best:>21.4f}")
    print()
    print(f"learner status: {info['status']} at generation {info['step']}"
          + ("" if info["status"] == "finished" else "  <-- expected 'finished'"))
    ratio = statistics.median(ours) / statistics.median(theirs)
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(f"ratio genetic learner / DEAP eaSimple: {ratio:.1f}x (goal >= {GOAL:g}x: {verdict})")


if __name__ == "__main__":
    main()
