"""Learning from outcomes: exponentially weighted statistics per worker × category, with a prior.

A new worker starts from the category's prior (as if they had `prior_weight` average outcomes), so one
lucky or unlucky case does not swing the scorer; later closes move the figures by `alpha` each.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Outcome:
    """What one closed case taught us about its handler."""

    handle_min: float  # from acceptance to feedback
    first_time_fix: bool  # closed without rework
    rating: int | None = None  # citizen rating 1–5, when given


@dataclass(frozen=True)
class Stats:
    """Running figures for one worker × category."""

    n: int
    handle_min: float
    first_fix_rate: float
    satisfaction: float  # 1–5

    @property
    def rework_rate(self) -> float:
        """Share of cases that needed rework."""
        return 1.0 - self.first_fix_rate


def prior(category_handle_min: float) -> Stats:
    """What we assume of someone we have not seen handle this category yet."""
    return Stats(n=0, handle_min=category_handle_min, first_fix_rate=0.9, satisfaction=4.0)


def update(stats: Stats, outcome: Outcome, *, alpha: float = 0.2, prior_weight: int = 3) -> Stats:
    """Fold one outcome into the running figures (EWMA; the first outcomes weigh less against the prior)."""
    # The prior counts as `prior_weight` observations: a running mean until its step falls to alpha, then EWMA.
    step = max(alpha, 1.0 / (stats.n + prior_weight + 1))
    sat = stats.satisfaction
    if outcome.rating is not None:
        sat += step * (outcome.rating - sat)
    return replace(
        stats,
        n=stats.n + 1,
        handle_min=stats.handle_min + step * (outcome.handle_min - stats.handle_min),
        first_fix_rate=stats.first_fix_rate + step * (float(outcome.first_time_fix) - stats.first_fix_rate),
        satisfaction=sat,
    )


OVERALL = "*"  # the category key of a worker's pooled statistics


def overall_prior() -> Stats:
    """Pooled figures of an unknown worker; `handle_min` holds the ratio of actual to expected time."""
    return Stats(n=0, handle_min=1.0, first_fix_rate=0.9, satisfaction=4.0)


def estimate(category_prior: Stats, overall: Stats | None, specific: Stats | None, *, prior_weight: int = 3) -> Stats:
    """What to expect of a worker on a category: their pooled record scaled to the category, blended with
    their record on this very category as it grows (a worker who is quick at everything is quick here too)."""
    base = category_prior
    if overall is not None and overall.n:
        base = replace(base, handle_min=base.handle_min * overall.handle_min,
                       first_fix_rate=overall.first_fix_rate, satisfaction=overall.satisfaction)
    if specific is None or not specific.n:
        return base
    k = specific.n / (specific.n + prior_weight)
    return Stats(
        n=specific.n,
        handle_min=(1 - k) * base.handle_min + k * specific.handle_min,
        first_fix_rate=(1 - k) * base.first_fix_rate + k * specific.first_fix_rate,
        satisfaction=(1 - k) * base.satisfaction + k * specific.satisfaction,
    )


def learn(table: dict, worker_id: int, category: str, category_prior: Stats, outcome: Outcome, **kw) -> None:
    """Fold an outcome into both the worker × category and the worker's pooled figures in `table`."""
    key = (worker_id, category)
    table[key] = update(table.get(key) or category_prior, outcome, **kw)
    pooled = replace(outcome, handle_min=outcome.handle_min / max(category_prior.handle_min, 1e-6))
    okey = (worker_id, OVERALL)
    table[okey] = update(table.get(okey) or overall_prior(), pooled, **kw)


def rate(stats: Stats, rating: int, *, alpha: float = 0.2, prior_weight: int = 3) -> Stats:
    """Fold a later citizen rating into the satisfaction figure only."""
    step = max(alpha, 1.0 / (stats.n + prior_weight + 1))
    return replace(stats, satisfaction=stats.satisfaction + step * (rating - stats.satisfaction))


def typical_handle_min(handle_limit_min: float) -> float:
    """Prior handling time of a category: a fifth of its handling limit, between 10 and 90 minutes."""
    return min(90.0, max(10.0, 0.2 * handle_limit_min))
