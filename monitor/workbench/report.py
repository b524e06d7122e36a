"""`monitor report`: escalation over time per actor, drawn offline (matplotlib, no browser).

One panel per actor: the daily mean escalation score (from the escalation_daily rollup), the
statements that raised an alert as red triangles labelled with their strongest cue, and the
de-escalatory statements as green triangles pointing down, so a thaw shows as well as a crisis.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from monitor.errors import MonitorError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = (".png", ".svg", ".html")
MAX_ACTORS = 8          # panels; more would be unreadable on one page
MAX_LABELS = 10         # cue labels per panel, the highest-scoring alerts first
ESCALATORY, DE_ESCALATORY, LINE = "#c0392b", "#1e8449", "#34495e"


class ReportError(MonitorError):
    """The report cannot be drawn as asked."""


@dataclass(frozen=True)
class Point:
    at: datetime
    score: float
    title: str
    cue: str = ""


@dataclass
class ActorSeries:
    actor: str
    days: list[datetime] = field(default_factory=list)
    mean_score: list[float] = field(default_factory=list)
    alerted: list[Point] = field(default_factory=list)
    de_escalatory: list[Point] = field(default_factory=list)


@dataclass
class ReportData:
    since: date
    series: list[ActorSeries]
    left_out: list[str] = field(default_factory=list)


_DAILY = """
select day, actor, score_mean from escalation_daily
where day >= :since and actor in ({actors}) order by day
"""
_ACTORS = """
select actor from escalation_daily where day >= :since
group by actor order by sum(escalations) desc, sum(statements) desc, actor
"""
_ALERTED = """
select s.actor, coalesce(s.published_at, s.fetched_at) as at, c.escalation_score, c.cues,
       coalesce(s.title, substr(s.text, 1, 80))
from statements s join current_classifications c on c.statement_id = s.id
where s.id in (select statement_id from alerts where kind = 'new')
  and coalesce(s.published_at, s.fetched_at) >= :since and s.deleted_at is null and s.actor in ({actors})
order by at
"""
_DE_ESCALATORY = """
select s.actor, coalesce(s.published_at, s.fetched_at) as at, c.escalation_score, c.cues,
       coalesce(s.title, substr(s.text, 1, 80))
from statements s join current_classifications c on c.statement_id = s.id
where c.stance = 'de-escalatory'
  and coalesce(s.published_at, s.fetched_at) >= :since and s.deleted_at is null and s.actor in ({actors})
