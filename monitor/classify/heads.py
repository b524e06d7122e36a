"""The trained part of a model folder: a stance head and a topic head over sentence embeddings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from monitor.models import STANCES, TOPICS


class Heads(torch.nn.Module):
    """Linear stance (softmax) and topic (one sigmoid per topic) layers."""

    def __init__(self, dimension: int) -> None:
        super().__init__()
        self.stance = torch.nn.Linear(dimension, len(STANCES))
        self.topics = torch.nn.Linear(dimension, len(TOPICS))

    def forward(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.stance(embeddings), self.topics(embeddings)


def save_model(folder: Path, heads: Heads, meta: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in heads.state_dict().items()},
              str(folder / "heads.safetensors"))
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_heads(folder: Path, dimension: int) -> Heads:
    from safetensors.torch import load_file

    heads = Heads(dimension)
    heads.load_state_dict(load_file(str(folder / "heads.safetensors")))
    return heads.eval()
