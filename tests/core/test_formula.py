"""Formulas typed in: the values they claim, a TensorFlow form the gradient learner can
follow, and text that is never run — whatever is typed."""

from __future__ import annotations

import builtins
import contextlib
import os
import pickle
import random
import subprocess

import numpy as np
import pytest

from metalearn_gui.core.learners import learner_class
from metalearn_gui.core.objectives import ObjectiveError
from metalearn_gui.core.objectives.formula import check_formula, formula_objective_class
from metalearn_gui.core.objectives.source import ObjectiveSource
from metalearn_gui.core.tf_runtime import get_tf

THETAS = np.random.default_rng(7).uniform(-3.0, 3.0, size=(6, 5))

HAND_COMPUTED = [
    ("sum(x**2) + 0.1*sin(5*x0)", lambda t: np.sum(t**2, axis=1) + 0.1 * np.sin(5 * t[:, 0])),
    ("sum(100*(x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)",
     lambda t: np.sum(100 * (t[:, 1:] - t[:, :-1] ** 2) ** 2 + (1 - t[:, :-1]) ** 2, axis=1)),
    ("10*D + sum(x**2 - 10*cos(2*pi*x))", lambda t: 50 + np.sum(t**2 - 10 * np.cos(2 * np.pi * t), axis=1)),
    ("softplus(sum(x**2))", lambda t: np.logaddexp(0, np.sum(t**2, axis=1))),
    ("-20*exp(-0.2*sqrt(mean(x**2))) - exp(mean(cos(2*pi*x))) + 20 + e",
     lambda t: -20 * np.exp(-0.2 * np.sqrt(np.mean(t**2, axis=1))) - np.exp(np.mean(np.cos(2 * np.pi * t), axis=1))
     + 20 + np.e),
    ("x[-1] / (1 + abs(x1)) - x4 * x[0] + 2**-3", lambda t: t[:, -1] / (1 + abs(t[:, 1])) - t[:, 4] * t[:, 0] + 0.125),
    ("max(x0, x1, 0.5) + min(x) - max(tanh(x)) + prod(x[1:3])",
     lambda t: np.maximum(np.maximum(t[:, 0], t[:, 1]), 0.5) + t.min(axis=1) - np.tanh(t).max(axis=1)
     + t[:, 1] * t[:, 2]),
    ("log(1 + exp(x0)) + sqrt(abs(x2)) * tan(x3/4) - x1/x2/x3", lambda t: np.log1p(np.exp(t[:, 0]))
     + np.sqrt(abs(t[:, 2])) * np.tan(t[:, 3] / 4) - t[:, 1] / t[:, 2] / t[:, 3]),
]


@pytest.mark.parametrize("text,expected", HAND_COMPUTED, ids=[text for text, _ in HAND_COMPUTED])
def test_a_formula_computes_what_it_says_on_a_population(text, expected):
    objective = formula_objective_class(text)(5)
    losses = objective.loss_np(THETAS)
    assert losses.shape == (6,) and losses.dtype == np.float64
    np.testing.assert_allclose(losses, expected(THETAS), rtol=1e-12)


@pytest.mark.parametrize("text", [text for text, _ in HAND_COMPUTED])
def test_tensorflow_form_equals_numpy_form_and_its_gradient_is_the_slope(text):
    tf = get_tf()
    objective = formula_objective_class(text)(5)
    for theta in THETAS[:3]:
        tensor = tf.constant(theta)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            loss = objective.loss_tf(tensor)
        assert loss.dtype == tf.float64 and loss.shape == ()
        assert float(loss) == pytest.approx(objective.loss(theta), rel=1e-12)
        step = 1e-6
        slope = [(objective.loss(theta + step * unit) - objective.loss(theta - step * unit)) / (2 * step)
                 for unit in np.eye(5)]
        np.testing.assert_allclose(tape.gradient(loss, tensor).numpy(), slope, rtol=1e-5, atol=1e-5)


def test_gradient_learner_descends_a_formula():
    objective = formula_objective_class("sum((x - 1)**2) + 0.1*sin(5*x0)")(4)
    learner = learner_class("gradient")(objective, {"alpha": 0.05}, max_steps=300)
    first = learner.reset(seed=0).loss[0]
    learner.advance(max_steps=300)
    assert learner.step == 300
    assert learner.best_loss < 0.05 * first and learner.best_loss < 0.1


