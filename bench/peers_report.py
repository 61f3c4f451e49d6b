"""The peer benchmark's tables, goal checks and files (printed, and written as markdown,
CSV and the ECDF figure)."""

from __future__ import annotations

import csv
import math
import statistics
from collections.abc import Callable
from pathlib import Path

from peers_ecdf import Curve, ecdf
from peers_methods import LEARNERS, is_expensive

#: The ECDF table's columns: a label and the evaluations it stands for in ``dim`` D.
ECDF_COLUMNS: tuple[tuple[str, Callable[[int], int]], ...] = (
    ("100", lambda dim: 100), ("300", lambda dim: 300),
    ("10³·D", lambda dim: 1_000 * dim), ("10⁴·D", lambda dim: 10_000 * dim),
)


def _curves(results: list[dict]) -> list[Curve]:
    return [Curve(result["curve_evaluations"], result["curve_values"], result["budget"]) for result in results]


class Report:
    """The benchmark's figures, computed from the runs' results."""

    def __init__(self, plan, methods: list[str], results: list[dict], step_ms: float | None) -> None:
        self.plan, self.methods, self.step_ms = plan, methods, step_ms
        self.bbob = [r for r in results if r["problem"].startswith("bbob-")]
        self.own = [r for r in results if not r["problem"].startswith("bbob-")]
        self.dims = sorted({r["dim"] for r in self.bbob})

    def runs(self, method: str, dim: int) -> list[dict]:
        return [r for r in self.bbob if r["method"] == method and r["dim"] == dim]

    def ecdf_at(self, method: str, dim: int, evaluations: int) -> float:
        """ECDF of ``method``'s BBOB runs in ``dim`` D at ``evaluations`` (NaN: beyond its budget or not run)."""
        return ecdf(_curves(self.runs(method, dim)), evaluations)

    def speed(self, method: str, dim: int) -> float:
        """Evaluations per second over ``method``'s BBOB runs in ``dim`` D (NaN: not run)."""
        runs = self.runs(method, dim)
        seconds = sum(r["seconds"] for r in runs)
        return sum(r["evaluations"] for r in runs) / seconds if seconds > 0 else math.nan

    def own_median(self, method: str, objective: str, dim: int, evaluations: int) -> float:
        """Median over seeds of ``method``'s result on an own objective at ``evaluations`` (NaN: not run)."""
        values = [r["quality"][str(evaluations)] for r in self.own
                  if (r["method"], r["problem"], r["dim"]) == (method, objective, dim)
                  and str(evaluations) in r["quality"]]
        return statistics.median(values) if values else math.nan

    def own_problems(self) -> list[tuple[str, int]]:
        return sorted({(r["problem"], r["dim"]) for r in self.own},
                      key=lambda problem: (self.plan.own_objectives.index(problem[0]), problem[1]))

    # -- tables: (header, rows) ------------------------------------------------------------
    def ecdf_table(self) -> tuple[list[str], list[list[str]]]:
        header = ["D", "method", *(label for label, _ in ECDF_COLUMNS)]
        rows = [[str(dim), method, *(_fraction(self.ecdf_at(method, dim, at(dim))) for _, at in ECDF_COLUMNS)]
                for dim in self.dims for method in self.methods if self.runs(method, dim)]
        return header, rows

    def speed_table(self) -> tuple[list[str], list[list[str]]]:
        header = ["method", *(f"evaluations/s {dim}-D" for dim in self.dims)]
        rows = [[method, *(_count(self.speed(method, dim)) for dim in self.dims)] for method in self.methods]
        return header, rows

    def own_table(self, at: Callable[[int], int], only_reaching: bool) -> tuple[list[str], list[list[str]]]:
        """Median results on the own objectives at ``at(D)`` evaluations; ``only_reaching``:
        only the methods with the long budget."""
        methods = [m for m in self.methods if not only_reaching or not is_expensive(m)]
        header = ["objective", "D", "measure", *methods]
        rows = []
        for objective, dim in self.own_problems():
            measure = "held-out loss" if objective == "lr-schedule" else "f − f_opt"
            rows.append([objective, str(dim), measure,
                         *(_value(self.own_median(m, objective, dim, at(dim))) for m in methods)])
        return header, rows

    # -- goals ---------------------------------------------------------------------------------
    def goals(self) -> list[str]:
        """The peer comparison's goals, each a PASS/FAIL line with its numbers (n/a: not measured)."""
        lines = []
        for at in (100, 300):
            neural = self.ecdf_at("neural", 5, at)
            lines.append(_at_least(f"neural ECDF ≥ 1.25× optuna-tpe's, BBOB 5-D at {at} evaluations",
                                   neural, 1.25, self.ecdf_at("optuna-tpe", 5, at), _fraction))
            lines.append(_at_least(f"neural ECDF ≥ optuna-cmaes's, BBOB 5-D at {at} evaluations",
                                   neural, 1.0, self.ecdf_at("optuna-cmaes", 5, at), _fraction))
        short = self.plan.expensive_budget
        for objective, dim in self.own_problems():
            lines.append(_at_most(f"neural median ≤ optuna-tpe's on {objective} {dim}-D at {short} evaluations",
                                  self.own_median("neural", objective, dim, short),
                                  self.own_median("optuna-tpe", objective, dim, short)))
        lines.append(_at_most(f"neural median step ≤ 20 ms at {self.plan.neural_step_at} observations "
                              "(seed 10-D, defaults)", self.step_ms, 20.0, unit=" ms"))
        top = self.plan.cheap_budget(10)
        lines.append(_at_least(f"genetic ECDF ≥ 0.8× pycma-ipop's, BBOB 10-D at {top:,} evaluations",
                               self.ecdf_at("genetic", 10, top), 0.8, self.ecdf_at("pycma-ipop", 10, top), _fraction))
        lines.append(_at_least("genetic evaluations/s ≥ 10× pycma-ipop's, BBOB 10-D", self.speed("genetic", 10),
                               10.0, self.speed("pycma-ipop", 10), _count))
        lines.append(_at_most(f"genetic median on rastrigin 10-D at {top:,} evaluations ≤ 1",
                              self.own_median("genetic", "rastrigin", 10, top), 1.0))
        for dim in self.dims:
            top = self.plan.cheap_budget(dim)
            lines.append(_at_least(f"evolution ECDF ≥ 0.95× pycma-ipop's, BBOB {dim}-D at {top:,} evaluations",
                                   self.ecdf_at("evolution", dim, top), 0.95,
                                   self.ecdf_at("pycma-ipop", dim, top), _fraction))
        lines.append(_at_least("evolution evaluations/s ≥ pycma-ipop's, BBOB 10-D", self.speed("evolution", 10),
                               1.0, self.speed("pycma-ipop", 10), _count))
        return lines


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "FAIL")


