"""A formula's text read into a small expression tree, without running any of it.

The text is checked cheaply first (length, characters, nesting), then parsed with
``ast.parse(mode="eval")`` — which only builds a syntax tree — and every node of that tree
must be one of a short whitelist; anything else is an :class:`ObjectiveError` of one line
naming the offending part and its column. Nothing the user typed is ever evaluated by
Python: constant parts are folded with numpy float64 arithmetic (bounded time, overflow
gives inf), never with Python integers (``9**9**9`` would take hours).

The grammar (see :data:`GRAMMAR`): numbers; ``x`` (the vector θ), ``x0`` … ``x999`` or
``x[i]`` (one coordinate, ``x[-1]`` the last), ``x[a:b]`` (a slice), ``pi``, ``e``, ``D``
(the dimension); ``+ - * / **``; the functions of :data:`ELEMENTWISE` and :data:`REDUCTIONS`.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from metalearn_gui.core.objectives.base import ObjectiveError

MAX_LENGTH = 2000
#: Brackets inside brackets; CPython's own parser stops at 200.
MAX_BRACKETS = 40
#: Prefix operators in a row (``- - - x``): thousands of them exhaust the parser's recursion.
MAX_PREFIX_OPERATORS = 8
#: Levels of the syntax tree (a chain ``a + b - c + …`` counts as one), bounding the recursion
#: of everything that walks the tree afterwards.
MAX_NESTING = 50
#: Largest |p| of a constant exponent: x**1000 overflows for |x| > 2 and says nothing useful.
MAX_EXPONENT = 100.0
#: Indices and slice bounds stay inside the largest dimension an objective allows.
MAX_INDEX = 1000

ELEMENTWISE = ("abs", "sqrt", "exp", "log", "sin", "cos", "tan", "tanh", "softplus")
#: sum/mean/prod of one vector; min/max of one vector, or elementwise of two or more arguments.
REDUCTIONS = ("sum", "mean", "prod", "min", "max")
FUNCTIONS = ELEMENTWISE + REDUCTIONS
CONSTANTS = {"pi": math.pi, "e": math.e}
NAMES = f"x, x0 … x{MAX_INDEX - 1}, pi, e, D"
GRAMMAR = (f"numbers, x (the vector θ), x0 … x{MAX_INDEX - 1} or x[i] (a coordinate), x[a:b] (a slice), "
           f"pi, e, D (the dimension); + - * / **; {', '.join(FUNCTIONS)}")

_HINTS = {"θ": " (write x for θ)", "π": " (write pi)", "²": " (write **2)", "×": " (write *)", "·": " (write *)",
          "−": " (write - for minus)"}
_COORDINATE = re.compile(r"x(0|[1-9][0-9]*)")
_PREFIX_RUN = re.compile(rf"(?:[-+~]\s*){{{MAX_PREFIX_OPERATORS + 1},}}")
_CHAINS = {ast.Add: ("sum", "+"), ast.Sub: ("sum", "-"), ast.Mult: ("product", "*"), ast.Div: ("product", "/")}
_REFUSED_OPERATORS: dict[type, str] = {
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
    ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~", ast.Not: "not"}
#: What the user wrote, in words, for the syntax the grammar leaves out.
_REFUSED_SYNTAX: dict[type, str] = {
    ast.Attribute: "attribute access (.)", ast.Lambda: "lambda", ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension", ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Set: "a set", ast.Dict: "a dict",
    ast.JoinedStr: "an f-string", ast.FormattedValue: "an f-string", ast.NamedExpr: "assignment (:=)",
    ast.Compare: "a comparison", ast.BoolOp: "and/or", ast.IfExp: "a conditional (… if … else …)",
    ast.Starred: "unpacking (*)",
}


# -- the expression tree ------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    #: The formula's text for this part (shortened), for messages.
    snippet: str
    #: Whether its value is a vector (per θ) rather than a number.
    vector: bool


@dataclass(frozen=True)
class Number(Node):
    value: float


@dataclass(frozen=True)
class Theta(Node):
    """``x``: every coordinate."""


@dataclass(frozen=True)
class Coordinate(Node):
    index: int


@dataclass(frozen=True)
class Window(Node):
    """``x[start:stop]``."""

    start: int | None
    stop: int | None


@dataclass(frozen=True)
class Dimension(Node):
    """``D``."""


@dataclass(frozen=True)
class Apply(Node):
    """A function of :data:`FUNCTIONS`, ``neg`` (unary minus), ``**``, or ``minimum`` /
    ``maximum`` (min and max of several arguments, elementwise)."""

    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Chain(Node):
    """``first op term op term …`` with ops ``+ -`` or ``* /``: a flat list, so a long sum
    written out is not a deep tree."""

    first: Node
    rest: tuple[tuple[str, Node], ...]


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Apply):
        return node.args
    if isinstance(node, Chain):
        return (node.first, *(term for _, term in node.rest))
    return ()


# -- reading ------------------------------------------------------------------------------
def parse_formula(text: object, fold: Callable[[Node], float]) -> Node:
    """The expression tree of formula ``text``; raises :class:`ObjectiveError` (one line).

    ``fold`` evaluates a tree without θ to its number (constant parts are replaced by it)."""
    if not isinstance(text, str):
        raise ObjectiveError(f"a formula is text, not {type(text).__name__}")
    _check_text(text)
    source = text.lstrip()  # Python reads leading spaces as an indent
    indent = len(text) - len(source)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        column = f" at column {error.offset + indent}" if error.offset else ""
        message = (error.msg or "invalid syntax").splitlines()[0]
        raise ObjectiveError(f"formula: {message}{column}") from None
    except (RecursionError, MemoryError, ValueError):  # a backstop: _check_text bounds the nesting
        raise ObjectiveError("formula: too complex to read; simplify it") from None
    depth = _nesting_depth(tree)
    if depth > MAX_NESTING:
        raise ObjectiveError(f"formula: nested {depth} levels deep; at most {MAX_NESTING} are allowed")
    root = _Reader(source, indent, fold).read(tree.body)
    if not any(isinstance(node, (Theta, Coordinate, Window)) for node in _nodes(root)):
        raise ObjectiveError(f"formula: `{root.snippet}` does not depend on x; use x, x0 … or x[i]")
    if root.vector:
        raise ObjectiveError(f"formula: its value `{root.snippet}` is a vector (one number per coordinate); "
                             f"reduce it to one number with {', '.join(REDUCTIONS)}, e.g. sum(x**2)")
    return root


def _check_text(text: str) -> None:
    """The cheap checks before parsing: length, characters, brackets, prefix operators."""
    if len(text) > MAX_LENGTH:
        raise ObjectiveError(f"formula: {len(text):,} characters is too long (at most {MAX_LENGTH:,})")
    if not text.strip():
        raise ObjectiveError("formula: empty; write an expression in x, e.g. sum(x**2)")
    for column, char in enumerate(text, 1):
        if not (char.isascii() and char.isprintable()):
            what = unicodedata.name(char, f"U+{ord(char):04X}")
            hint = _HINTS.get(char, " (a look-alike of an ASCII letter?)" if char.isalpha() else "")
            raise ObjectiveError(f"formula: character {char!r} ({what}) at column {column} is not allowed{hint}; "
                                 f"formulas are one line of ASCII")
    depth = 0
    for column, char in enumerate(text, 1):
        depth += (char in "([{") - (char in ")]}")
        if depth > MAX_BRACKETS:
            raise ObjectiveError(f"formula: brackets nested more than {MAX_BRACKETS} deep at column {column}")
    run = _PREFIX_RUN.search(text)
    if run:
        raise ObjectiveError(f"formula: more than {MAX_PREFIX_OPERATORS} signs in a row at column {run.start() + 1}")


def _nesting_depth(tree: ast.AST) -> int:
    """Levels of ``tree`` (without recursion: the tree may be deep); a chain of ``+ -``
    or of ``* /`` counts as one level, as :class:`Chain` stores it."""
    deepest = 0
    pending: list[tuple[ast.AST, int]] = [(tree, 0)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        for child in ast.iter_child_nodes(node):
            same_chain = (isinstance(node, ast.BinOp) and child is node.left and isinstance(child, ast.BinOp)
                          and _chain_kind(child) is not None and _chain_kind(child) == _chain_kind(node))
            pending.append((child, depth if same_chain else depth + 1))
    return deepest


def _chain_kind(node: ast.BinOp) -> str | None:
    entry = _CHAINS.get(type(node.op))
    return entry[0] if entry else None


class _Reader:
    """Turns a whitelisted ``ast`` tree into :class:`Node` s, refusing anything else."""

    def __init__(self, source: str, indent: int, fold: Callable[[Node], float]) -> None:
        self.source = source
        self.indent = indent  # columns of ``source`` are this many to the left of the text's
        self.fold = fold

    def read(self, node: ast.expr) -> Node:
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.BinOp):
            return self._binary(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        what = _REFUSED_SYNTAX.get(type(node), "this syntax")
        raise self.error(node, f"{what} is not allowed in a formula")

    # -- helpers ------------------------------------------------------------------------
    def snippet(self, node: ast.AST) -> str:
        # One line of ASCII (checked), so columns index the text directly.
        start, stop = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        text = " ".join(self.source[start:stop].split()) if start is not None else type(node).__name__
        return text if len(text) <= 30 else text[:29] + "…"

    def error(self, node: ast.AST, message: str) -> ObjectiveError:
        column = getattr(node, "col_offset", None)
        where = f" at column {column + 1 + self.indent}" if column is not None else ""
        separator = " " if message.startswith("is ") else ": "
        return ObjectiveError(f"formula: `{self.snippet(node)}`{where}{separator}{message}")

    def _folded(self, node: Node, at: ast.AST) -> Node:
        """``node`` (a function of its children), or its number when they are all numbers
        (which must then be finite)."""
        if any(not isinstance(child, Number) for child in children(node)):
            return node
        value = self.fold(node)
        if not math.isfinite(value):
            raise self.error(at, f"is {value} (numbers must be finite)")
        return Number(node.snippet, False, value)

    # -- the whitelist ------------------------------------------------------------------
    def _number(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = {str: "a string", bytes: "bytes", complex: "a complex number"}.get(type(value), f"`{value!r}`")
            raise self.error(node, f"{kind} is not allowed; only real numbers")
        try:
            number = float(value)  # an int of ~2000 digits does not fit a float: OverflowError
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.error(node, "is too large a number (at most about 1.8e308)")
        return Number(self.snippet(node), False, number)

    def _name(self, node: ast.Name) -> Node:
        name, snippet = node.id, self.snippet(node)
        if name == "x":
            return Theta(snippet, True)
        if name == "D":
            return Dimension(snippet, False)
        if name in CONSTANTS:
            return Number(snippet, False, CONSTANTS[name])
        match = _COORDINATE.fullmatch(name)
        if match:
            return Coordinate(snippet, False, self._index(node, int(match[1])))
        if name in FUNCTIONS:
            raise self.error(node, f"is a function: call it, e.g. {name}(x0)")
        raise self.error(node, f"is not a name a formula knows; names: {NAMES}")

    def _index(self, node: ast.AST, index: int) -> int:
        if not -MAX_INDEX <= index < MAX_INDEX:
            raise self.error(node, f"is beyond the largest dimension: indices are −{MAX_INDEX} … {MAX_INDEX - 1}")
        return index

    def _integer(self, node: ast.expr | None) -> int | None:
        """A written-out whole number (``3``, ``-1``) as an index or slice bound."""
        if node is None:
            return None
        sign = 1
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            sign = -1 if isinstance(node.op, ast.USub) else 1
            node = node.operand
        if not (isinstance(node, ast.Constant) and type(node.value) is int):
            raise self.error(node, "an index must be a whole number written out, e.g. x[2], x[-1] or x[1:]")
        return self._index(node, sign * node.value)

    def _subscript(self, node: ast.Subscript) -> Node:
        if not (isinstance(node.value, ast.Name) and node.value.id == "x"):
            raise self.error(node, "only x can be indexed, e.g. x[0] or x[1:]")
        part, snippet = node.slice, self.snippet(node)
        if isinstance(part, ast.Slice):
            if part.step is not None:
                raise self.error(node, "slices take no step; write x[a:b]")
            return Window(snippet, True, self._integer(part.lower), self._integer(part.upper))
        index = self._integer(part)
        assert index is not None
        return Coordinate(snippet, False, index)

    def _check_operator(self, node: ast.UnaryOp | ast.BinOp) -> None:
        refused = _REFUSED_OPERATORS.get(type(node.op))
        if refused is not None:
            raise self.error(node, f"operator {refused} is not supported; operators: + - * / **")

    def _unary(self, node: ast.UnaryOp) -> Node:
        self._check_operator(node)
        operand = self.read(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        return self._folded(Apply(self.snippet(node), operand.vector, "neg", (operand,)), node)

    def _binary(self, node: ast.BinOp) -> Node:
        self._check_operator(node)
        if isinstance(node.op, ast.Pow):
            return self._power(node)
        kind = _chain_kind(node)
        terms: list[tuple[str, ast.expr]] = []
        left: ast.expr = node
        while isinstance(left, ast.BinOp) and _chain_kind(left) == kind:  # the left spine, iteratively
            terms.append((_CHAINS[type(left.op)][1], left.right))
            left = left.left
        first = self.read(left)
        rest = tuple((symbol, self.read(term)) for symbol, term in reversed(terms))
        vector = first.vector or any(term.vector for _, term in rest)
        return self._folded(Chain(self.snippet(node), vector, first, rest), node)

    def _power(self, node: ast.BinOp) -> Node:
        base, exponent = self.read(node.left), self.read(node.right)
        if isinstance(exponent, Number) and abs(exponent.value) > MAX_EXPONENT:
            raise self.error(node.right, f"exponent {exponent.value:g} is too large (at most {MAX_EXPONENT:g} "
                                         f"in absolute value)")
        return self._folded(Apply(self.snippet(node), base.vector or exponent.vector, "**", (base, exponent)), node)

    def _call(self, node: ast.Call) -> Node:
        if not isinstance(node.func, ast.Name):
            raise self.error(node.func, f"only these functions can be called: {', '.join(FUNCTIONS)}")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.error(node.func, f"is not a function a formula knows; functions: {', '.join(FUNCTIONS)}")
        if node.keywords:
            raise self.error(node.keywords[0], "keyword arguments are not allowed")
        args = tuple(self.read(arg) for arg in node.args)
        snippet = self.snippet(node)
        if name in ("min", "max") and len(args) >= 2:
            function, vector = ("minimum" if name == "min" else "maximum"), any(arg.vector for arg in args)
        elif len(args) != 1:
            raise self.error(node, f"{name}() takes one argument, not {len(args)}"
                                   + (" (or several, elementwise)" if name in ("min", "max") else ""))
        else:
            function, vector = name, args[0].vector and name in ELEMENTWISE
        return self._folded(Apply(snippet, vector, function, args), node)


def dimension_problem(root: Node, dim: int) -> str | None:
    """Why the formula ``root`` cannot be evaluated in ``dim`` dimensions (one line), or None."""
    try:
        _length(root, dim)
    except _ShapeError as error:
        return str(error)
    return None


class _ShapeError(Exception):
    pass


def _length(node: Node, dim: int) -> int | None:
    """The length of ``node``'s vector at dimension ``dim`` (None for a number)."""
    if isinstance(node, Theta):
        return dim
    if isinstance(node, Coordinate):
        if not -dim <= node.index < dim:
            needed = node.index + 1 if node.index >= 0 else -node.index
            raise _ShapeError(f"formula: `{node.snippet}` needs D ≥ {needed}, not {dim}")
        return None
    if isinstance(node, Window):
        length = len(range(dim)[node.start:node.stop])
        if length == 0:
            raise _ShapeError(f"formula: `{node.snippet}` selects no coordinates at D = {dim}")
        return length
    lengths = [(child, _length(child, dim)) for child in children(node)]
    vectors = [(child, length) for child, length in lengths if length is not None]
    for child, length in vectors[1:]:
        if length != vectors[0][1]:
            first, first_length = vectors[0]
            raise _ShapeError(f"formula: `{first.snippet}` has {_coordinates(first_length)} and "
                              f"`{child.snippet}` {_coordinates(length)} at D = {dim}; they cannot be combined")
    if not node.vector:
        return None
    return vectors[0][1] if vectors else None