def test_a_formula_is_a_vectorised_differentiable_objective_recording_its_source():
    text = "sum(x**2) + x5"
    cls = formula_objective_class(text)
    assert cls is formula_objective_class(text)  # one class per text: the graphs of a run are reused
    assert cls.name == "formula:" + text and text in cls.description
    assert cls.source == ObjectiveSource("formula", text, None)
    assert ObjectiveSource.from_json(cls.source.to_json()) == cls.source
    objective = cls()
    assert (objective.dim, objective.min_dim, objective.bounds) == (10, 6, (-5.0, 5.0))
    assert objective.capabilities() == ["differentiable", "vectorised"] and objective.optimum_value is None
    assert objective.coordinate_names()[:2] == ("x0", "x1")
    copy = pickle.loads(pickle.dumps(objective))  # made from the text again, e.g. in another process
    assert type(copy) is cls and copy.dim == 10


@pytest.mark.parametrize("text,dim,message", [
    ("sum(x**2) + x5", 3, r"`x5` needs D ≥ 6, not 3 \(allowed: 6 … 1000\)"),
    ("x[-4] + x0", 2, r"`x\[-4\]` needs D ≥ 4, not 2"),
    ("sum(x[1:] * x[:3])", 10, r"`x\[1:\]` has 9 coordinates and `x\[:3\]` 3 coordinates at D = 10"),
])
def test_a_dimension_the_formula_cannot_use_is_refused_naming_why(text, dim, message):
    with pytest.raises(ObjectiveError, match=message):
        formula_objective_class(text)(dim)
    assert check_formula(text, dim) is not None and check_formula(text) is None


@pytest.mark.parametrize("text,message", [
    ("x.__class__", r"`x.__class__` at column 1: attribute access \(.\) is not allowed"),
    ("__import__('os').system('true')", r"at column 1: only these functions can be called: abs"),
    ("__import__('os')", r"`__import__` at column 1 is not a function a formula knows; functions: abs, sqrt"),
    ("sum(x) + open('f')", r"`open` at column 10 is not a function"),
    ("x0 + y", r"`y` at column 6 is not a name a formula knows; names: x, x0 … x999, pi, e, D"),
    ("lambda: 1", r"lambda is not allowed"),
    ("sum([i for i in x])", r"column 5: a comprehension is not allowed"),
    ("9**9**9**9", r"`9\*\*9` at column 7: exponent 3.8742e\+08 is too large \(at most 100"),
    ("x0 ** 101", r"exponent 101 is too large"),
    ("(" * 10_000 + "x" + ")" * 10_000, r"20,001 characters is too long \(at most 2,000\)"),
    ("(" * 500 + "x0" + ")" * 500, r"brackets nested more than 40 deep at column 41"),
    ("-" * 1998 + "x0", r"more than 8 signs in a row at column 1"),
    ("x0" + "**x0" * 400, r"nested 402 levels deep; at most 50"),
    ("x" * 1_000_000, r"1,000,000 characters is too long"),
    ("sum(\u0445**2)", "'\u0445' \\(CYRILLIC SMALL LETTER HA\\) at column 5 is not allowed"),
    ("sum(\uff58**2)", "'\uff58' \\(FULLWIDTH LATIN SMALL LETTER X\\) at column 5"),
    ("sum(θ**2)", r"\(write x for θ\)"),
    ("f'{x}'", r"an f-string is not allowed"),
    ("b'x' * x0", r"bytes is not allowed"),
    ("(y := x0)", r"assignment \(:=\) is not allowed"),
    ("x0 if x1 else x2", r"a conditional"),
    ("x0 < 1", r"a comparison is not allowed"),
    ("del x", r"invalid syntax at column 1"),
    ("x0; x1", r"invalid syntax at column 3"),
    ("x0\nx1", r"character '\\n' \(U\+000A\) at column 3 is not allowed; formulas are one line"),
    ("x0\x00", r"character '\\x00' \(U\+0000\) at column 3"),
    ("sum(x[::-1])", r"slices take no step"),
    ("x0 * 1e999999", r"`1e999999` at column 6 is too large a number"),
    ("x0 * " + "9" * 1500, r"is too large a number"),
    ("log(0) + x0", r"`log\(0\)` at column 1 is -inf \(numbers must be finite\)"),
    ("x[2.5]", r"an index must be a whole number"),
    ("x[5000]", r"`5000` at column 3 is beyond the largest dimension: indices are −1000 … 999"),
    ("x1000 + x0", r"`x1000` at column 1 is beyond the largest dimension"),
    ("y[0]", r"only x can be indexed"),
    ("sum(x, axis=0)", r"`axis=0` at column 8: keyword arguments are not allowed"),
    ("sin(x0, x1)", r"sin\(\) takes one argument, not 2"),
    ("x0 // 2", r"operator // is not supported"),
    ("x ** 2", r"`x \*\* 2` is a vector .*reduce it to one number with sum, mean, prod, min, max"),
    ("pi * D", r"does not depend on x"),
    ("sum(x[1:] - x)", r"`x\[1:\]` has 9 coordinates and `x` 10 coordinates at D = 10"),
    ("   ", r"empty"),
    ("sum(x", r"'\(' was never closed at column 4"),
])
def test_hostile_text_gets_one_line_naming_the_offending_part(text, message):
    with pytest.raises(ObjectiveError, match=message) as caught:
        formula_objective_class(text)
    assert "\n" not in str(caught.value)


