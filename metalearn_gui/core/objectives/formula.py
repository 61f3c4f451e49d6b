"""Objectives typed in as a formula, e.g. ``sum(x**2) + 0.1*sin(5*x0)``.

The text is read into a whitelisted expression tree (:mod:`.formula_syntax`: nothing typed
is ever run by Python) and the tree is evaluated by two small interpreters over the same
operations — numpy on a whole population (rows of θ) and TensorFlow on one θ — so a
formula is vectorised for the search learners and differentiable for ``gradient``, whose
XLA-compiled loop traces it like a built-in objective.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from metalearn_gui.core.objectives.base import Objective, ObjectiveError
from metalearn_gui.core.objectives.formula_syntax import (
    GRAMMAR,
    Apply,
    Chain,
    Coordinate,
    Dimension,
    Node,
    Number,
    Theta,
    Window,
    dimension_problem,
    parse_formula,
    smallest_dimension,
)
from metalearn_gui.core.objectives.source import ObjectiveSource
from metalearn_gui.core.tf_runtime import get_tf

PREFIX = "formula:"
DEFAULT_DIM = 10
#: How many dimensions from the smallest are tried for a formula whose slices do not fit D = 10.
DIMENSIONS_SEARCHED = 200


class _Operations:
    """What evaluating a tree needs of an array library: where θ comes from, and every
    function a :class:`~.formula_syntax.Apply` or :class:`~.formula_syntax.Chain` names."""

    functions: dict[str, Callable[..., Any]]

    def number(self, value: float) -> Any:
        raise NotImplementedError

    def theta(self) -> Any:
        raise NotImplementedError

    def coordinate(self, index: int) -> Any:
        raise NotImplementedError

    def window(self, start: int | None, stop: int | None) -> Any:
        raise NotImplementedError

    def dimension(self) -> int:
        raise NotImplementedError


_NUMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power, "neg": np.negative,
    "abs": np.abs, "sqrt": np.sqrt, "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "tanh": np.tanh, "softplus": functools.partial(np.logaddexp, 0.0),
    # Over the last axis: a row's coordinates (a number's column has one).
    **{name: functools.partial(reduce, axis=-1, keepdims=True)
       for name, reduce in (("sum", np.sum), ("mean", np.mean), ("prod", np.prod), ("min", np.min),
                            ("max", np.max))},
    "minimum": lambda *args: functools.reduce(np.minimum, args),
    "maximum": lambda *args: functools.reduce(np.maximum, args),
}


class _NumpyOperations(_Operations):
    """A population ``thetas`` (n, D): a number is an (n, 1) column (or (1, 1) when constant),
    a vector (n, length), so both broadcast against each other row by row."""

    def __init__(self, thetas: np.ndarray) -> None:
        self.thetas = thetas
        self.functions = _NUMPY_FUNCTIONS

    def number(self, value):
        return np.full((1, 1), value)

    def theta(self):
        return self.thetas

    def coordinate(self, index):
        return self.thetas[:, [index]]

    def window(self, start, stop):
        return self.thetas[:, start:stop]

    def dimension(self):
        return self.thetas.shape[1]


class _TensorFlowOperations(_Operations):
    """One θ, a float64 tensor (D,): a number is a scalar tensor, a vector (length,)."""

    def __init__(self, theta: Any) -> None:
        tf = self.tf = get_tf()
        self.theta_tensor = theta
        self.functions = {
            "+": tf.add, "-": tf.subtract, "*": tf.multiply, "/": tf.divide, "**": tf.pow, "neg": tf.negative,
            "abs": tf.abs, "sqrt": tf.sqrt, "exp": tf.exp, "log": tf.math.log, "sin": tf.sin, "cos": tf.cos,
            "tan": tf.tan, "tanh": tf.tanh, "softplus": tf.math.softplus,
            "sum": tf.reduce_sum, "mean": tf.reduce_mean, "prod": tf.reduce_prod, "min": tf.reduce_min,
            "max": tf.reduce_max,
            "minimum": lambda *args: functools.reduce(tf.minimum, args),
            "maximum": lambda *args: functools.reduce(tf.maximum, args),
        }

    def number(self, value):
        return self.tf.constant(value, self.tf.float64)

    def theta(self):
        return self.theta_tensor

    def coordinate(self, index):
        return self.theta_tensor[index]

    def window(self, start, stop):
        return self.theta_tensor[start:stop]

    def dimension(self):
        return int(self.theta_tensor.shape[0])


def evaluate(node: Node, operations: _Operations) -> Any:
    """The value of ``node`` computed with ``operations`` (recursion bounded by the
    syntax's nesting limit)."""
    if isinstance(node, Number):
        return operations.number(node.value)
    if isinstance(node, Theta):
        return operations.theta()
    if isinstance(node, Coordinate):
        return operations.coordinate(node.index)
    if isinstance(node, Window):
        return operations.window(node.start, node.stop)
    if isinstance(node, Dimension):
        return operations.number(float(operations.dimension()))
    functions = operations.functions
    if isinstance(node, Chain):
        value = evaluate(node.first, operations)
        for symbol, term in node.rest:
            value = functions[symbol](value, evaluate(term, operations))
        return value
    assert isinstance(node, Apply), f"unknown node {node!r}"
    return functions[node.function](*(evaluate(arg, operations) for arg in node.args))


def _evaluate_numpy(root: Node, thetas: np.ndarray) -> np.ndarray:
    """Losses (n,) of the rows of ``thetas``; overflow and invalid values give inf and NaN."""
    thetas = np.atleast_2d(np.asarray(thetas, dtype=np.float64))
    with np.errstate(all="ignore"):
        value = evaluate(root, _NumpyOperations(thetas))
    return np.array(np.broadcast_to(value, (len(thetas), 1))[:, 0], dtype=np.float64)


def _fold(node: Node) -> float:
    """The number a tree without θ stands for (float64 arithmetic: never a Python int power)."""
    return float(_evaluate_numpy(node, np.zeros((1, 0)))[0])


class FormulaObjective(Objective):
    """A formula typed in (subclassed per formula by :func:`formula_objective_class`)."""

    formula: ClassVar[str]
    tree: ClassVar[Node]
    source: ClassVar[ObjectiveSource | None]
    bounds = (-5.0, 5.0)

    def __init__(self, dim: int | None = None) -> None:
        if isinstance(dim, (int, np.integer)) and not isinstance(dim, bool) and 0 < dim < self.min_dim:
            problem = dimension_problem(self.tree, int(dim))
            if problem is not None:  # name the coordinate that is missing
                raise ObjectiveError(f"{problem} (allowed: {self.min_dim} … {self.max_dim})")
        super().__init__(dim)
        problem = dimension_problem(self.tree, self.dim)
        if problem is not None:
            raise ObjectiveError(problem)

    def __reduce__(self):
        # The class is made at run time, so a copy in another process is made from the text.
        return (_rebuilt, (self.formula, self.dim))

    def loss_np(self, thetas, rng=None):
        return _evaluate_numpy(self.tree, thetas)

    def loss_tf(self, theta, seed=None):
        return evaluate(self.tree, _TensorFlowOperations(theta))

    def coordinate_names(self) -> tuple[str, ...]:
        """x0 … x{D-1}, as the formula names them."""
        return tuple(f"x{i}" for i in range(self.dim))

    def landscape_axes(self) -> tuple[int, int] | str:
        if self.dim < 2:
            return "the formula's θ has one coordinate"
        return (0, 1)


_CLASSES: dict[str, type[FormulaObjective]] = {}
_CLASSES_LOCK = threading.Lock()  # the window's thread and a run's may ask for the same formula at once


def formula_objective_class(text: str) -> type[FormulaObjective]:
    """The objective class of formula ``text`` (the same class for the same text within a
    process); raises :class:`ObjectiveError` with one line naming what is wrong."""
    if not isinstance(text, str):
        raise ObjectiveError(f"a formula is text, not {type(text).__name__}")
    with _CLASSES_LOCK:
        cls = _CLASSES.get(text)
        if cls is None:
            cls = _CLASSES[text] = _new_class(text)
        return cls


def _rebuilt(text: str, dim: int) -> FormulaObjective:
    return formula_objective_class(text)(dim)


def _new_class(text: str) -> type[FormulaObjective]:
    tree = parse_formula(text, _fold)
    min_dim = smallest_dimension(tree)
    default_dim = max(DEFAULT_DIM, min_dim)
    problem = dimension_problem(tree, default_dim)
    if problem is not None:  # slices whose lengths differ at D = 10, e.g. x[1:] * x[:3]: fits D = 4 only
        fitting = (dim for dim in range(min_dim, min_dim + DIMENSIONS_SEARCHED)
                   if dimension_problem(tree, dim) is None)
        min_dim = default_dim = next(fitting, 0)
        if not min_dim:  # e.g. x[1:] - x, which fits no D
            raise ObjectiveError(problem)
    return type("Formula", (FormulaObjective,), {
        "name": PREFIX + text,
        "description": f"your formula {text.strip()} on [−5, 5]^D",
        "formula": text,
        "tree": tree,
        "source": ObjectiveSource("formula", text, None),
        "min_dim": min_dim,
        "default_dim": default_dim,
    })


def check_formula(text: str, dim: int | None = None) -> str | None:
    """What is wrong with formula ``text`` (in ``dim`` dimensions, if given) in one line, or
    None when it can be used: for live validation as the user types."""
    try:
        formula_objective_class(text)(dim)
    except ObjectiveError as error:
        return str(error)
    return None


__all__ = ["GRAMMAR", "PREFIX", "FormulaObjective", "check_formula", "evaluate", "formula_objective_class"]
