"""Category from a report's text: character n-grams and a linear model (scikit-learn), offline.

Chinese reports are short and unsegmented, full of colloquial words and typos ("垃圾桶满咯", "井盖冇了"):
character 1–3-grams catch the telling fragments (垃圾桶, 井盖, 占道) without a word segmenter or its
dictionary, and the same features read English. The model starts from the catalogue — each category's names,
definition and example phrases (`categories.yaml: phrases`) — and is retrained with the district's own verified
cases, which weigh more as they accumulate. A model is a versioned file: what it was trained on, when, and on how
many texts of each source.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

FORMAT = 1  # bumped when a saved model can no longer be read by this code


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, digits and runs of punctuation/space folded (NFKC first)."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = re.sub(r"\d+", "0", text)
    return re.sub(r"[\s\W_]+", " ", text).strip()


def catalogue_examples(doc: dict) -> list[tuple[str, str]]:
    """(text, category code) pairs from a categories file: names, definition and phrases per category."""
    phrases = doc.get("phrases") or {}
    out = []
    for c in doc.get("categories") or []:
        if c.get("generic"):  # a catch-all is what is left when nothing fits: never a suggestion
            continue
        code = str(c["code"])
        p = phrases.get(code) or {}
        texts = [c.get("zh", ""), c.get("en", ""), p.get("definition", ""), *(p.get("zh") or []), *(p.get("en") or [])]
        out += [(t, code) for t in texts if t]
    return out


@dataclass(frozen=True)
class Guess:
    """One suggested category with the model's confidence (0–1)."""

    category: str
    confidence: float


@dataclass
class TextModel:
    """A trained text classifier with what it was trained on."""

    pipeline: Pipeline
    trained_at: str
    sources: dict = field(default_factory=dict)  # source → number of texts
    format: int = FORMAT

    @property
    def categories(self) -> list[str]:
        """The categories it can suggest."""
        return list(self.pipeline.classes_)

    def top(self, texts: Sequence[str], k: int = 3) -> list[list[Guess]]:
        """The `k` likeliest categories per text, best first."""
        if not texts:
            return []
        proba = self.pipeline.predict_proba([normalise(t) for t in texts])
        classes = self.pipeline.classes_
        out = []
        for row in proba:
            best = np.argsort(-row, kind="stable")[:k]
            out.append([Guess(str(classes[i]), round(float(row[i]), 4)) for i in best])
        return out

    def save(self, path: Path) -> None:
        """Write the model to `path` (joblib; a file this application wrote itself)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)

    @staticmethod
    def load(path: Path) -> TextModel:
        """Read a model written by `save`; ValueError when it is of another format."""
        model = joblib.load(path)
        if not isinstance(model, TextModel) or model.format != FORMAT:
            raise ValueError(f"{path} is not a text model of format {FORMAT}")
        return model


def train(catalogue: Iterable[tuple[str, str]], history: Iterable[tuple[str, str]] = (), *,
          history_weight: float = 1.0) -> TextModel:
    """Fit on catalogue examples and the district's verified cases (text, category code).

    Catalogue phrases are few and clean; each weighs 3 so that they still anchor a category whose history is
    thin. Every category of the catalogue stays known even when its history is empty.
    """
    cat, hist = list(catalogue), [(t, c) for t, c in history if t and t.strip()]
    texts = [normalise(t) for t, _ in cat] + [normalise(t) for t, _ in hist]
    labels = [c for _, c in cat] + [c for _, c in hist]
    weights = [3.0] * len(cat) + [history_weight] * len(hist)
    if len(set(labels)) < 2:
        raise ValueError("training needs texts of at least two categories")
    pipe = Pipeline([
        ("grams", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1)),
        ("model", LogisticRegression(C=20.0, max_iter=3000)),
    ])
    pipe.fit(texts, labels, model__sample_weight=np.asarray(weights))
    return TextModel(pipe, datetime.now(UTC).isoformat(timespec="seconds"),
                     {"catalogue": len(cat), "history": len(hist)})


def evaluate(model: TextModel, examples: Sequence[tuple[str, str]], k: int = 3) -> dict:
    """Top-1 and top-k accuracy and the confusion counts (true → predicted) on labelled texts."""
    guesses = model.top([t for t, _ in examples], k)
    top1 = topk = 0
    confusion: dict[tuple[str, str], int] = {}
    for (_, truth), g in zip(examples, guesses, strict=True):
        top1 += g[0].category == truth
        topk += any(x.category == truth for x in g)
        confusion[(truth, g[0].category)] = confusion.get((truth, g[0].category), 0) + 1
    n = len(examples)
    return {"n": n, "top1": top1 / n if n else None, f"top{k}": topk / n if n else None, "confusion": confusion}
