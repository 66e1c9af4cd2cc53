"""Where problems are expected next: a self-exciting point process per H3 cell × category, fitted by EM.

The rate of new problems of category k in cell c at time t is

    λ(c, k, t) = μ[c, k] · τ[k, hour of week(t)]  +  Σ_j θ[k] · ω e^(−ω (t − t_j)) · w[d(c, c_j)] / n[d]

— a background that differs by place and time of week, plus the short rise after each recent problem j of the
same category nearby (d: hexagon rings, up to `Settings.radius`; n[d]: cells in ring d). This is the ETAS-style
model of Mohler et al. (2011, 2015), used for predictive patrols, on a hexagon lattice. Expectation-maximisation
(Veen & Schoenberg 2008) splits each past problem between "background" and "set off by an earlier one", and
re-estimates μ, τ, θ, ω and w from that split:

- μ is shrunk towards a smoothed map of the cell's all-category total times the category's share (most
  cell × category pairs have seen zero or one problem), and recent weeks count more (`half_life_weeks`), since
  places change;
- τ is a smoothed hour-of-week histogram per category shrunk towards the all-category one;
- θ (expected offspring per problem) per category is shrunk towards the overall value.

`Forecaster.expected(t0, hours)` integrates λ over a window: the map of expected problems per cell (per
category, or weighted by severity) that patrol plans and the console's heatmap use. `hotspot_map` is the
baseline the literature compares against: last month's counts.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from patrol.cells import Cells

HOURS_PER_WEEK = 168


@dataclass(frozen=True)
class Settings:
    """The forecast's choices (chosen on `patrol.history.TUNING_SEEDS` only)."""

    radius: int = 2  # rings the short-term rise spreads over
    window_h: float = 21 * 24  # parents further back than this are ignored
    half_life_weeks: float = 6.0  # weight of older history in the background
    shrink: float = 2.0  # pseudo-weeks of the smoothed prior in each cell × category background
    smooth: float = 0.5  # share of a cell's prior taken from its ring-1 neighbours
    hour_shrink: float = 20.0  # pseudo-events of the all-category hour-of-week profile per category
    theta_shrink: float = 20.0  # pseudo-events of the overall offspring rate per category
    iterations: int = 25


@dataclass
class Events:
    """Past problems as arrays: time (hours), cell index, category index."""

    t: np.ndarray
    cell: np.ndarray
    cat: np.ndarray

    @classmethod
    def of(cls, rows: Iterable[tuple[float, int, int]]) -> Events:
        """From (t, cell index, category index) rows; sorted by time."""
        arr = sorted(rows)
        return cls(np.array([r[0] for r in arr], float), np.array([r[1] for r in arr], int),
                   np.array([r[2] for r in arr], int))

    def before(self, t0: float) -> Events:
        """Those before t0."""
        keep = self.t < t0
        return Events(self.t[keep], self.cell[keep], self.cat[keep])

    def between(self, t0: float, t1: float) -> Events:
        """Those in [t0, t1)."""
        keep = (self.t >= t0) & (self.t < t1)
        return Events(self.t[keep], self.cell[keep], self.cat[keep])

    def __len__(self) -> int:
        return len(self.t)


def _smooth_hours(hist: np.ndarray) -> np.ndarray:
    """Circular smoothing over the hour of week (a 1-2-1 kernel twice) — 168 bins are many for a few events."""
    for _ in range(2):
        hist = 0.25 * np.roll(hist, 1, axis=-1) + 0.5 * hist + 0.25 * np.roll(hist, -1, axis=-1)
    return hist


