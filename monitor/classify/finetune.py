"""Fine-tuning: LoRA adapters on the top layers of the encoder and the two heads, trained jointly
on the train disputes (AdamW, linear warm-up and decay, fixed seed, class-weighted stance loss).

The layers below the adapted ones are frozen, so their output for each text is computed once and
cached; every epoch then runs (forward and backward) only through the top layers. On two CPU
cores this makes fine-tuning multilingual-e5-small a matter of minutes instead of hours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from monitor.classify import lora
from monitor.classify.corpus import Example
from monitor.classify.encoder import Encoder, mean_pool
from monitor.classify.heads import Heads
from monitor.models import STANCES, TOPICS


def cache_lower_layers(encoder: Encoder, texts: Sequence[str], start: int, batch_size: int = 32) -> list[torch.Tensor]:
    """The input of layer `start` for each text, trimmed to its tokens (no padding)."""
    cached = []
    with torch.no_grad():
        for first in range(0, len(texts), batch_size):
            batch = encoder.tokenizer([encoder.prefix + t for t in texts[first:first + batch_size]], padding=True,
                                      truncation=True, max_length=encoder.max_length, return_tensors="pt")
            output = encoder.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                   output_hidden_states=True)
            hidden = output.hidden_states[start]
            for row, length in zip(hidden, batch["attention_mask"].sum(1).tolist(), strict=True):
                cached.append(row[:length].clone())
    return cached


def top_forward(model: Any, start: int, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Runs layers `start`.. of a BERT-style encoder on cached hidden states."""
    extended = model._create_attention_masks(attention_mask=mask, encoder_attention_mask=None,
                                             embedding_output=hidden, encoder_hidden_states=None, cache=None)[0]
    for layer in model.encoder.layer[start:]:
        hidden = layer(hidden, attention_mask=extended)
        if isinstance(hidden, tuple):
            hidden = hidden[0]
    return hidden


def _pad(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(r.shape[0] for r in rows)
    hidden = torch.zeros(len(rows), length, rows[0].shape[1])
    mask = torch.zeros(len(rows), length, dtype=torch.long)
    for i, r in enumerate(rows):
        hidden[i, :r.shape[0]], mask[i, :r.shape[0]] = r, 1
    return hidden, mask


def finetune(encoder: Encoder, examples: Sequence[Example], *, epochs: int = 4, top: int = 4, batch_size: int = 16,
             rank: int = 8, alpha: float = 16.0, lr: float = 1e-3, head_lr: float = 3e-3, max_length: int = 192,
             seed: int = 0, progress: Callable[[str], None] = lambda m: None) -> Heads:
    """Adapts the top `top` layers of `encoder.model` in place (adapters left unmerged) and returns
    the trained heads."""
    torch.manual_seed(seed)
    start = len(encoder.model.encoder.layer) - top
    old_length, encoder.max_length = encoder.max_length, max_length
    progress(f"caching the output of the {start} frozen layers for {len(examples)} statements")
    cached = cache_lower_layers(encoder, [e.text for e in examples], start)
    encoder.max_length = old_length
    heads = Heads(encoder.dimension)
    with torch.no_grad():
        heads.standardise_on(torch.cat([mean_pool(top_forward(encoder.model, start, *_pad(cached[i:i + 64])),
                                                  _pad(cached[i:i + 64])[1]) for i in range(0, len(cached), 64)]))
    lora.apply(encoder.model, rank, alpha, top=top)
    stances = torch.tensor([STANCES.index(e.stance) for e in examples])
    topics = torch.tensor([[float(t in e.topics) for t in TOPICS] for e in examples])
    counts = torch.bincount(stances, minlength=len(STANCES)).float().clamp(min=1)
    weights = counts.sum() / (len(STANCES) * counts)
    adapter_params = [p for p in encoder.model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW([{"params": adapter_params, "lr": lr},
                                   {"params": heads.parameters(), "lr": head_lr}], weight_decay=0.01)
    steps = epochs * math.ceil(len(examples) / batch_size)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    generator = torch.Generator().manual_seed(seed)
    encoder.model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(examples), generator=generator).tolist()
        total = 0.0
        for first in range(0, len(order), batch_size):
            idx = order[first:first + batch_size]
            hidden, mask = _pad([cached[i] for i in idx])
            pooled = mean_pool(top_forward(encoder.model, start, hidden, mask), mask)
            stance_logits, topic_logits = heads(pooled)
            loss = torch.nn.functional.cross_entropy(stance_logits, stances[idx], weight=weights) + \
                torch.nn.functional.binary_cross_entropy_with_logits(topic_logits, topics[idx])
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(adapter_params + list(heads.parameters()), 1.0)
            optimiser.step()
            schedule.step()
            total += float(loss.detach())
        progress(f"epoch {epoch + 1}/{epochs}: mean loss {total / math.ceil(len(order) / batch_size):.3f}")
    encoder.model.eval()
    return heads.eval()
