"""Learning from outcomes: running statistics per worker × category, shrunk towards a prior when read.

The stored figures are the worker's own record: a plain mean of their outcomes until it has `1/alpha` of them,
then an exponentially weighted mean (recent work counts more; people change). The prior comes in once, when
the figures are read (`estimate`): the category's typical values scaled by the worker's pooled record, blended
with their record on this category as it grows — so one lucky or unlucky case does not swing the scorer.
(Shrinking in both places, as an earlier version did, left a worker's first cases almost no weight.)
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


ALPHA = 0.1  # the weight of the newest outcome once the record is long (chosen on the tuning seeds)
PRIOR_WEIGHT = 2  # how many of the worker's own outcomes the prior is worth when reading (ditto)


def update(stats: Stats, outcome: Outcome, *, alpha: float = ALPHA) -> Stats:
    """Fold one outcome into the worker's running figures (a mean of their outcomes, then EWMA)."""
    step = max(alpha, 1.0 / (stats.n + 1))  # the first outcome replaces the starting values outright
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


def estimate(category_prior: Stats, overall: Stats | None, specific: Stats | None, *,
             prior_weight: float = PRIOR_WEIGHT) -> Stats:
    """What to expect of a worker on a category: their pooled record scaled to the category, blended with
    their record on this very category as it grows (a worker who is quick at everything is quick here too)."""
    base = category_prior
    if overall is not None and overall.n:
        k = overall.n / (overall.n + prior_weight)
        base = replace(base, handle_min=base.handle_min * ((1 - k) + k * overall.handle_min),
                       first_fix_rate=(1 - k) * base.first_fix_rate + k * overall.first_fix_rate,
                       satisfaction=(1 - k) * base.satisfaction + k * overall.satisfaction)
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


def rate(stats: Stats, rating: int, *, alpha: float = ALPHA) -> Stats:
    """Fold a later citizen rating into the satisfaction figure only."""
    step = max(alpha, 1.0 / (stats.n + 1))
    return replace(stats, satisfaction=stats.satisfaction + step * (rating - stats.satisfaction))


def typical_handle_min(handle_limit_min: float) -> float:
    """Prior handling time of a category: a fifth of its handling limit, between 10 and 90 minutes."""
    return min(90.0, max(10.0, 0.2 * handle_limit_min))