# -- the fuzz ------------------------------------------------------------------------------
TOKENS = (
    "x", "x0", "x1", "x3", "x12", "x[0]", "x[-1]", "x[1:]", "x[:-1]", "x[2:4]", "D", "pi", "e", "1", "2", "0.5",
    "1e3", "3.", "+", "-", "*", "/", "**", "(", ")", "(", ")", "sin(", "cos(", "exp(", "log(", "sqrt(", "abs(",
    "tanh(", "softplus(", "sum(", "mean(", "prod(", "min(", "max(", ",", " ", "[", "]", ":", ".", "__class__",
    "__globals__", "lambda", " if ", " else ", " for ", " in ", "import", "os", "'s'", '"rm -rf"', "=", ":=", ";",
    "\n", "\t", "\x00", "%", "//", "@", "<", "==", " not ", " and ", "\u0445", "\uff58", "\u200b", "__import__",
    "eval", "exec", "open", "globals", "compile", "getattr", "breakpoint", "9", "**9", "1e999999", "1j", "#",
    "\\", "`", "$", "{", "}", "f'", "b'", "...", "None", "True", "*", "yield", "await", "x.real", "x[::-1]",
)
HOSTILE = [
    "x.__class__", "x.__class__.__mro__[1].__subclasses__()", "__import__('os')", "__import__('os').system('id')",
    "lambda: 1", "(lambda: __import__('os'))()", "[i for i in x]", "{i: i for i in x}", "sum(i for i in x)",
    "9**9**9**9", "9**9**9", "2**10**10", "(2**1000)**1000*x0", "(" * 10_000 + "x" + ")" * 10_000, "x" * 1_000_000,
    "x0+" * 300_000 + "x0", "\u0445", "\uff58", "sum(\u0445**2)", "open('f')", "open('/etc/passwd').read()",
    "exec('1')", "eval('1')", "compile('1','f','exec')", "globals()", "locals()", "vars()", "dir()",
    "getattr(x, 'T')", "breakpoint()", "input()", "print(x)", "help()", "f'{x}'", "f'{__import__(\"os\")}'",
    "b'x'", "(y := 1)", "x if x else x", "del x", "x; x", "x0\nx1", "x0\x00", "x[::-1]", "1e999999",
    "-1e999999", "1" * 1999, "x[" + "9" * 1990 + "]", "-" * 1999 + "x", "~" * 1999 + "x", "not " * 499 + "x",
    "lambda:" * 285 + "x", "x**" * 666 + "x", "x[0]" * 499, "x0 if x0 else " * 150 + "x0", "(" * 199 + ")" * 199,
    "[" * 1000, "sin(" * 500 + "x0" + ")" * 500, "\\", "\x1b[31m", "\r\n", "\u2028", "x0 # comment",
    "__builtins__", "__builtins__['eval']('1')", "type(x)", "x.__dict__", "[].__class__", "().__class__",
    "'a' * 10**9", "x * 10**10**10", "sum(x) ** 1e308", "sum(x) ** (1/0)", "exp(exp(exp(1e3)))", "x0 / 0",
    "yield x", "await x", "*x", "**x", "x, x", "async", "import os", "from os import system", "return 1",
    "raise Exception", "assert x", "global x", "class A: pass", "def f(): pass", "@x", "x = 1", "x += 1",
]


#: Tokens that pass the character check, so their soups reach the parser and the whitelist.
ASCII_TOKENS = tuple(token for token in TOKENS if token.isascii() and token.isprintable())


def _random_soup(rng: random.Random, tokens: tuple[str, ...] = TOKENS) -> str:
    return "".join(rng.choice(tokens) for _ in range(rng.randint(1, 30)))


def _mutated(rng: random.Random, formula: str) -> str:
    """``formula`` with a token inserted somewhere: hostile parts deep inside valid syntax."""
    where = rng.randint(0, len(formula))
    return formula[:where] + rng.choice(ASCII_TOKENS + tuple(HOSTILE[:40])) + formula[where:]


