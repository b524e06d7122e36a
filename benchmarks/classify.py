"""Classifier throughput against the bare encoder forward pass on the same texts.

Prints statements/second for short posts and for press-release paragraphs, taken from the
corpus, for (a) `classifier.classify` (tokenise, encode, pool, heads, decision, cues) and (b) the
bare encoder forward pass (tokenise + model forward) at the same batch size. Median of 3 runs.

    .venv/bin/python benchmarks/classify.py [--model models/stance-topic] [--n 128] [--batch 16]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from monitor.classify import load_classifier  # noqa: E402
from monitor.classify.corpus import load_corpus  # noqa: E402
from monitor.config import ClassifierConfig  # noqa: E402


def texts_of(genres: set[str], n: int) -> list[str]:
    examples = [e.text for e in load_corpus(ROOT / "models" / "corpus") if e.genre in genres]
    return (examples * (n // max(1, len(examples)) + 1))[:n]


def rate(fn, texts: list[str], repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    fn(texts[:8])  # warm up
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(texts)
        runs.append(len(texts) / (time.perf_counter() - start))
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "stance-topic"))
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    classifier = load_classifier(ClassifierConfig(model=args.model, batch_size=args.batch))
    encoder = classifier.encoder  # type: ignore[attr-defined]

    def bare(texts: list[str]) -> None:
        with torch.inference_mode():
            for start in range(0, len(texts), args.batch):
                encoder.hidden(texts[start:start + args.batch])

    print(f"model {classifier.name}, encoder {encoder.name}, batch {args.batch}, "
          f"{torch.get_num_threads()} torch threads")
    print(f"{'texts':<22}{'n':>5}{'mean words':>12}{'classifier/s':>14}{'bare encoder/s':>16}{'ratio':>8}")
    results = {}
    for label, genres in (("short posts", {"post"}), ("press releases", {"press_release", "communique"})):
        texts = texts_of(genres, args.n)
        words = statistics.mean(len(t.split()) for t in texts)
        full, raw = rate(classifier.classify, texts), rate(bare, texts)
        results[label] = {"classifier": round(full, 1), "bare": round(raw, 1), "ratio": round(full / raw, 3)}
        print(f"{label:<22}{len(texts):>5}{words:>12.0f}{full:>14.1f}{raw:>16.1f}{full / raw:>8.2f}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