def _measured(*values: float | None) -> bool:
    return all(value is not None and not math.isnan(value) for value in values)


def _at_least(goal: str, ours: float, factor: float, theirs: float, show: Callable[[float], str]) -> str:
    ok = ours >= factor * theirs if _measured(ours, theirs) else None
    return f"{_verdict(ok)}  {goal}: {show(ours)} vs {show(theirs)}"


def _at_most(goal: str, ours: float | None, limit: float | None, unit: str = "") -> str:
    ok = ours <= limit if _measured(ours, limit) else None  # type: ignore[operator]
    def show(value: float | None) -> str:
        return _value(value) + (unit if _measured(value) else "")

    return f"{_verdict(ok)}  {goal}: {show(ours)} vs {show(limit)}"


def _fraction(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"


def _count(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:,.0f}"


def _value(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.3g}"


def _span(numbers: tuple[int, ...], prefix: str = "") -> str:
    """``f1–f24`` for a contiguous run of three or more, else ``f1, f15``."""
    if len(numbers) > 2 and list(numbers) == list(range(numbers[0], numbers[-1] + 1)):
        return f"{prefix}{numbers[0]}–{prefix}{numbers[-1]}"
    return ", ".join(f"{prefix}{number}" for number in numbers)


# -- output --------------------------------------------------------------------------------
def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)


def write_report(plan, methods: list[str], results: list[dict], step_ms: float | None, out: Path,
                 failures: list[str]) -> None:
    """Print the tables and goal checks; write them to ``out`` (summary.md, CSVs) with ecdf.png.
    ``failures``: runs that failed (named at the top: the figures then cover fewer problems)."""
    report = Report(plan, methods, results, step_ms)
    tables = {
        "ecdf": ("BBOB: ECDF (fraction of (function, target) pairs reached) at evaluations", report.ecdf_table()),
        "speed": ("BBOB: evaluations per second (wall-clock, imports excluded)", report.speed_table()),
        "own_short": (f"Own objectives: median over seeds at {plan.expensive_budget} evaluations",
                      report.own_table(lambda dim: plan.expensive_budget, only_reaching=False)),
        "own_long": ("Own objectives: median over seeds at 10⁴·D evaluations (search-based methods)",
                          report.own_table(plan.cheap_budget, only_reaching=True)),
    }
    sections = [f"Plan: {plan.name}.\n"]
    if failures:
        sections.append(f"**INCOMPLETE: {len(failures)} runs failed** (run again to retry them):\n\n"
                        + "\n".join(f"- {failure}" for failure in failures) + "\n")
    for name, (title, (header, rows)) in tables.items():
        write_csv(out / f"{name}.csv", header, rows)
        sections.append(f"## {title}\n\n{markdown(header, rows)}\n")
    step = "not measured" if step_ms is None else f"{step_ms:.1f} ms"
    sections.append(f"Neural median step at {plan.neural_step_at} observations (seed 10-D, defaults): {step}\n")
    sections.append("## Goal checks\n\n```\n" + "\n".join(report.goals()) + "\n```\n")
    text = "\n".join(sections)
    (out / "summary.md").write_text("# Peer benchmark\n\n" + text, encoding="utf-8")
    print("\n" + text)

    from peers_figure import ecdf_png

    panels = [(f"BBOB {dim}-D: {_span(plan.functions, 'f')}, "
               f"instance{'s' * (len(plan.instances[dim]) > 1)} {_span(plan.instances[dim])}", dim,
               {m: _curves(report.runs(m, dim)) for m in methods if report.runs(m, dim)}) for dim in report.dims]
    if panels:
        (out / "ecdf.png").write_bytes(ecdf_png(panels, methods, frozenset(LEARNERS)))
        print(f"wrote {out / 'ecdf.png'}, {out / 'summary.md'} and the tables as CSV")
