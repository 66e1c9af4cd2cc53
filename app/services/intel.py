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
from dispatch.lifecycle import CaseStatus
from intel.text import Guess, TextModel, catalogue_examples, evaluate, train

EVAL_FILE = DEFAULT_FILE.parent / "intel_eval_texts.tsv"
HISTORY_LIMIT = 50_000  # the most recent verified cases a training run reads
_NOT_REAL = (CaseStatus.INVALID, CaseStatus.VOID, CaseStatus.MERGED)
_cache: dict[str, tuple[str, TextModel]] = {}


def model_dir() -> Path:
    """Where text models are kept."""
    return Path(current_app.config["INTEL_MODEL_DIR"])


def history() -> list[tuple[str, str]]:
    """(description, final category) of filed cases that were real, newest first: what the district taught."""
    rows = db.session.execute(
        select(Case.description, Case.category_code)
        .where(Case.filed_at.is_not(None), Case.status.not_in(_NOT_REAL), Case.description != "")
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


def suggest_categories(text: str, locale: str = "zh", k: int = 3) -> dict:
    """The `k` likeliest active categories for a report's words, named in the reader's language (for forms
    as the user types); nothing for text too short to tell, or while no model was trained."""
    from app.models import Category

    text = (text or "")[:SUGGEST_MAX_CHARS]
    found = current_model()
    if found is None or len(text.strip()) < 2:
        return {"model": found[0] if found else None, "top": []}
    names = {c.code: c.name(locale) for c in db.session.scalars(select(Category).where(Category.active.is_(True)))}
    guesses = [g for g in found[1].top([text], k + 2)[0]
               if g.category in names and g.confidence >= SUGGEST_MIN_CONFIDENCE][:k]
    return {"model": found[0], "top": [{"code": g.category, "name": names[g.category], "confidence": g.confidence}
                                       for g in guesses]}


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
