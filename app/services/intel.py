"""Report intelligence in the app: the text model's versions on disk, training from the catalogue and the
district's verified cases, and suggestions for a report's words.

Models live in INTEL_MODEL_DIR as `text-<UTC time>.joblib`; `current` names the one in use, so a new version is
switched to atomically and an older one can be put back by writing its name there.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import yaml
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Case
from app.services.catalog import DEFAULT_FILE
from dispatch.lifecycle import TERMINAL, CaseStatus
from intel.text import Guess, TextModel, catalogue_examples, evaluate, train

EVAL_FILE = DEFAULT_FILE.parent / "intel_eval_texts.tsv"
HISTORY_LIMIT = 50_000  # the most recent verified cases a training run reads
_cache: dict[str, tuple[str, TextModel]] = {}


def model_dir() -> Path:
    """Where text models are kept."""
    return Path(current_app.config["INTEL_MODEL_DIR"])


def history() -> list[tuple[str, str]]:
    """(description, final category) of filed cases that were real, newest first: what the district taught."""
    from app.models import Category

    rows = db.session.execute(
        select(Case.description, Case.category_code).join(Category)
        .where(Case.filed_at.is_not(None), Case.status.not_in(TERMINAL), Case.description != "",
               Category.generic.is_(False))
        .order_by(Case.id.desc()).limit(HISTORY_LIMIT)
    ).all()
    return [(d, c) for d, c in rows]


def train_text_model(categories_file: Path = DEFAULT_FILE, *, with_history: bool = True) -> tuple[str, TextModel]:
    """Train a new version from the categories file (and verified cases), save it and make it current."""
    doc = yaml.safe_load(Path(categories_file).read_text(encoding="utf-8"))
    model = train(catalogue_examples(doc), history() if with_history else [])
    name = f"text-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.joblib"
    folder = model_dir()
    model.save(folder / name)
    tmp = folder / "current.tmp"
    tmp.write_text(name, encoding="utf-8")
    os.replace(tmp, folder / "current")  # atomic: readers see the old name or the new one
    return name, model


def current_model() -> tuple[str, TextModel] | None:
    """The model in use and its version name, or None when none was trained yet (loaded once per version)."""
    pointer = model_dir() / "current"
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    key = str(model_dir())
    if key not in _cache or _cache[key][0] != name:
        _cache[key] = (name, TextModel.load(model_dir() / name))
    return _cache[key]


def suggest(texts: list[str], k: int = 3) -> list[list[Guess]] | None:
    """The `k` likeliest categories for each text, or None without a model."""
    found = current_model()
    return found[1].top(texts, k) if found else None


SUGGEST_MAX_CHARS = 1000  # the description field's length
SUGGEST_MIN_CONFIDENCE = 0.05  # a form does not offer "违停 3 %": below this a guess is noise to the reader


def combine(text_top: list[Guess], photo: dict | None) -> list[Guess]:
    """The words' guesses with the photo's suggestion folded in (noisy-OR on the photo's category).

    The two look at different evidence, so agreement raises the shared category above either alone and a
    confident photo of a category the words never named still enters the list. Not fitted: there is no set of
    reports with both words and labelled photos to fit a weighting on yet.
    """
    if not photo or not photo.get("code"):
        return text_top
    code, p = str(photo["code"]), max(0.0, min(1.0, float(photo.get("confidence") or 0)))
    scores = {g.category: g.confidence for g in text_top}
    scores[code] = 1 - (1 - scores.get(code, 0.0)) * (1 - p)
    return [Guess(c, round(v, 4)) for c, v in sorted(scores.items(), key=lambda kv: -kv[1])]


def _suggestable(locale: str) -> dict[str, str]:
    """Code → name of the categories a suggestion may name: active, and not a catch-all."""
    from app.models import Category

    return {c.code: c.name(locale) for c in db.session.scalars(
        select(Category).where(Category.active.is_(True), Category.generic.is_(False)))}


def suggest_categories(text: str, locale: str = "zh", k: int = 3, photo: dict | None = None) -> dict:
    """The `k` likeliest active categories for a report's words (and the photo's suggestion, when the form has
    one), named in the reader's language; nothing for text too short to tell, or while no model was trained."""
    text = (text or "")[:SUGGEST_MAX_CHARS]
    found = current_model()
    if found is None or len(text.strip()) < 2:
        return {"model": found[0] if found else None, "top": []}
    names = _suggestable(locale)
    guesses = [g for g in combine(found[1].top([text], k + 2)[0], photo)
               if g.category in names and g.confidence >= SUGGEST_MIN_CONFIDENCE][:k]
    return {"model": found[0], "top": [{"code": g.category, "name": names[g.category], "confidence": g.confidence}
                                       for g in guesses]}