def _random_formula(rng: random.Random, depth: int = 3) -> str:
    """A formula of the grammar, to check the fuzz also compiles what it should."""
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(["x0", "x1", "x[-1]", "x2", "x3", "x4", "x[1]", "pi", "1.5", "D"])
    pick = rng.random()
    if pick < 0.4:
        operator = rng.choice(["+", "-", "*", "/", "**"])
        right = rng.choice(["2", "0.5", "3"]) if operator == "**" else _random_formula(rng, depth - 1)
        return f"({_random_formula(rng, depth - 1)}) {operator} ({right})"
    if pick < 0.7:
        return f"{rng.choice(['sin', 'cos', 'exp', 'tanh', 'abs', 'softplus', 'sqrt', 'log'])}(" \
               f"{_random_formula(rng, depth - 1)})"
    reduction = rng.choice(["sum", "mean", "prod", "min", "max"])
    vector = rng.choice(["x", "x[1:]", "x**2", "sin(x)", "x[:-1]*x[1:]", "abs(x - x0)"])
    return f"{reduction}({vector}) + {_random_formula(rng, depth - 1)}"


class _Forbidden:
    """Builtins that would run or reach anything; each call is recorded and refused."""

    NAMES = ("__import__", "eval", "exec", "open", "breakpoint", "input")

    def __init__(self) -> None:
        self.calls: list[str] = []

    @contextlib.contextmanager
    def installed(self):
        real_compile = builtins.compile

        def refuse(name):
            def call(*args, **kwargs):
                self.calls.append(name)
                raise RuntimeError(f"{name} was called")
            return call

        def syntax_tree_only(source, filename, mode, flags=0, *args, **kwargs):
            # ast.parse calls compile() for a syntax tree only; any code object is refused.
            if not flags & 0x400:  # ast.PyCF_ONLY_AST
                self.calls.append("compile")
                raise RuntimeError("compile was called for code")
            return real_compile(source, filename, mode, flags, *args, **kwargs)

        # Assigned directly: monkeypatch itself imports while it patches.
        replacements = {(builtins, name): refuse(name) for name in self.NAMES}
        replacements[builtins, "compile"] = syntax_tree_only
        replacements[os, "system"] = refuse("os.system")
        replacements[subprocess, "Popen"] = refuse("subprocess.Popen")
        saved = {key: getattr(*key) for key in replacements}
        try:
            for (owner, name), replacement in replacements.items():
                setattr(owner, name, replacement)
            yield
        finally:
            for (owner, name), original in saved.items():
                setattr(owner, name, original)


@pytest.mark.timeout(120)  # a hang guard only: each string's work is bounded by the syntax's limits
def test_fuzz_thousands_of_strings_each_compile_or_get_one_line_and_nothing_runs():
    rng = random.Random(20261127)
    strings = (HOSTILE + [_random_soup(rng) for _ in range(500)] + [_random_soup(rng, ASCII_TOKENS) for _ in range(500)]
               + [_random_formula(rng) for _ in range(300)] + [_mutated(rng, _random_formula(rng)) for _ in range(500)])
    check_formula("sum(x**2)")  # anything imported lazily is imported now, before the builtins are patched
    forbidden = _Forbidden()
    compiled, refused, escaped = 0, 0, []
    with forbidden.installed():
        for text in strings:
            try:
                objective = formula_objective_class(text)()
                losses = objective.loss_np(objective.initial_theta(np.random.default_rng(0), 4))
            except ObjectiveError as error:
                message = str(error)
                if not message or "\n" in message or "\r" in message or len(message) > 300:
                    escaped.append((text[:60], f"message {message[:300]!r}"))
                refused += 1
            except BaseException as error:  # noqa: BLE001 — anything but ObjectiveError is a failure
                escaped.append((text[:60], f"{type(error).__name__}: {error}"))
            else:
                if losses.shape != (4,) or losses.dtype != np.float64:
                    escaped.append((text[:60], f"losses {losses!r}"))
                compiled += 1
    assert forbidden.calls == []
    assert escaped == []
    assert len(strings) >= 1000 and compiled >= 250 and refused >= 1000, (compiled, refused)


def test_random_formulas_have_equal_numpy_and_tensorflow_forms():
    tf = get_tf()
    rng = random.Random(5)
    for text in (f"mean(x) * ({_random_formula(rng)})" for _ in range(20)):
        objective = formula_objective_class(text)(6)
        thetas = objective.initial_theta(np.random.default_rng(1), 3)
        single = [float(objective.loss_tf(tf.constant(theta))) for theta in thetas]
        np.testing.assert_allclose(single, objective.loss_np(thetas), rtol=1e-10, err_msg=text)


def test_source_from_json_refuses_what_is_not_a_source():
    for data in (None, [], {"kind": "shell", "spec": "x"}, {"kind": "formula", "spec": ""},
                 {"kind": "file", "spec": "f.py:f", "sha256": 5}):
        with pytest.raises(ObjectiveError, match="objective source"):
            ObjectiveSource.from_json(data)