def _smallest_nonempty(window: Window) -> int:
    """The smallest D at which ``window`` selects a coordinate."""
    found = next((dim for dim in range(1, MAX_INDEX + 1) if range(dim)[window.start:window.stop]), None)
    if found is None:
        raise ObjectiveError(f"formula: `{window.snippet}` selects no coordinates at any dimension")
    return found


def _nodes(root: Node) -> list[Node]:
    """Every node of the tree under ``root``."""
    found, pending = [], [root]
    while pending:
        node = pending.pop()
        found.append(node)
        pending.extend(children(node))
    return found


def _coordinates(count: int) -> str:
    return f"{count} coordinate{'' if count == 1 else 's'}"


def smallest_dimension(root: Node) -> int:
    """The smallest D every coordinate and slice of ``root`` exists at (lengths unchecked)."""
    needed = 1
    for node in _nodes(root):
        if isinstance(node, Coordinate):
            needed = max(needed, node.index + 1 if node.index >= 0 else -node.index)
        elif isinstance(node, Window):
            needed = max(needed, _smallest_nonempty(node))
    return needed


__all__ = ["ELEMENTWISE", "FUNCTIONS", "GRAMMAR", "REDUCTIONS", "Apply", "Chain", "Coordinate", "Dimension",
           "Node", "Number", "Theta", "Window", "children", "dimension_problem", "parse_formula",
           "smallest_dimension"]
