"""Evaluation figures: per-class and per-language F1, confusion matrix, topic micro-F1, and the
calibration error of escalation_score. Pure functions over labels and predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor.models import STANCES


@dataclass(frozen=True)
class Scored:
    """One evaluated item: gold labels and what the classifier said."""

    lang: str
    stance: str
    topics: tuple[str, ...]
    predicted_stance: str
    predicted_topics: tuple[str, ...]
    escalation_score: float


def prf(gold: Sequence[bool], predicted: Sequence[bool]) -> tuple[float, float, float]:
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    fp = sum(p and not g for g, p in zip(gold, predicted, strict=True))
    fn = sum(g and not p for g, p in zip(gold, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def expected_calibration_error(scores: Sequence[float], positives: Sequence[bool], bins: int = 10) -> float:
    """Weighted mean |accuracy - confidence| over equal-width bins of the escalation score."""
    total, error = len(scores), 0.0
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [i for i, s in enumerate(scores) if low <= s < high or (b == bins - 1 and s == 1.0)]
        if members:
            confidence = sum(scores[i] for i in members) / len(members)
            accuracy = sum(positives[i] for i in members) / len(members)
            error += len(members) / total * abs(accuracy - confidence)
    return error


def reliability(scores: Sequence[float], positives: Sequence[bool], bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean score, observed escalatory rate, count) per non-empty bin, for a reliability diagram."""
    out = []
    for b in range(bins):
        members = [i for i, s in enumerate(scores) if b / bins <= s < (b + 1) / bins or (b == bins - 1 and s == 1.0)]
        if members:
            out.append((sum(scores[i] for i in members) / len(members),
                        sum(positives[i] for i in members) / len(members), len(members)))
    return out


@dataclass
class Report:
    n: int
    per_class: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)
    macro_f1: float = 0.0
    escalation_f1: float = 0.0
    topic_micro_f1: float = 0.0
    ece: float = 0.0
    confusion: list[list[int]] = field(default_factory=list)


def report(items: Sequence[Scored]) -> Report:
    result = Report(n=len(items))
    if not items:
        return result
    for label in STANCES:
        p, r, f = prf([i.stance == label for i in items], [i.predicted_stance == label for i in items])
        result.per_class[label] = (p, r, f, sum(i.stance == label for i in items))
    result.macro_f1 = sum(v[2] for v in result.per_class.values()) / len(STANCES)
    result.escalation_f1 = result.per_class["escalatory"][2]
    tp = sum(len(set(i.topics) & set(i.predicted_topics)) for i in items)
    fp = sum(len(set(i.predicted_topics) - set(i.topics)) for i in items)
    fn = sum(len(set(i.topics) - set(i.predicted_topics)) for i in items)
    result.topic_micro_f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    result.ece = expected_calibration_error([i.escalation_score for i in items],
                                            [i.stance == "escalatory" for i in items])
    result.confusion = [[sum(1 for i in items if i.stance == g and i.predicted_stance == p) for p in STANCES]
                        for g in STANCES]
    return result


def format_report(items: Sequence[Scored]) -> str:
    """The text `monitor eval` prints: overall, then per language."""
    lines = []
    groups = [("all", list(items))] + [(lang, [i for i in items if i.lang == lang])
                                       for lang in sorted({i.lang for i in items})]
    for name, group in groups:
        r = report(group)
        lines.append(f"== {name} (n={r.n}) ==")
        lines.append(f"{'class':<15}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}")
        for label, (p, rec, f, n) in r.per_class.items():
            lines.append(f"{label:<15}{p:>10.3f}{rec:>8.3f}{f:>8.3f}{n:>9}")
        lines.append(f"stance macro-F1 {r.macro_f1:.3f} | escalation F1 {r.escalation_f1:.3f} | "
                     f"topic micro-F1 {r.topic_micro_f1:.3f} | escalation ECE {r.ece:.3f}")
        lines.append("confusion (rows gold, columns predicted: " + ", ".join(STANCES) + ")")
        lines += ["  " + f"{g:<15}" + " ".join(f"{v:>6}" for v in row)
                  for g, row in zip(STANCES, r.confusion, strict=True)]
        lines.append("")
    return "\n".join(lines)


def plot_reliability(items: Sequence[Scored], path: Path, title: str = "", bins: int = 10) -> None:
    """A reliability diagram of escalation_score: observed escalatory rate per score bin, per language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 5), dpi=120)
    axis.plot([0, 1], [0, 1], linestyle="--", color="#999999", label="perfect calibration")
    for lang in ["all"] + sorted({i.lang for i in items}):
        group = items if lang == "all" else [i for i in items if i.lang == lang]
        scores, positives = [i.escalation_score for i in group], [i.stance == "escalatory" for i in group]
        points = reliability(scores, positives, bins)
        ece = expected_calibration_error(scores, positives)
        axis.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                  label=f"{lang} (ECE {ece:.3f}, n={len(group)})")
    axis.set_xlabel("escalation_score (mean of bin)")
    axis.set_ylabel("share of statements labelled escalatory")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_title(title or "Reliability of escalation_score", fontsize=10)
    axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
