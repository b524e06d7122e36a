"""The labeled corpus in `models/corpus/*.jsonl`: loading, checking and the split by dispute."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ClassifierError
from monitor.models import STANCES, TOPICS

GENRES = ("press_release", "post", "communique", "speech", "interview")


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    lang: str
    stance: str
    topics: tuple[str, ...]
    dispute: str
    genre: str
    hard: str | None = None


def load_jsonl(path: Path) -> list[Example]:
    """Examples of one JSONL file; ClassifierError naming the file and line for a bad record."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            example = Example(id=str(row.get("id", f"{path.stem}-{number}")), text=row["text"],
                              lang=row.get("lang", "en"), stance=row["stance"],
                              topics=tuple(row.get("topics") or ()), dispute=row.get("dispute", "unknown"),
                              genre=row.get("genre", "post"), hard=row.get("hard"))
        except (ValueError, KeyError, TypeError) as exc:
            raise ClassifierError(f"{path}:{number}: bad record ({exc})") from exc
        if example.stance not in STANCES or not set(example.topics) <= set(TOPICS) or not example.topics:
            raise ClassifierError(f"{path}:{number}: stance must be one of {STANCES} and topics a non-empty "
                                  f"list from {TOPICS}")
        examples.append(example)
    return examples


def load_corpus(folder: Path) -> list[Example]:
    """Every example of every `*.jsonl` in `folder`, in file-name order; ids must be unique."""
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise ClassifierError(f"no *.jsonl corpus files in {folder}")
    examples = [e for f in files for e in load_jsonl(f)]
    seen: set[str] = set()
    for e in examples:
        if e.id in seen:
            raise ClassifierError(f"{folder}: duplicate example id {e.id!r}")
        seen.add(e.id)
    return examples


def load_splits(folder: Path) -> dict[str, set[str]]:
    """`splits.json`: the disputes held out for dev and for test; every other dispute trains."""
    path = folder / "splits.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClassifierError(f"cannot read {path}: {exc}") from exc
    return {"dev": set(data["dev"]), "test": set(data["test"])}


def split(examples: list[Example], splits: dict[str, set[str]]) -> dict[str, list[Example]]:
    out: dict[str, list[Example]] = {"train": [], "dev": [], "test": []}
    for e in examples:
        name = "dev" if e.dispute in splits["dev"] else "test" if e.dispute in splits["test"] else "train"
        out[name].append(e)
    return out


def corpus_digest(folder: Path) -> str:
    """A hash of the corpus files and splits, so a model records exactly what it learned from."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.jsonl")) + [folder / "splits.json"]:
        if path.exists():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]
