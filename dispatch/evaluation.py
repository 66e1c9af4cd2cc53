"""Comparing dispatch policies honestly: tuning seeds apart from evaluation seeds, per-seed ratios and their spread.

A seed is a simulated day (arrivals, workers, their skills). Weights and model changes are tried on
TUNING_SEEDS only; figures that are reported come from EVALUATION_SEEDS, which no tuning ever ran on. Each
variant is a policy with simulator settings (camera checks on or off, learning on or off), all on the same
worlds. Used by `bench/dispatch_bench.py` and `flask dispatch simulate --seeds N`.
"""

from __future__ import annotations

import math
import multiprocessing
import statistics
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

from dispatch.simulator import PHASES, CategoryProfile, City, SimConfig, simulate

# Forty tuning days: a simulated day holds ~140 measured cases and a few left overnight swing its mean, so with
# five days a change had to move the ratio by 0.08 to be told from noise.
TUNING_SEEDS = tuple(range(1, 41))
EVALUATION_SEEDS = tuple(range(1001, 1031))  # never used while choosing weights or models

# name → settings over the base configuration
VARIANTS: dict[str, dict] = {
    "ours": {"policy": "ours"},
    "ours_no_learning": {"policy": "ours", "learning": False},
    "ours_oracle": {"policy": "ours", "oracle": True},  # knows every worker's true skill: the bound on learning
    "nearest": {"policy": "nearest"},
    "round_robin": {"policy": "round_robin"},
    "nearest_no_camera_checks": {"policy": "nearest", "camera_checks": False},  # the classic process
}
FIGURES = ("mean_close_min", "median_close_min", "p90_close_min", "on_time_pct", "rework_pct",
           "mean_satisfaction", "travel_km", "utilisation", "floor_close_min")


def run(city: City, profiles: list[CategoryProfile], seeds: Iterable[int], variants: Iterable[str], *,
        jobs: int = 1, **base) -> dict[str, list[dict]]:
    """Reports per variant, one per seed, in seed order; `jobs` processes run the days side by side."""
    seeds, variants = list(seeds), list(variants)
    configs = [SimConfig(**{**base, **VARIANTS[v], "seed": s}) for v in variants for s in seeds]
    if jobs > 1:  # each day is independent and CPU-bound: processes, not threads; spawned, not forked, because
        # the caller may hold threads and connections (the Flask CLI) that a fork would copy half-way
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            reports = list(pool.map(simulate, repeat(city), repeat(profiles), configs, chunksize=4))
    else:
        reports = [simulate(city, profiles, cfg) for cfg in configs]
    return {v: reports[i * len(seeds):(i + 1) * len(seeds)] for i, v in enumerate(variants)}


# Two-sided 97.5 % quantiles of Student's t for small samples (df 1–30); beyond, the normal 1.96.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def spread(values: list[float]) -> dict:
    """Mean, min, max and the 95 % confidence interval of the mean (Student's t) of per-seed values."""
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return {"n": n, "mean": mean, "min": mean, "max": mean, "ci95": [mean, mean]}
    half = (_T975[n - 2] if n - 1 <= len(_T975) else 1.96) * statistics.stdev(values) / math.sqrt(n)
    return {"n": n, "mean": mean, "min": min(values), "max": max(values), "ci95": [mean - half, mean + half]}


def ratios(results: dict[str, list[dict]], a: str, b: str, figure: str = "mean_close_min") -> list[float]:
    """Per-seed ratio of variant `a` to variant `b` on one figure."""
    return [ra[figure] / rb[figure] for ra, rb in zip(results[a], results[b], strict=True)]


def summary(results: dict[str, list[dict]]) -> dict:
    """Mean figures and mean time decomposition per variant, and the ratios to nearest-idle with their spread."""
    out = {"variants": {}, "ratios": {}}
    for v, reports in results.items():
        out["variants"][v] = {
            **{f: statistics.fmean(r[f] for r in reports if r[f] is not None) for f in FIGURES},
            "phases": {p: statistics.fmean(r["phases"][p] for r in reports) for p in PHASES},
        }
    if "nearest" in results:
        for v in results:
            if v != "nearest":
                out["ratios"][v] = {f: spread(ratios(results, v, "nearest", f))
                                    for f in ("mean_close_min", "p90_close_min")}
    return out


def text(seeds: list[int], results: dict[str, list[dict]], summ: dict) -> str:
    """The comparison as tables for people: figures, where the time goes, ratios to nearest idle with spread."""
    variants, width = list(summ["variants"]), 15
    lines = [f"{'figure':<18}" + "".join(f"{v[:width - 1]:>{width}}" for v in variants)]
    lines += [f"{f:<18}" + "".join(f"{summ['variants'][v][f]:>{width}.2f}" for v in variants) for f in FIGURES]
    lines += ["", "Time to close, where it goes (mean minutes per case)"]
    lines += [f"{p:<18}" + "".join(f"{summ['variants'][v]['phases'][p]:>{width}.1f}" for v in variants)
              for p in PHASES]
    lines += ["", "Per-seed ratio to nearest idle: mean [95 % interval] (min – max)"]
    for v, figs in summ["ratios"].items():
        lines += [f"  {v:<26}{f:<16}{sp['mean']:.3f} [{sp['ci95'][0]:.3f}, {sp['ci95'][1]:.3f}] "
                  f"({sp['min']:.3f} – {sp['max']:.3f})" for f, sp in figs.items()]
    if "ours" in results and "nearest" in results:
        lines += ["", "ours ÷ nearest, mean time to close, per seed: " + " ".join(
            f"{s}:{r:.2f}" for s, r in zip(seeds, ratios(results, "ours", "nearest"), strict=True))]
    return "\n".join(lines)
