"""Are two reports the same problem? A duplicate score from place, time, category, words and photo.

Each pair of reports becomes a few features — distance, hours apart, same category or only the same class,
how alike their words are (character n-grams, so dialect and typos still overlap) and how alike their photos are
(64-bit perceptual hashes, which survive re-framing, light and JPEG) — and a logistic model turns them into a
probability. A feature that one side lacks (no text, no photo) counts as neither for nor against. The weights
are fitted on labelled pairs from `intel.dupdata` (tuning seeds only) and committed here, so the score is the
same on every machine; `fit` refits them. Pure: no Flask, no database.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from intel.text import normalise

SEARCH_M = 300.0  # candidates are looked for this far away …
SEARCH_HOURS = 7 * 24.0  # … and this long before or after; the score decides within that window
FEATURES = ("log_distance", "far", "log_hours", "same_category", "same_class", "text", "photo", "both_texts",
            "both_photos", "numbers")


@dataclass(frozen=True)
class Sighting:
    """One report of a problem, as far as duplicates are concerned."""

    lon: float
    lat: float
    at: float  # seconds since the epoch
    category: str
    category_class: str = ""
    text: str = ""
    phash: int | None = None  # 64-bit perceptual hash of the first photo, when it has one


def distance_m(a: Sighting, b: Sighting) -> float:
    """Ground distance in metres (equirectangular: exact enough within the search radius)."""
    k = math.cos(math.radians((a.lat + b.lat) / 2))
    dx = (a.lon - b.lon) * 111_320.0 * k
    dy = (a.lat - b.lat) * 110_540.0
    return math.hypot(dx, dy)


def _grams(text: str) -> Counter:
    t = normalise(text).replace(" ", "")
    return Counter(t[i:i + 2] for i in range(len(t) - 1)) + Counter(t)


def text_similarity(a: str, b: str) -> float | None:
    """Cosine of character 1–2-gram counts (0–1), or None when either text is empty."""
    ga, gb = _grams(a), _grams(b)
    if not ga or not gb:
        return None
    dot = sum(n * gb[g] for g, n in ga.items() if g in gb)
    return dot / math.sqrt(sum(n * n for n in ga.values()) * sum(n * n for n in gb.values()))


_NUMBER = re.compile(r"\d+")


def number_agreement(a: str, b: str) -> float:
    """+1 when both texts give a number (a house number, a lamp post's) and share one, −1 when they share none,
    0 when either gives none: the words' similarity cannot see it, since `normalise` folds digits."""
    na = set(_NUMBER.findall(unicodedata.normalize("NFKC", a or "")))
    nb = set(_NUMBER.findall(unicodedata.normalize("NFKC", b or "")))
    if not na or not nb:
        return 0.0
    return 1.0 if na & nb else -1.0


def photo_similarity(a: int | None, b: int | None) -> float | None:
    """1 − Hamming distance / 64 of two perceptual hashes, or None when either photo is missing."""
    if a is None or b is None:
        return None
    return 1.0 - bin((a ^ b) & 0xFFFFFFFFFFFFFFFF).count("1") / 64.0


# Below these a text or photo similarity is what unrelated reports already share (the same category's phrases,
# a street's look); a missing one is placed here, so it neither raises nor lowers the score.
TEXT_NEUTRAL = 0.35
PHOTO_NEUTRAL = 0.6


def features(a: Sighting, b: Sighting) -> list[float]:
    """The pair's features in the order of FEATURES."""
    t = text_similarity(a.text, b.text)
    p = photo_similarity(a.phash, b.phash)
    m = distance_m(a, b)
    return [
        math.log1p(m / 10.0),
        max(0.0, m - 50.0) / 50.0,  # beyond a pin's usual error, each further metre counts more
        math.log1p(abs(a.at - b.at) / 3600.0),
        float(a.category == b.category),
        float(bool(a.category_class) and a.category_class == b.category_class),
        (TEXT_NEUTRAL if t is None else t) - TEXT_NEUTRAL,
        (PHOTO_NEUTRAL if p is None else p) - PHOTO_NEUTRAL,
        float(t is not None),
        float(p is not None),
        number_agreement(a.text, b.text),
    ]


@dataclass(frozen=True)
class Weights:
    """A fitted logistic model over FEATURES."""

    intercept: float
    coef: tuple[float, ...]

    def score(self, a: Sighting, b: Sighting) -> float:
        """Probability (0–1) that `a` and `b` report the same problem."""
        z = self.intercept + sum(w * f for w, f in zip(self.coef, features(a, b), strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def explain(self, a: Sighting, b: Sighting) -> dict:
        """The score with what it was made of, for people deciding a merge."""
        t, p = text_similarity(a.text, b.text), photo_similarity(a.phash, b.phash)
        return {"score": round(self.score(a, b), 3), "distance_m": round(distance_m(a, b)),
                "hours": round(abs(a.at - b.at) / 3600.0, 1), "same_category": a.category == b.category,
                "text": None if t is None else round(t, 2), "photo": None if p is None else round(p, 2)}


# Fitted with `fit(dupdata.pairs(...))` on tuning seeds 1–8 (`flask intel eval-duplicates --fit` reprints them).
DEFAULT = Weights(intercept=1.1494,
                  coef=(-1.5379, -0.3693, -0.8215, 1.9818, 1.554, 1.5132, 11.6839, 0.842, -1.2749, 2.2484))
DEFAULT_THRESHOLD = 0.5  # chosen on the tuning seeds: precision ≈ 0.9 at the highest recall


def fit(pairs: Iterable[tuple[Sighting, Sighting, bool]], c: float = 1.0) -> Weights:
    """Fit the weights on labelled pairs (scikit-learn's logistic regression)."""
    from sklearn.linear_model import LogisticRegression

    rows = list(pairs)
    x = [features(a, b) for a, b, _ in rows]
    y = [bool(same) for _, _, same in rows]
    model = LogisticRegression(C=c, max_iter=2000).fit(x, y)
    return Weights(round(float(model.intercept_[0]), 4), tuple(round(float(w), 4) for w in model.coef_[0]))


def precision_recall(scored: Sequence[tuple[float, bool]], threshold: float) -> dict:
    """Precision and recall of "score ≥ threshold means duplicate" on (score, truly same) pairs."""
    tp = sum(1 for s, y in scored if s >= threshold and y)
    fp = sum(1 for s, y in scored if s >= threshold and not y)
    fn = sum(1 for s, y in scored if s < threshold and y)
    return {"precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0,
            "tp": tp, "fp": fp, "fn": fn}
