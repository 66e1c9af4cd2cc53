"""Labelled duplicate pairs from a generated district: the same problem reported differently, and different
problems close together.

No city's labelled duplicates are public, so this writes them: problems appear on streets (a third of them close
to an earlier one, often of the same category — two overflowing bins on one corner), last hours to days, and are
reported by cameras (exact category, photo, no words), citizens (words and usually a photo, a pin a few tens of
metres off, sometimes the wrong category), inspectors and the hotline (words only, an address geocoded 50–150 m
off). Words come from the catalogue's phrases with the place said or not, typos and English; photos are small
drawn scenes — a street's look with the problem in it, seen again shifted, scaled, lighter or darker and noisier.
Seeds 1–8 are for tuning (`duplicates.fit`); evaluate on others. Pure: no Flask, no database.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from intel.duplicates import SEARCH_HOURS, SEARCH_M, Sighting, distance_m, precision_recall

TUNING_SEEDS = tuple(range(1, 9))
EVAL_SEEDS = tuple(range(201, 211))
ORIGIN = (104.06, 30.66)
SIDE_M = 2000.0
_STREETS = ["人民路", "建设路", "解放路", "中山路", "和平街", "东风路", "文化路", "胜利街", "青年路", "新华路",
            "红星路", "长顺街"]
_SPOTS = ["门口", "对面", "旁边", "路口", "小区东门", "公交站旁", "学校附近", "菜市场边上", "超市门前", "桥下"]
_EN_SPOTS = ["near the gate", "opposite the shop", "by the bus stop", "at the corner", "next to the school"]


@dataclass(frozen=True)
class _Problem:
    pid: int
    category: str
    x: float
    y: float
    start: float
    end: float
    street: int
    number: int
    spot: int
    look: int  # seed of the scene around it
    thing: int  # seed of the problem's own appearance


def _xy_to_lonlat(x: float, y: float) -> tuple[float, float]:
    return (ORIGIN[0] + x / (111_320.0 * math.cos(math.radians(ORIGIN[1]))), ORIGIN[1] + y / 110_540.0)


def _scene(look: int, thing: int, rng: random.Random) -> np.ndarray:
    """A 64×64 grey photo: the place's look (blocks, stable per 100 m of street) with the problem in it."""
    base = np.random.default_rng(look)
    img = np.full((80, 80), float(base.integers(90, 170)))
    for _ in range(6):  # buildings, road, kerb
        x0, y0 = base.integers(0, 70, 2)
        img[y0:y0 + base.integers(8, 40), x0:x0 + base.integers(8, 40)] = base.integers(30, 230)
    obj = np.random.default_rng(thing + 1_000_003)
    for _ in range(3):  # the problem itself: a few blobs where the reporter points the phone
        cy, cx = obj.integers(25, 55, 2)
        ry, rx = obj.integers(4, 14, 2)
        yy, xx = np.ogrid[:80, :80]
        img[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = obj.integers(0, 255)
    # this report's view: where it was taken from, the light, the camera's noise
    s = rng.uniform(0.85, 1.0)
    size = int(80 * s)
    ox, oy = rng.randint(0, 80 - size), rng.randint(0, 80 - size)
    view = img[oy:oy + size, ox:ox + size]
    view = view * rng.uniform(0.8, 1.2) + rng.uniform(-20, 20)
    view = view + np.random.default_rng(rng.randrange(1 << 30)).normal(0, 6, view.shape)
    return np.clip(view, 0, 255).astype(np.uint8)


def _phash(pixels: np.ndarray) -> int:
    import imagehash
    from PIL import Image

    return int(str(imagehash.phash(Image.fromarray(pixels))), 16)


def _typos(text: str, rng: random.Random) -> str:
    return "".join(ch for ch in text if rng.random() > 0.05)


def generate(doc: dict, seed: int, *, problems: int = 250, days: float = 14.0) -> list[tuple[Sighting, int]]:
    """Reports of a generated district, each with the id of the problem it reports."""
    rng = random.Random(seed)
    phrases = doc.get("phrases") or {}
    cats = [c for c in doc.get("categories") or [] if (phrases.get(c["code"]) or {}).get("zh")]
    klass = {c["code"]: c.get("class", "") for c in cats}
    by_class: dict[str, list[str]] = {}
    for code, k in klass.items():
        by_class.setdefault(k, []).append(code)
    streets = [(rng.random() < 0.5, rng.uniform(0, SIDE_M)) for _ in _STREETS]  # (east-west?, offset)
    made: list[_Problem] = []
    for pid in range(problems):
        near = made and rng.random() < 0.35
        if near:
            other = rng.choice(made)
            code = other.category if rng.random() < 0.5 else rng.choice(cats)["code"]
            ang, r = rng.uniform(0, 2 * math.pi), rng.uniform(5, 100)
            x, y, street = other.x + r * math.cos(ang), other.y + r * math.sin(ang), other.street
            start = other.start + rng.uniform(-0.5, 1) * 86400
        else:
            code = rng.choice(cats)["code"]
            street = rng.randrange(len(streets))
            ew, off = streets[street]
            along = rng.uniform(0, SIDE_M)
            x, y = (along, off) if ew else (off, along)
            start = rng.uniform(0, days) * 86400
        end = start + rng.expovariate(1 / (1.5 * 86400)) + 1800
        look = seed * 100_000 + street * 1000 + int((x + y) // 100)
        made.append(_Problem(pid, code, x, y, start, end, street, rng.randint(1, 300), rng.randrange(len(_SPOTS)),
                             look, seed * 100_000 + pid))
    out: list[tuple[Sighting, int]] = []
    for p in made:
        for _ in range(1 + min(4, np.random.default_rng(rng.randrange(1 << 30)).poisson(0.9))):
            out.append((_report(p, rng, phrases, klass, by_class, cats), p.pid))
    return out


def _report(p: _Problem, rng: random.Random, phrases: dict, klass: dict, by_class: dict, cats: list) -> Sighting:
    source = rng.choices(["camera", "citizen", "inspector", "hotline"], weights=[2, 5, 2, 1])[0]
    at = rng.uniform(p.start, p.end) if source != "camera" else p.start + rng.uniform(0, 1800)
    noise = {"camera": 4, "citizen": 20, "inspector": 8, "hotline": 0}[source]
    x, y = p.x + rng.gauss(0, noise), p.y + rng.gauss(0, noise)
    if source == "hotline":  # an address geocoded: the building, not the spot
        ang, r = rng.uniform(0, 2 * math.pi), rng.uniform(30, 150)
        x, y = x + r * math.cos(ang), y + r * math.sin(ang)
    category = p.category
    if source in ("citizen", "hotline") and rng.random() < 0.15:  # the reporter picked a neighbouring category
        category = rng.choice(by_class[klass[p.category]] if rng.random() < 0.6 else [c["code"] for c in cats])
    text = ""
    if source != "camera":
        english = rng.random() < 0.15
        pool = (phrases[p.category].get("en") if english else None) or phrases[p.category]["zh"]
        text = rng.choice(pool)
        if rng.random() < 0.6:  # says where
            place = (f"{rng.choice(_EN_SPOTS[:3])}, No. {p.number} {p.street}" if english else
                     f"{_STREETS[p.street]}{p.number}号{_SPOTS[p.spot]}")
            text = f"{place}{' ' if english else '，'}{text}" if rng.random() < 0.5 else f"{text} {place}"
        text = _typos(text, rng)
    photo = None
    if source == "camera" or (source in ("citizen", "inspector") and rng.random() < 0.8):
        photo = _phash(_scene(p.look, p.thing, rng))
    lon, lat = _xy_to_lonlat(x, y)
    return Sighting(lon, lat, at, category, klass.get(category, ""), text, photo)


def pairs(reports: Sequence[tuple[Sighting, int]]) -> list[tuple[Sighting, Sighting, bool]]:
    """Every pair within the candidate window (SEARCH_M, SEARCH_HOURS), labelled same problem or not."""
    out = []
    for i, (a, pa) in enumerate(reports):
        for b, pb in reports[i + 1:]:
            if abs(a.at - b.at) <= SEARCH_HOURS * 3600 and distance_m(a, b) <= SEARCH_M:
                out.append((a, b, pa == pb))
    return out


def links(reports: Sequence[tuple[Sighting, int]], decide) -> dict:
    """The product's decision, measured: each report in time order is linked to its best earlier candidate.

    `decide(new, earlier)` answers a score (the report is linked to the highest-scoring earlier report when that
    reaches 0.5 … or whatever the caller folds into the score). A link is right when both report one problem;
    recall counts the reports that had an earlier report of their problem within the window.
    """
    ordered = sorted(reports, key=lambda r: r[0].at)
    tp = fp = fn = 0
    for i, (a, pa) in enumerate(ordered):
        best, had = None, False
        for b, pb in ordered[:i]:
            if a.at - b.at > SEARCH_HOURS * 3600 or distance_m(a, b) > SEARCH_M:
                continue
            had |= pa == pb
            s = decide(a, b)
            if s is not None and (best is None or s > best[0]):
                best = (s, pb)
        right = best is not None and best[1] == pa
        tp += right
        fp += best is not None and not right
        fn += had and not right
    return {"precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
            "tp": tp, "fp": fp, "fn": fn}


def old_rule(a: Sighting, b: Sighting, radius_m: float = 100.0, hours: float = 24.0) -> bool:
    """The rule before the score: same category within `radius_m` and `hours` (the baseline)."""
    return a.category == b.category and distance_m(a, b) <= radius_m and abs(a.at - b.at) <= hours * 3600


def _spread(values: Sequence[float]) -> dict:
    """Mean, min, max and a 95 % t-interval of the mean over seeds."""
    from scipy import stats

    n, mean = len(values), float(np.mean(values))
    half = float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    return {"mean": mean, "min": float(min(values)), "max": float(max(values)), "ci95": [mean - half, mean + half]}


def evaluate(doc: dict, seeds: Sequence[int], weights, threshold: float) -> dict:
    """Per seed and over seeds: the score's links (the product's decision) and its pairs, beside the old rule."""
    rows = []
    for seed in seeds:
        reports = generate(doc, seed)
        labelled = pairs(reports)
        rows.append({
            "seed": seed, "reports": len(reports), "pairs": len(labelled),
            "links": links(reports, lambda a, b: s if (s := weights.score(a, b)) >= threshold else None),
            "pairwise": precision_recall([(weights.score(a, b), same) for a, b, same in labelled], threshold),
            "old_rule": links(reports, lambda a, b: -distance_m(a, b) if old_rule(a, b) else None),
        })
    summary = {kind: {m: _spread([r[kind][m] for r in rows]) for m in ("precision", "recall")}
               for kind in ("links", "pairwise", "old_rule")}
    return {"threshold": threshold, "seeds": rows, "summary": summary}

