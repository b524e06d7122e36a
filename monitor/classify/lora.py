"""Low-rank adapters (LoRA) on an encoder's linear layers: what fine-tuning trains and what the
model folder stores (a few MB in fp16) instead of a copy of the public encoder."""

from __future__ import annotations

from typing import Any

import torch

TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")


class LoRALinear(torch.nn.Module):
    """y = W x + b + (alpha / r) · B A x, with W and b frozen and B initialised to zero."""

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base, self.scale = base, alpha / rank
        self.down = torch.nn.Linear(base.in_features, rank, bias=False)
        self.up = torch.nn.Linear(rank, base.out_features, bias=False)
        torch.nn.init.kaiming_uniform_(self.down.weight, a=5 ** 0.5)
        torch.nn.init.zeros_(self.up.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.up(self.down(x)) * self.scale

    def merged(self) -> torch.nn.Linear:
        """The plain Linear with the adapter folded in: inference then costs what the encoder costs."""
        with torch.no_grad():
            self.base.weight += (self.up.weight @ self.down.weight) * self.scale
        return self.base


def _layers(model: Any) -> Any:
    return model.encoder.layer


def apply(model: Any, rank: int = 8, alpha: float = 16.0, top: int | None = None) -> list[str]:
    """Freezes `model` and wraps the target linears of its top `top` layers (all by default)."""
    for p in model.parameters():
        p.requires_grad_(False)
    layers = _layers(model)
    start = 0 if top is None else max(0, len(layers) - top)
    wrapped = []
    for index in range(start, len(layers)):
        for target in TARGETS:
            parent_name, _, attr = target.rpartition(".")
            parent = layers[index].get_submodule(parent_name)
            setattr(parent, attr, LoRALinear(getattr(parent, attr), rank, alpha))
            wrapped.append(f"encoder.layer.{index}.{target}")
    return wrapped


def adapter_state(model: Any) -> dict[str, torch.Tensor]:
    """The adapter weights only, in fp16."""
    return {name: p.detach().to(torch.float16).contiguous() for name, p in model.named_parameters()
            if ".down." in name or ".up." in name}


def load_and_merge(model: Any, state: dict[str, torch.Tensor], rank: int, alpha: float) -> None:
    """Rebuilds the adapters from `state`, loads them and folds them into the base weights."""
    top_layer = {int(name.split(".")[2]) for name in state}
    apply(model, rank, alpha, top=len(_layers(model)) - min(top_layer))
    missing = model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    if missing.unexpected_keys:
        raise ValueError(f"unexpected adapter weights: {missing.unexpected_keys[:3]}")
    for index in sorted(top_layer):
        for target in TARGETS:
            parent_name, _, attr = target.rpartition(".")
            parent = _layers(model)[index].get_submodule(parent_name)
            setattr(parent, attr, getattr(parent, attr).merged())
    model.eval()
