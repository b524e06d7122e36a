"""Classifying files: `monitor classify --input` and `monitor eval`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from monitor.classify import Classifier
from monitor.classify.corpus import load_jsonl
from monitor.classify.evaluate import Scored
from monitor.errors import ClassifierError
from monitor.models import Classification

BATCH = 64


def classification_dict(c: Classification) -> dict[str, Any]:
    """The fields SPEC.md fixes for `monitor classify`, plus the model."""
    return {"stance": c.stance, "stance_scores": c.stance_scores, "topics": list(c.topics),
            "escalation": c.escalation, "escalation_score": c.escalation_score, "cues": list(c.cues),
            "model": c.model}


def classify_jsonl(classifier: Classifier, path: Path, out: TextIO) -> int:
    """Writes every input object back with the classification fields added; returns the count."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ClassifierError(f"{path}:{number}: not valid JSON ({exc})") from exc
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise ClassifierError(f"{path}:{number}: expected an object with a string `text`")
        rows.append(row)
    for start in range(0, len(rows), BATCH):
        chunk = rows[start:start + BATCH]
        for row, c in zip(chunk, classifier.classify([r["text"] for r in chunk]), strict=True):
            out.write(json.dumps({**row, **classification_dict(c)}, ensure_ascii=False) + "\n")
    return len(rows)


def evaluate_file(classifier: Classifier, path: Path) -> list[Scored]:
    examples = load_jsonl(path)
    results = []
    for start in range(0, len(examples), BATCH):
        chunk = examples[start:start + BATCH]
        results += classifier.classify([e.text for e in chunk])
    return [Scored(e.lang, e.stance, e.topics, c.stance, c.topics, c.escalation_score)
            for e, c in zip(examples, results, strict=True)]
