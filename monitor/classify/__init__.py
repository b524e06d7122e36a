"""Stance and topic classification: the Classifier protocol and how a model folder is loaded."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from monitor.config import ClassifierConfig
from monitor.errors import ClassifierError
from monitor.models import Classification

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Classifier(Protocol):
    name: str
    """Model identity stored with every classification: `<folder name>/<version>`."""
    version: str

    def classify(self, texts: Sequence[str]) -> list[Classification]: ...


def model_dir(name: str) -> Path:
    """The model folder for a config value: as given, or under the project root (for `make run`)."""
    path = Path(name)
    if path.exists() or path.is_absolute():
        return path
    return PROJECT_ROOT / path


def load_classifier(config: ClassifierConfig) -> Classifier:
    """The trained classifier of the configured model folder; ClassifierError if it is missing."""
    from monitor.classify.hf import HFClassifier

    folder = model_dir(config.model)
    if not (folder / "meta.json").exists():
        raise ClassifierError(f"classifier model folder {folder} has no meta.json: "
                              "run `monitor train` to build it from models/corpus")
    return HFClassifier(folder, threshold=config.escalation_threshold, batch_size=config.batch_size,
                        device=config.device, threads=config.threads)


def model_identity(config: ClassifierConfig) -> str:
    """`<name>/<version>` of the configured model without loading it (reads meta.json)."""
    import json

    folder = model_dir(config.model)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClassifierError(f"cannot read {folder / 'meta.json'}: {exc}; run `monitor train`") from exc
    return f"{meta['name']}/{meta['version']}"


def statement_text(title: str | None, text: str) -> str:
    """What the model reads: the title, then the text, unless the text already starts with it."""
    if title and not text.startswith(title):
        return f"{title}\n{text}"
    return text
