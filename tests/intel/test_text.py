"""The text classifier: normalising, training from a catalogue and history, top-k, evaluation, saved versions."""

import joblib
import pytest

from intel.text import TextModel, catalogue_examples, evaluate, normalise, train

DOC = {
    "categories": [
        {"code": "bin_overflow", "zh": "垃圾箱满溢", "en": "Overflowing garbage bin"},
        {"code": "manhole_abnormal", "zh": "井盖异常", "en": "Missing manhole cover"},
        {"code": "streetlight_fault", "zh": "路灯故障", "en": "Streetlight fault"},
    ],
    "phrases": {
        "bin_overflow": {"definition": "垃圾桶装满溢出", "zh": ["垃圾桶满了没人收", "垃圾溢出来了"],
                         "en": ["bin is full"]},
        "manhole_abnormal": {"zh": ["井盖丢了", "下水道井盖破了"], "en": ["manhole cover missing"]},
        "streetlight_fault": {"zh": ["路灯不亮", "路灯坏了"], "en": ["street lamp is out"]},
    },
}


def test_normalise_folds_width_case_digits_and_punctuation():
    assert normalise("ＡＢＣ　井盖！！丢了123号") == "abc 井盖 丢了0号"


def test_catalogue_examples_take_names_definition_and_phrases():
    pairs = catalogue_examples(DOC)
    assert ("垃圾桶装满溢出", "bin_overflow") in pairs and ("Streetlight fault", "streetlight_fault") in pairs
    assert len(pairs) == 3 * 2 + 1 + 3 + 3 + 3  # names, one definition, phrases


def test_suggestions_are_ranked_and_sum_to_at_most_one():
    model = train(catalogue_examples(DOC))
    (top,) = model.top(["小区门口的垃圾桶又满了"], k=3)
    assert top[0].category == "bin_overflow"
    assert [g.confidence for g in top] == sorted((g.confidence for g in top), reverse=True)
    assert sum(g.confidence for g in top) <= 1.0 + 1e-6 and len(top) == 3
    assert model.top([], k=3) == []


def test_history_teaches_the_districts_own_words():
    word = "篦子"  # a local word for a drain grate, not in the catalogue
    before = train(catalogue_examples(DOC))
    after = train(catalogue_examples(DOC), [(f"路口{word}没了", "manhole_abnormal")] * 5)
    assert after.sources == {"catalogue": len(catalogue_examples(DOC)), "history": 5}
    p_before = {g.category: g.confidence for g in before.top([word], 3)[0]}["manhole_abnormal"]
    p_after = {g.category: g.confidence for g in after.top([word], 3)[0]}["manhole_abnormal"]
    assert p_after > p_before and after.top([word])[0][0].category == "manhole_abnormal"


def test_evaluate_counts_top1_topk_and_confusion():
    model = train(catalogue_examples(DOC))
    examples = [("井盖丢了", "manhole_abnormal"), ("井盖丢了", "streetlight_fault")]  # one right, one wrong
    r = evaluate(model, examples)
    assert r["n"] == 2 and r["top1"] == 0.5 and r["top3"] == 1.0
    assert r["confusion"] == {("manhole_abnormal", "manhole_abnormal"): 1, ("streetlight_fault", "manhole_abnormal"): 1}


def test_a_saved_model_reads_back_and_a_foreign_file_is_refused(tmp_path):
    model = train(catalogue_examples(DOC))
    model.save(tmp_path / "m.joblib")
    again = TextModel.load(tmp_path / "m.joblib")
    assert again.top(["路灯坏了"]) == model.top(["路灯坏了"]) and again.trained_at == model.trained_at
    joblib.dump({"not": "a model"}, tmp_path / "other.joblib")
    with pytest.raises(ValueError, match="not a text model"):
        TextModel.load(tmp_path / "other.joblib")


def test_training_needs_two_categories():
    with pytest.raises(ValueError, match="two categories"):
        train([("井盖丢了", "manhole_abnormal")])
