"""How often the classifier agrees with the stance the scenario's writer gave each demo item.

The demo scenario (demo/scenario.json) was written apart from the training corpus, so this is a
small second check of generalization next to the held-out test disputes. Prints each item the
model decides differently, then the count.

    .venv/bin/python demo/agreement.py [--model models/stance-topic]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.classify import statement_text  # noqa: E402
from monitor.classify.hf import HFClassifier  # noqa: E402
from monitor.replay import load_scenario  # noqa: E402
from monitor.text import html_to_text  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "stance-topic"), help="model folder")
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "demo" / "scenario.json")
    items = [item for item in scenario["items"] if item.get("expected_stance")]
    texts = [statement_text(item.get("title"), html_to_text(item.get("content_html") or item.get("summary")))
             for item in items]
    results = HFClassifier(Path(args.model)).classify(texts)
    agree = 0
    for item, result in zip(items, results, strict=True):
        if result.stance == item["expected_stance"]:
            agree += 1
        else:
            print(f"{item['guid']}: written {item['expected_stance']}, model {result.stance} "
                  f"(escalation_score {result.escalation_score:.3f})")
    print(f"{agree}/{len(items)} stances agree with the writer")


if __name__ == "__main__":
    main()
