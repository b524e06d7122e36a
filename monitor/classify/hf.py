"""The transformers backend: encoder + trained heads from a local model folder, batched on CPU."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from monitor.classify.cues import find_cues
from monitor.errors import ClassifierError
from monitor.models import STANCES, TOPICS, Classification


class HFClassifier:
    """Reads `meta.json` and `heads.safetensors` of a folder that `monitor train` wrote."""

    def __init__(self, folder: Path, *, threshold: float | None = None, batch_size: int = 16, device: str = "cpu",
                 threads: int = 0) -> None:

        from monitor.classify.encoder import Encoder
        from monitor.classify.heads import load_heads

        try:
            self.meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            self.encoder = Encoder(self.meta["encoder"], max_length=self.meta.get("max_length", 256),
                                   prefix=self.meta.get("prefix", ""), device=device, threads=threads)
            self.heads = load_heads(folder, self.encoder.dimension).to(device)
            if (folder / "adapters.safetensors").exists():
                from safetensors.torch import load_file

                from monitor.classify.lora import load_and_merge

                tuned = self.meta["finetune"]
                load_and_merge(self.encoder.model, load_file(str(folder / "adapters.safetensors")),
                               tuned["rank"], tuned["alpha"])
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise ClassifierError(f"cannot load classifier from {folder}: {exc}; run `monitor train`") from exc
        self.version = str(self.meta["version"])
        self.name = f"{self.meta['name']}/{self.version}"
        self.threshold = float(self.meta.get("escalation_threshold", 0.5)) if threshold is None else threshold
        self.batch_size = batch_size
        self.temperature = float(self.meta.get("temperature", 1.0))
        self.topic_thresholds = [float(self.meta.get("topic_thresholds", {}).get(t, 0.5)) for t in TOPICS]

    def scores(self, texts: Sequence[str]) -> tuple[list[list[float]], list[list[float]]]:
        """Calibrated stance probabilities and topic probabilities per text."""
        import torch

        embeddings = self.encoder.embed(texts, self.batch_size)
        with torch.inference_mode():
            stance_logits, topic_logits = self.heads(embeddings)
            stance = torch.softmax(stance_logits / self.temperature, dim=-1)
            topics = torch.sigmoid(topic_logits)
        return stance.tolist(), topics.tolist()

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        stance_probs, topic_probs = self.scores(texts)
        return [decide(text, s, t, threshold=self.threshold, topic_thresholds=self.topic_thresholds,
                       model=self.name) for text, s, t in zip(texts, stance_probs, topic_probs, strict=True)]


def decide(text: str, stance_p: Sequence[float], topic_p: Sequence[float], *, threshold: float,
           topic_thresholds: Sequence[float], model: str) -> Classification:
    """Labels from probabilities: escalatory iff P(escalatory) >= threshold, else the likelier of the
    other two; every topic over its threshold, or the likeliest one."""
    scores = {label: round(float(p), 4) for label, p in zip(STANCES, stance_p, strict=True)}
    escalation_score = scores["escalatory"]
    escalation = escalation_score >= threshold
    stance = "escalatory" if escalation else max(("de-escalatory", "neutral"), key=scores.__getitem__)
    chosen = [t for t, p, cut in zip(TOPICS, topic_p, topic_thresholds, strict=True) if p >= cut]
    if not chosen:
        chosen = [TOPICS[max(range(len(TOPICS)), key=lambda i: topic_p[i])]]
    return Classification(stance=stance, stance_scores=scores, topics=tuple(chosen),
                          escalation_score=escalation_score, escalation=escalation,
                          cues=find_cues(text, stance), model=model)