HINT_MIN_CONFIDENCE = 0.5  # a dispatcher is told "category may be wrong" only when the words say so clearly


def category_hint(case: Case, locale: str = "zh") -> dict | None:
    """What the report's words suggest instead of its category, when they clearly do (else None)."""
    return category_hints([case], locale).get(case.id)


# Only where the category can still be changed without sending anyone back (改类 before dispatch).
HINT_STATUSES = (CaseStatus.REPORTED, CaseStatus.VERIFIED, CaseStatus.FILED)


def category_hints(cases: list[Case], locale: str = "zh") -> dict[int, dict]:
    """Case id → what its words suggest instead of its category, for the cases in a list that may be wrong."""
    found = current_model()
    todo = [c for c in cases if c.status in HINT_STATUSES and len((c.description or "").strip()) >= 2]
    if found is None or not todo:
        return {}
    names = _suggestable(locale)
    out = {}
    for case, top in zip(todo, found[1].top([c.description[:SUGGEST_MAX_CHARS] for c in todo], 1), strict=True):
        best = top[0]
        if best.category != case.category_code and best.confidence >= HINT_MIN_CONFIDENCE and best.category in names:
            out[case.id] = {"code": best.category, "name": names[best.category], "confidence": best.confidence}
    return out


def category_for_generic(description: str) -> tuple[str, float, str] | None:
    """(category, confidence, model) for a report filed under a catch-all, when its words clearly say which."""
    found = current_model()
    if found is None or len((description or "").strip()) < 2:
        return None
    best = found[1].top([description[:SUGGEST_MAX_CHARS]], 1)[0][0]
    return (best.category, best.confidence, found[0]) if best.confidence >= HINT_MIN_CONFIDENCE else None


def evaluate_duplicates(seeds: list[int], *, threshold: float | None = None, refit: bool = False) -> dict:
    """The duplicate score measured on generated labelled districts (`intel.dupdata`)."""
    from intel import dupdata, duplicates

    doc = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    weights = duplicates.DEFAULT
    if refit:
        tuning = [p for s in dupdata.TUNING_SEEDS for p in dupdata.pairs(dupdata.generate(doc, s))]
        weights = duplicates.fit(tuning)
    threshold = current_app.config["DUPLICATE_THRESHOLD"] if threshold is None else threshold
    result = dupdata.evaluate(doc, seeds, weights, threshold)
    return {**result, "weights": {"intercept": weights.intercept,
                                  "coef": dict(zip(duplicates.FEATURES, weights.coef, strict=True))}}


def eval_examples(path: Path = EVAL_FILE) -> list[tuple[str, str]]:
    """(text, category) pairs of a held-out file: `category<TAB>text` per line, # comments."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        code, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise ValueError(f"{path}:{n}: expected category<TAB>text")
        out.append((text.strip(), code.strip()))
    return out


def evaluate_current(path: Path = EVAL_FILE) -> dict:
    """Accuracy of the current model on a held-out file (ValueError without a model)."""
    found = current_model()
    if found is None:
        raise ValueError("no text model yet: run `flask intel train`")
    return {"version": found[0], **evaluate(found[1], eval_examples(path))}
