"""Dispatch benchmark: policies side by side on simulated days the tuning never saw, and decision latency at scale.

    .venv/bin/python bench/dispatch_bench.py [--seeds 30] [--tuning] [--hours 10] [--workers 32] [--load 0.85]

Part 1 runs every variant of `dispatch.evaluation.VARIANTS` (ours, ours without learning, nearest idle, round
robin, nearest idle without camera checks) on the same simulated days — the first `--seeds` of
EVALUATION_SEEDS, or the TUNING_SEEDS with `--tuning` (the only ones to look at while changing weights or the
model) — and prints the mean figures, each variant's per-seed ratio to nearest idle with its spread (mean, min,
max, 95 % interval), the time decomposition (waiting for and travelling to each visit, the work, the camera's
check) and the per-seed ratios. Part 2 times `dispatch.routing.plan` — the production decision code — for one
round of 500 pending cases against 2,000 workers on a generated city, and prints p50/p99.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dispatch import evaluation, kpi  # noqa: E402
from dispatch.learning import prior  # noqa: E402
from dispatch.routing import CaseRequest, Weights, WorkerState, plan  # noqa: E402
from dispatch.simulator import City, profiles_from_categories  # noqa: E402


def compare(seeds: list[int], hours: float, workers: int, load: float, jobs: int = 1) -> dict:
    """Every variant on the same seeds: per-seed reports and their summary."""
    city = City.from_geojson(json.loads((ROOT / "app/seed/data/demo_grids.geojson").read_text()), seed=1)
    cats = yaml.safe_load((ROOT / "app/data/categories.yaml").read_text(encoding="utf-8"))["categories"]
    results = evaluation.run(city, profiles_from_categories(cats), seeds, evaluation.VARIANTS,
                             jobs=jobs, workers=workers, hours=hours, load=load)
    return {"seeds": seeds, "results": results, "summary": evaluation.summary(results)}


def latency(n_workers: int = 2000, n_cases: int = 500, rounds: int = 100, seed: int = 7) -> dict:
    """Time one routing round (500 pending × 2,000 workers) on a generated 50 × 40 grid city."""
    city = City.generated(50, 40, seed=seed)
    rng = random.Random(seed)
    cats = [f"c{i}" for i in range(20)]
    stats_table = {c: prior(rng.uniform(20, 60)) for c in cats}
    round_ms = []
    assigned = []
    for r in range(rounds + 1):  # round 0 warms up (imports, first calls) and is not counted
        workers = []
        for i in range(n_workers):
            g = city.grids[i % len(city.grids)]
            lon, lat = city.random_point(rng, g)
            workers.append(WorkerState(id=i, lon=lon, lat=lat, skills=frozenset(rng.sample(cats, 14)),
                                       grids=frozenset({g.id}), capacity=5, open_tasks=rng.randrange(0, 4),
                                       queued_min=rng.uniform(0, 40)))
        cases = []
        for j in range(n_cases):
            g = rng.choice(city.grids)
            lon, lat = city.random_point(rng, g)
            cases.append(CaseRequest(id=j, category=rng.choice(cats), lon=lon, lat=lat, grid_id=g.id,
                                     due_in_min=rng.uniform(60, 600), priority=rng.choice((1, 2, 3, 3, 3, 4))))
        t0 = time.perf_counter()
        p = plan(cases, workers, lambda _w, c: stats_table[c], Weights(), city.neighbours)
        if r:
            round_ms.append((time.perf_counter() - t0) * 1000)
            assigned.append(len(p.assignments))
    # The same Python on another machine runs at another speed: a fixed interpreter-bound yardstick, timed in the
    # same run (seconds for sum(range(10**7))), tells readers how to compare figures taken on different machines.
    t0 = time.perf_counter()
    sum(range(10_000_000))
    yardstick = time.perf_counter() - t0
    return {
        "workers": n_workers, "pending": n_cases, "rounds": rounds, "yardstick_s": round(yardstick, 3),
        "round_ms_p50": round(kpi.percentile(round_ms, 50), 1),
        "round_ms_p99": round(kpi.percentile(round_ms, 99), 1),
        "per_case_ms_p99": round(kpi.percentile(round_ms, 99) / n_cases, 3),
        "assigned_per_round": round(statistics.mean(assigned), 1),
    }


def main() -> None:
    """Print both parts as tables (and JSON with --json)."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=30, help="how many evaluation seeds")
    ap.add_argument("--tuning", action="store_true", help="run the tuning seeds instead (while changing weights)")
    ap.add_argument("--hours", type=float, default=10)
    ap.add_argument("--workers", type=int, default=32)
    ap.add_argument("--load", type=float, default=0.85)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="days simulated side by side")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    seeds = list(evaluation.TUNING_SEEDS if args.tuning else evaluation.EVALUATION_SEEDS[:args.seeds])
    out = compare(seeds, args.hours, args.workers, args.load, args.jobs)
    lat = latency()  # after the pool is gone: nothing else runs while the round is timed
    if args.json:
        print(json.dumps({"seeds": seeds, "summary": out["summary"], "latency": lat}, indent=1))
        return
    print(f"Policies on the demo district: {args.workers} workers, {args.hours} h measured after 14 days of history, "
          f"target load {args.load}, {'TUNING' if args.tuning else 'evaluation'} seeds {seeds[0]}–{seeds[-1]} "
          f"({len(seeds)})")
    print(evaluation.text(out["seeds"], out["results"], out["summary"]))
    print()
    print(f"Decision latency: one round of {lat['pending']} pending cases × {lat['workers']} workers, "
          f"{lat['rounds']} rounds")
    for k in ("round_ms_p50", "round_ms_p99", "per_case_ms_p99", "assigned_per_round", "yardstick_s"):
        print(f"  {k:<20}{lat[k]:>10}")


if __name__ == "__main__":
    main()
