"""The trained part of a model folder: a stance head and a topic head over sentence embeddings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from monitor.models import STANCES, TOPICS


class Heads(torch.nn.Module):
    """Linear stance (softmax) and topic (one sigmoid per topic) layers over standardised embeddings.

    Sentence embeddings sit close together (e5's pairwise cosines are ~0.8): without standardising,
    the weights a linear layer needs are so large that any L2 penalty flattens them, and the topic
    head learned little more than the base rates.
    """

    def __init__(self, dimension: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dimension))
        self.register_buffer("scale", torch.ones(dimension))
        self.stance = torch.nn.Linear(dimension, len(STANCES))
        self.topics = torch.nn.Linear(dimension, len(TOPICS))

    def standardise_on(self, embeddings: torch.Tensor) -> None:
        """Sets the standardisation from training embeddings."""
        self.mean.copy_(embeddings.mean(0))
        self.scale.copy_(embeddings.std(0).clamp(min=1e-6))

    def forward(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (embeddings - self.mean) / self.scale
        return self.stance(x), self.topics(x)


def save_model(folder: Path, heads: Heads, meta: dict[str, Any],
               adapters: dict[str, torch.Tensor] | None = None) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapters.safetensors").unlink(missing_ok=True)
    if adapters:
        save_file(adapters, str(folder / "adapters.safetensors"))
    save_file({k: v.detach().contiguous() for k, v in heads.state_dict().items()},
              str(folder / "heads.safetensors"))
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_heads(folder: Path, dimension: int) -> Heads:
    from safetensors.torch import load_file

    heads = Heads(dimension)
    result = heads.load_state_dict(load_file(str(folder / "heads.safetensors")), strict=False)
    if result.unexpected_keys or set(result.missing_keys) - {"mean", "scale"}:
        raise ValueError(f"heads.safetensors does not fit: missing {result.missing_keys}, "
                         f"unexpected {result.unexpected_keys}")
    return heads.eval()  # folders from before standardisation lack mean/scale: identity
