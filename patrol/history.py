"""Generated district histories with known answers: where and when problems appear, week after week.

A forecast is only as good as the data it is judged on, and a district's own history is the real test; this
generator gives the repeatable part — many districts, each from a seed — with the features a forecast must cope
with and must not be built around:

- **Places**: each category's background rate per H3 cell is a spatially correlated random field (markets, school
  gates, old residential blocks cluster), different per category family, most cells quiet.
- **Time of week**: vendors at lunch and in the evening and more at weekends, garbage in the morning and evening,
  facilities in the daytime, advertising on working days.
- **Drift**: every cell's rate wanders week by week (a market opens, enforcement clears a corner), so last
  month's map is right only in part.
- **Recurrence**: a problem makes more nearby for a while (a vendor comes back the next days at about the same
  hour; garbage left out draws more) — offspring at the same cell or a neighbour, often about a day later, which
  an exponential decay, the usual self-exciting model, describes only roughly.

Times are hours since the history's start, which is a Monday 00:00 local time. `TUNING_SEEDS` are the only ones
any setting of the forecast was chosen on; `EVAL_SEEDS` are for reporting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import h3
import numpy as np

from patrol.cells import RESOLUTION

HOURS_PER_WEEK = 168
TUNING_SEEDS = tuple(range(1, 9))
EVAL_SEEDS = tuple(range(201, 211))


@dataclass(frozen=True)
class Event:
    """One problem: when (hours since start), where (H3 cell) and what (category code)."""

    t: float
    cell: str
    category: str


@dataclass(frozen=True)
class Family:
    """Categories that share places and hours."""

    name: str
    categories: tuple[str, ...]
    share: float  # of all problems
    peaks: tuple[tuple[float, float, float], ...]  # (hour of day, width h, height)
    weekend: float  # weekend multiplier
    excite: float  # expected offspring per problem (branching ratio)
    back_next_day: float  # of those offspring, the share that come back about 24 h later


FAMILIES = (
    Family("vending", ("mobile_vendor", "road_occupation", "storefront_business", "illegal_umbrella"), 0.30,
           ((12.0, 1.5, 1.0), (19.0, 2.0, 1.4)), 1.5, 0.45, 0.6),
    Family("waste", ("exposed_garbage", "bagged_garbage", "bin_overflow", "bin_uncovered", "material_piling"), 0.32,
           ((8.0, 1.5, 1.2), (20.0, 1.5, 0.8)), 1.2, 0.35, 0.5),
    Family("facilities", ("road_damage", "manhole_abnormal", "greenery_damage", "parking_lock", "streetlight_fault"),
           0.18, ((14.0, 4.0, 1.0),), 1.0, 0.10, 0.1),
    Family("advertising", ("outdoor_advertising", "banner", "inflatable_arch", "graffiti"), 0.12,
           ((10.0, 2.5, 1.0), (15.0, 2.5, 0.8)), 0.5, 0.25, 0.3),
    Family("street", ("street_drying", "bike_parking", "illegal_parking"), 0.08,
           ((9.0, 2.0, 0.8), (17.0, 2.5, 1.0)), 1.3, 0.30, 0.5),
)
CATEGORIES = tuple(c for f in FAMILIES for c in f.categories)


def district_cells(seed: int, rings: int = 14, res: int = RESOLUTION) -> list[str]:
    """A roughly round district of 3·r·(r+1)+1 cells (631 at 14 rings ≈ 9.5 km² at resolution 10)."""
    rng = np.random.default_rng(seed)
    lat, lon = 30.0 + rng.uniform(-0.5, 0.5), 120.0 + rng.uniform(-0.5, 0.5)
    return sorted(h3.grid_disk(h3.latlng_to_cell(lat, lon, res), rings))


def week_profile(family: Family) -> np.ndarray:
    """Relative rate by hour of week (mean 1)."""
    hours = np.arange(HOURS_PER_WEEK)
    hod, dow = hours % 24, hours // 24
    rate = np.full(HOURS_PER_WEEK, 0.08)  # night
    for peak, width, height in family.peaks:
        d = np.minimum(np.abs(hod - peak), 24 - np.abs(hod - peak))
        rate = rate + height * np.exp(-(d ** 2) / (2 * width ** 2))
    rate = rate * np.where(dow >= 5, family.weekend, 1.0)
    return rate / rate.mean()


def _field(rng: np.random.Generator, cells: list[str], neighbours: list[list[int]], sigma: float,
           passes: int) -> np.ndarray:
    """A spatially correlated log-normal field: white noise smoothed over neighbours, then exponentiated."""
    z = rng.normal(0, 1, len(cells))
    for _ in range(passes):
        z = np.array([(z[i] + z[nb].sum()) / (1 + len(nb)) for i, nb in enumerate(neighbours)])
    z = (z - z.mean()) / (z.std() or 1)
    return np.exp(sigma * z)


def generate(seed: int, weeks: int = 16, per_day: float | None = None, rings: int = 14) -> tuple[list[str],
                                                                                                   list[Event]]:
    """A district's cells and its problems over `weeks` weeks (sorted by time)."""
    rng = np.random.default_rng(seed)
    cells = district_cells(seed, rings)
    index = {c: i for i, c in enumerate(cells)}
    neighbours = [[index[o] for o in h3.grid_ring(c, 1) if o in index] for c in cells]
    per_day = per_day or float(rng.uniform(40, 90))
    hours = weeks * HOURS_PER_WEEK
    common = _field(rng, cells, neighbours, sigma=1.0, passes=3)  # busy streets, for every family
    events: list[Event] = []
    for family in FAMILIES:
        profile = week_profile(family)
        place = common * _field(rng, cells, neighbours, sigma=1.1, passes=2)  # the family's own places
        place = place / place.sum()
        # Drift: a log-rate random walk per cell, week by week, smoothed so neighbours drift together.
        walk = np.cumsum(rng.normal(0, 0.25, (weeks, len(cells))), axis=0)
        walk = np.array([[(w[i] + w[nb].sum()) / (1 + len(nb)) for i, nb in enumerate(neighbours)] for w in walk])
        drift = np.exp(walk - walk.mean(axis=1, keepdims=True))
        # Background problems per hour for the family: the branching adds excite / (1 - excite) on top.
        base = per_day / 24 * family.share * (1 - family.excite)
        cat_weights = rng.dirichlet(np.full(len(family.categories), 3.0))
        for h in range(hours):
            lam = base * profile[h % HOURS_PER_WEEK] * place * drift[h // HOURS_PER_WEEK]
            n = rng.poisson(lam)
            for ci in np.nonzero(n)[0]:
                for _ in range(n[ci]):
                    cat = family.categories[rng.choice(len(family.categories), p=cat_weights)]
                    events.append(Event(h + rng.uniform(0, 1), cells[ci], cat))
        # Recurrence: every problem of the family (background or not) may bring more, generation after generation.
        queue = [e for e in events if e.category in family.categories]
        while queue:
            parent = queue.pop()
            for _ in range(rng.poisson(family.excite)):
                if rng.random() < family.back_next_day:
                    dt = 24.0 * rng.integers(1, 4) + rng.normal(0, 1.0)  # back 1–3 days later, about the hour
                else:
                    dt = rng.exponential(36.0)
                t = parent.t + max(0.1, dt)
                if t >= hours:
                    continue
                ring = rng.choice(3, p=(0.6, 0.3, 0.1))
                options = [o for o in h3.grid_ring(parent.cell, int(ring)) if o in index] or [parent.cell]
                child = Event(t, options[rng.integers(len(options))], parent.category)
                events.append(child)
                queue.append(child)
    events.sort(key=lambda e: e.t)
    return cells, events


def hour_of_week(t: float) -> int:
    """0…167 for hours since a Monday 00:00."""
    return int(math.floor(t)) % HOURS_PER_WEEK