order by at
"""


def load_report(db: Database, since: date, actors: tuple[str, ...] = ()) -> ReportData:
    """The series to draw, read from the rollup and the current classifications."""
    params: dict[str, Any] = {"since": since.isoformat()}
    known = [row[0] for row in db.execute(_ACTORS, params)]
    if actors:
        missing = [a for a in actors if a not in known]
        if missing:
            raise ReportError(f"no classified statements since {since} for {', '.join(map(repr, missing))} "
                              f"(actors with statements: {', '.join(known) or 'none'})")
        chosen, left_out = list(actors), []
    else:
        chosen, left_out = known[:MAX_ACTORS], known[MAX_ACTORS:]
    if not chosen:
        raise ReportError(f"no classified statements since {since}: nothing to draw "
                          "(is the daemon running, and has the rollup been refreshed?)")
    placeholders = ", ".join(f":a{i}" for i in range(len(chosen)))
    params.update({f"a{i}": actor for i, actor in enumerate(chosen)})
    series = {actor: ActorSeries(actor) for actor in chosen}
    for day, actor, mean in db.execute(_DAILY.format(actors=placeholders), params):
        series[actor].days.append(datetime.fromisoformat(day[:10]).replace(hour=12))  # mid-day
        series[actor].mean_score.append(float(mean))
    for sql, attr in ((_ALERTED, "alerted"), (_DE_ESCALATORY, "de_escalatory")):
        for actor, at, score, cues, title in db.execute(sql.format(actors=placeholders), params):
            cue = (json.loads(cues or "[]") or [""])[0]
            getattr(series[actor], attr).append(Point(_parse(at), float(score), title or "", cue))
    return ReportData(since=since, series=list(series.values()), left_out=left_out)


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def build_figure(data: ReportData) -> Figure:
    """One panel per actor, sharing the time axis."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    rows = len(data.series)
    figure = Figure(figsize=(11, 1.2 + 2.3 * rows), layout="constrained")
    axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    for ax, s in zip(axes, data.series, strict=True):
        ax.plot(s.days, s.mean_score, color=LINE, linewidth=1.4, marker="o", markersize=2.5,
                label="mean escalation score per day")
        if s.alerted:
            ax.scatter([p.at for p in s.alerted], [p.score for p in s.alerted], marker="^", s=70,
                       color=ESCALATORY, zorder=3, label="alerted statement")
        if s.de_escalatory:
            ax.scatter([p.at for p in s.de_escalatory], [p.score for p in s.de_escalatory], marker="v",
                       s=60, color=DE_ESCALATORY, zorder=3, label="de-escalatory statement")
        for p in sorted(s.alerted, key=lambda p: -p.score)[:MAX_LABELS]:
            if p.cue:
                ax.annotate(_short(p.cue), (p.at, p.score), xytext=(4, 7), textcoords="offset points",
                            fontsize=7.5, color=ESCALATORY, rotation=12)
        ax.set_title(s.actor, loc="left", fontsize=11, fontweight="bold")
        ax.set_ylim(-0.03, 1.12)
        ax.set_ylabel("escalation")
        ax.grid(True, axis="y", alpha=0.3)
    locator = AutoDateLocator()
    axes[-1].xaxis.set_major_locator(locator)
    axes[-1].xaxis.set_major_formatter(ConciseDateFormatter(locator))
    legend = [Line2D([], [], color=LINE, marker="o", markersize=3, label="mean escalation score per day"),
              Line2D([], [], color=ESCALATORY, marker="^", linestyle="", markersize=8,
                     label="alerted statement (label: its strongest cue)"),
              Line2D([], [], color=DE_ESCALATORY, marker="v", linestyle="", markersize=8,
                     label="de-escalatory statement")]
    figure.legend(handles=legend, loc="outside lower center", ncols=3, fontsize=9, frameon=False)
    note = f" ({len(data.left_out)} more actors left out)" if data.left_out else ""
    figure.suptitle(f"Escalation per actor since {data.since.isoformat()}{note}", fontsize=13)
    return figure


def _short(cue: str, limit: int = 32) -> str:
    return cue if len(cue) <= limit else cue[: limit - 1] + "…"


def write_report(data: ReportData, output: Path) -> None:
    """Writes PNG, SVG or a self-contained HTML page (the chart and the alerted statements)."""
    suffix = output.suffix.lower()
    if suffix not in FORMATS:
        raise ReportError(f"cannot write {output}: the output must end in {', '.join(FORMATS)}")
    figure = build_figure(data)
    try:
        if suffix == ".html":
            output.write_text(_html(data, figure), encoding="utf-8")
        else:
            figure.savefig(output, dpi=110 if suffix == ".png" else 72, format=suffix[1:])
    except OSError as exc:
        raise ReportError(f"cannot write {output}: {exc.strerror}") from exc


def _html(data: ReportData, figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    image = base64.b64encode(buffer.getvalue()).decode("ascii")
    rows = "".join(
        f"<tr><td>{p.at:%Y-%m-%d %H:%M}</td><td>{html.escape(s.actor)}</td><td>{p.score:.2f}</td>"
        f"<td>{html.escape(p.cue)}</td><td>{html.escape(p.title)}</td></tr>"
        for s in data.series for p in s.alerted)
    title = f"Escalation per actor since {data.since.isoformat()}"
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>{title}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:.2em .6em;text-align:left;"
            "border-bottom:1px solid #ddd}img{max-width:100%}</style>"
            f"<h1>{title}</h1><img alt=\"{title}\" src=\"data:image/png;base64,{image}\">"
            "<h2>Alerted statements</h2><table><tr><th>published</th><th>actor</th><th>score</th>"
            f"<th>cue</th><th>title</th></tr>{rows}</table></html>\n")