class Forecaster:
    """The model for one district: fitted on its history, asked for expected problems per cell over a window."""

    def __init__(self, cells: Cells, n_categories: int, settings: Settings = Settings()):
        self.cells, self.K, self.s = cells, n_categories, settings
        if cells.radius < settings.radius:
            raise ValueError("the cells' neighbour rings are shorter than the forecast's radius")
        C = len(cells)
        self.mu = np.zeros((C, self.K))  # background problems per hour (at an average hour of the week)
        self.tau = np.ones((self.K, HOURS_PER_WEEK))
        self.theta = np.zeros(self.K)
        self.omega = 1 / 24.0
        self.w = np.array([1.0] + [0.0] * settings.radius)
        self.history = Events.of([])
        self.fitted_until = 0.0
        self._ring_cells = np.array(cells.ring_sizes()[: settings.radius + 1], float)
        # Neighbour pairs within the radius, as arrays: (cell, other, ring).
        pairs = [(a, b, d) for a, near in enumerate(cells.rings) for b, d in near if d <= settings.radius]
        self._pa, self._pb, self._pd = (np.array(x, int) for x in zip(*pairs, strict=True))
        self._ring1 = [[b for b, d in near if d == 1] for near in cells.rings]
        self._spread = None

    # --- fitting ---
    def _parents(self, ev: Events) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Candidate (child, parent, Δt, ring) pairs: same category, parent earlier within the window and radius."""
        by_key: dict[tuple[int, int], list[int]] = {}
        for i, (c, k) in enumerate(zip(ev.cell.tolist(), ev.cat.tolist(), strict=True)):
            by_key.setdefault((c, k), []).append(i)
        key_times = {key: [float(ev.t[j]) for j in idx] for key, idx in by_key.items()}
        ci, pj, dd = [], [], []
        times = ev.t
        for i in range(len(ev)):
            c, k, t = int(ev.cell[i]), int(ev.cat[i]), float(times[i])
            for b, d in self.cells.rings[c]:
                if d > self.s.radius or (b, k) not in by_key:
                    continue
                idx, ts = by_key[(b, k)], key_times[(b, k)]
                # Parents lie in (t - window, t): both ends found by bisection in the key's time-ordered list.
                for n in range(bisect_left(ts, t - self.s.window_h), bisect_left(ts, t)):
                    if ts[n] > t - self.s.window_h:
                        ci.append(i)
                        pj.append(idx[n])
                        dd.append(d)
        ci, pj = np.array(ci, int), np.array(pj, int)
        return ci, pj, times[ci] - times[pj], np.array(dd, int)

    def fit(self, history: Events, until: float) -> Forecaster:
        """Fit on the problems before `until` (hours since the history's Monday 00:00)."""
        ev = history.before(until)
        self.history, self.fitted_until = ev, until
        if not len(ev):
            return self
        s = self.s
        how = np.floor(ev.t).astype(int) % HOURS_PER_WEEK
        recency = 0.5 ** ((until - ev.t) / HOURS_PER_WEEK / s.half_life_weeks)
        # The hours of history the recency-weighted counts stand for, weighted the same way.
        hours = np.arange(float(ev.t.min()), until, 1.0)
        exposure = float((0.5 ** ((until - hours) / HOURS_PER_WEEK / s.half_life_weeks)).sum())
        ci, _, dt, dd = self._parents(ev)
        # Start: everything background, a modest rise (EM needs a non-zero start to find one).
        p_bg, p_trig = np.ones(len(ev)), np.zeros(len(ci))
        self._m_step(ev, how, recency, exposure, p_bg, p_trig, ci, dt, dd, until)
        self.theta[:] = 0.2
        self.omega, self.w = 1 / 24.0, np.full(s.radius + 1, 1 / (s.radius + 1))
        for _ in range(s.iterations):
            # E-step: each problem's split between the background and its possible parents.
            bg = self.mu[ev.cell, ev.cat] * self.tau[ev.cat, how]
            trig = (self.theta[ev.cat[ci]] * self.omega * np.exp(-self.omega * dt) * self.w[dd]
                    / self._ring_cells[dd])
            denom = bg.copy()
            np.add.at(denom, ci, trig)
            p_bg, p_trig = bg / denom, trig / denom[ci]
            self._m_step(ev, how, recency, exposure, p_bg, p_trig, ci, dt, dd, until)
        self._spread = self._spread_matrix()
        return self

    def _m_step(self, ev, how, recency, exposure, p_bg, p_trig, ci, dt, dd, until) -> None:
        """Re-estimate μ, τ, θ, ω and w from the current split."""
        C, K, s = len(self.cells), self.K, self.s
        counts = np.zeros((C, K))
        np.add.at(counts, (ev.cell, ev.cat), p_bg * recency)
        total = counts.sum(axis=1)
        around = np.array([total[nb].mean() if nb else total[i] for i, nb in enumerate(self._ring1)])
        prior_cell = (1 - s.smooth) * total + s.smooth * around
        share = counts.sum(axis=0) + 1e-9
        share = share / share.sum()
        pseudo = s.shrink * HOURS_PER_WEEK / exposure  # the prior weighs as much as `shrink` weeks of data
        self.mu = (counts + pseudo * prior_cell[:, None] * share[None, :]) / (exposure * (1 + pseudo))
        hist = np.zeros((K, HOURS_PER_WEEK))
        np.add.at(hist, (ev.cat, how), p_bg)
        overall = _smooth_hours(hist.sum(axis=0) + 1e-9)
        hist = _smooth_hours(hist) + s.hour_shrink * overall[None, :] / overall.sum()
        self.tau = hist / hist.mean(axis=1, keepdims=True)
        if not len(ci):
            self.theta[:] = 0.0
            return
        offspring = np.bincount(ev.cat[ci], weights=p_trig, minlength=K)
        # Parents near the end have had less time to show their offspring: count only the time they had.
        room = 1 - np.exp(-self.omega * np.minimum(until - ev.t, s.window_h))
        parents = np.bincount(ev.cat, weights=room, minlength=K)
        overall_theta = offspring.sum() / max(parents.sum(), 1e-9)
        self.theta = np.clip((offspring + s.theta_shrink * overall_theta) / (parents + s.theta_shrink), 0, 0.95)
        self.omega = float(p_trig.sum() / max((p_trig * dt).sum(), 1e-9))
        ring_mass = np.bincount(dd, weights=p_trig, minlength=s.radius + 1) + 1e-3
        self.w = ring_mass / ring_mass.sum()

    def _spread_matrix(self):
        """S[c, b]: the share of a problem's rise at c that falls on cell b (w by ring, even within a ring)."""
        from scipy.sparse import csr_matrix

        share = self.w[self._pd] / self._ring_cells[self._pd]
        n = len(self.cells)
        return csr_matrix((share, (self._pa, self._pb)), shape=(n, n))

    # --- keeping ---
    def to_dict(self) -> dict:
        """The fitted model as plain JSON-able values (kept between processes; `from_dict` reads it back)."""
        return {"cells": self.cells.ids, "categories": self.K, "settings": asdict(self.s),
                "mu": self.mu.tolist(), "tau": self.tau.tolist(), "theta": self.theta.tolist(),
                "omega": self.omega, "w": self.w.tolist(), "fitted_until": self.fitted_until}

    @classmethod
    def from_dict(cls, d: dict) -> Forecaster:
        """A model written by `to_dict` (without its history: pass the recent problems to `expected`)."""
        settings = Settings(**d["settings"])
        model = cls(Cells(d["cells"], radius=settings.radius), int(d["categories"]), settings)
        model.mu, model.tau = np.array(d["mu"], float), np.array(d["tau"], float)
        model.theta, model.w = np.array(d["theta"], float), np.array(d["w"], float)
        model.omega, model.fitted_until = float(d["omega"]), float(d["fitted_until"])
        model._spread = model._spread_matrix()
        return model

    # --- forecasting ---
    def expected(self, t0: float, hours: float, history: Events | None = None,
                 weights: Sequence[float] | None = None, by_category: bool = False) -> np.ndarray:
        """Expected problems per cell in [t0, t0 + hours): summed over categories (each times its weight), or a
        cells × categories array. `history` (default: what it was fitted on) gives the recent problems whose rise
        counts; problems at or after t0 are ignored."""
        h = np.arange(math.floor(t0), math.ceil(t0 + hours))
        frac = np.clip(np.minimum(h + 1, t0 + hours) - np.maximum(h, t0), 0, 1)
        tau_sum = (self.tau[:, h % HOURS_PER_WEEK] * frac[None, :]).sum(axis=1)  # per category
        out = self.mu * tau_sum[None, :]
        recent = (history if history is not None else self.history).between(t0 - self.s.window_h, t0)
        if len(recent) and self._spread is not None:
            age = t0 - recent.t
            mass = self.theta[recent.cat] * (np.exp(-self.omega * age) - np.exp(-self.omega * (age + hours)))
            at = np.zeros_like(out)
            np.add.at(at, (recent.cell, recent.cat), mass)
            out = out + self._spread.T @ at
        if by_category:
            return out
        return out @ (np.ones(self.K) if weights is None else np.asarray(weights, float))


def hotspot_map(history: Events, n_cells: int, t0: float, days: float = 28.0) -> np.ndarray:
    """The usual baseline: each cell's count of problems in the `days` before t0."""
    recent = history.between(t0 - days * 24, t0)
    return np.bincount(recent.cell, minlength=n_cells).astype(float)


def flagged(scores: np.ndarray, share: float, tiebreak: np.ndarray) -> np.ndarray:
    """Indices of the top `share` of cells by score; equal scores (a map of counts has many) ordered by
    `tiebreak` (random numbers, one per cell)."""
    k = max(1, round(share * len(scores)))
    return np.lexsort((tiebreak, -scores))[:k]
