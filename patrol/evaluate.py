"""Judging a forecast as the predictive-policing literature does: hit rate and PAI on held-out weeks.

For every window (a day by default) of the held-out weeks the forecast — fitted only on what came before the
week, told of the problems before the window — flags the top 5 % and 10 % of the district's cells; the **hit
rate** is the share of the window's problems that fell in flagged cells, the **PAI** (predictive accuracy
index) that share divided by the share of area flagged. The baseline is last month's hotspot map: the 28 days'
counts before the window. Cells are equal-area hexagons, so the share of cells is the share of area.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dispatch.evaluation import spread
from patrol.cells import Cells
from patrol.forecast import Events, Forecaster, Settings, flagged, hotspot_map
from patrol.history import HOURS_PER_WEEK, Event, generate

SHARES = (0.05, 0.10)
METHODS = ("forecast", "hotspot")


def as_events(cells: Cells, categories: Sequence[str], rows: Sequence[Event]) -> Events:
    """Events in the district's cells (others dropped) with their categories as indices."""
    cat = {c: i for i, c in enumerate(categories)}
    return Events.of((e.t, cells.index[e.cell], cat[e.category]) for e in rows
                     if e.cell in cells.index and e.category in cat)


def held_out(cells: Cells, n_categories: int, events: Events, first_week: int, weeks: int, *,
             horizon_h: float = 24.0, settings: Settings = Settings(), seed: int = 0) -> dict:
    """Hits per method and share over the windows of `weeks` weeks starting at `first_week` (refitted weekly)."""
    rng = np.random.default_rng(seed)  # ties in the hotspot map are broken at random, the same for every share
    hits = {m: dict.fromkeys(SHARES, 0) for m in METHODS}
    total = windows = 0
    for week in range(first_week, first_week + weeks):
        start = week * HOURS_PER_WEEK
        model = Forecaster(cells, n_categories, settings).fit(events, until=start)
        for t0 in np.arange(start, start + HOURS_PER_WEEK, horizon_h):
            actual = events.between(t0, t0 + horizon_h)
            if not len(actual):
                continue
            scores = {"forecast": model.expected(t0, horizon_h, history=events.before(t0)),
                      "hotspot": hotspot_map(events, len(cells), t0)}
            draw = rng.random(len(cells))
            for method, score in scores.items():
                for share in SHARES:
                    chosen = np.zeros(len(cells), bool)
                    chosen[flagged(score, share, draw)] = True
                    hits[method][share] += int(chosen[actual.cell].sum())
            total += len(actual)
            windows += 1
    out = {"problems": total, "windows": windows}
    for method in METHODS:
        for share in SHARES:
            rate = hits[method][share] / total if total else 0.0
            area = max(1, round(share * len(cells))) / len(cells)
            out[f"{method}_hit_{share:.2f}"] = rate
            out[f"{method}_pai_{share:.2f}"] = rate / area
    return out


def synthetic(seeds: Sequence[int], *, weeks: int = 16, test_weeks: int = 4, horizon_h: float = 24.0,
              settings: Settings = Settings()) -> dict:
    """Per seed and over seeds, on generated districts (`patrol.history`): the last `test_weeks` are held out."""
    from patrol.history import CATEGORIES

    rows = []
    for seed in seeds:
        ids, generated = generate(seed, weeks=weeks)
        cells = Cells(ids, radius=settings.radius)
        events = as_events(cells, CATEGORIES, generated)
        row = held_out(cells, len(CATEGORIES), events, weeks - test_weeks, test_weeks, horizon_h=horizon_h,
                       settings=settings, seed=seed)
        rows.append({"seed": seed, "cells": len(cells), **row})
    return {"seeds": rows, "summary": summary(rows)}


def summary(rows: Sequence[dict]) -> dict:
    """Spread over seeds of every figure, and of the forecast ÷ hotspot ratio of hit rates."""
    out = {}
    for share in SHARES:
        for method in METHODS:
            for figure in ("hit", "pai"):
                key = f"{method}_{figure}_{share:.2f}"
                out[key] = spread([r[key] for r in rows])
        out[f"ratio_{share:.2f}"] = spread([r[f"forecast_hit_{share:.2f}"] / r[f"hotspot_hit_{share:.2f}"]
                                           for r in rows if r[f"hotspot_hit_{share:.2f}"]])
    return out
