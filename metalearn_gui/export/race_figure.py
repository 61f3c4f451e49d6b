"""A race's loss-vs-evaluations figure, drawn by the plot the window uses (PNG or SVG)."""

from __future__ import annotations

import pyqtgraph as pg

from metalearn_gui.core.objectives import make_objective
from metalearn_gui.core.race_config import RaceConfig
from metalearn_gui.core.race_results import Standing, band
from metalearn_gui.export.figures import render_panel
from metalearn_gui.plots.race_plot import RacePlot


def race_title(config: RaceConfig) -> str:
    objective = make_objective(config.objective, config.dim)
    seeds = config.seed_values
    return (f"Best loss — race on {objective.name} ({objective.dim}-D), median and interquartile range "
            f"over {len(seeds)} seed{'s' if len(seeds) > 1 else ''}")


def render_race_figure(config: RaceConfig, standings: list[Standing], fmt: str, scale: int = 1,
                       log_x: bool = False) -> bytes:
    """Each entrant's median best loss and interquartile band over its seeds, against
    evaluations (log-scaled if ``log_x``), as PNG or SVG bytes. Entrants keep their
    colour by their place in ``config`` (the leaderboard reorders them)."""
    order = [entrant.label for entrant in config.entrants]
    optimum = make_objective(config.objective, config.dim).optimum_value

    def draw() -> tuple[RacePlot, pg.PlotItem]:
        panel = RacePlot()
        bands: list = [(label, None) for label in order]
        for standing in standings:
            bands[order.index(standing.entrant.label)] = (standing.entrant.label,
                                                          band(standing.runs, log_x=log_x))
        panel.set_bands(bands, optimum, log_x)
        return panel, panel.plot

    return render_panel(draw, race_title(config), fmt, scale)
