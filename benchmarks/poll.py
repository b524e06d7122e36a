"""Polling speed: 1,000 sources of mixed kinds on a local server, one pass through the real pipeline.

Prints sources/second for (1) the pipeline's pass (poll_all: HTTP, parsing, SQLite), (2) bare
concurrent httpx GETs of the same URLs (the limit: no parsing, no store), and (3) a sequential
`feedparser.parse(url)` loop over each source's main URL (what a script does).

    .venv/bin/python benchmarks/poll.py [--sources 1000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.cli import build_runtime  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.pipeline import poll_all  # noqa: E402
from monitor.replay import Item, LocalSite, rss_document  # noqa: E402
from monitor.store.state import sync_sources  # noqa: E402
from tests.sources.platforms import (  # noqa: E402
    bsky_item,
    html_response,
    json_response,
    status,
    tg_message,
    tg_page,
    timeline,
    tweet,
)

KINDS = ("rss", "x", "mastodon", "bluesky", "telegram", "federal_register", "html")
START = datetime(2025, 10, 24, 12, tzinfo=UTC)


def _text(i: int, n: int) -> str:
    return f"Comunicado {n} de la fuente {i}: el gobierno anuncia nuevas medidas sobre la relación bilateral."


def serve(site: LocalSite, i: int, kind: str) -> tuple[str, str]:
    """Routes for source `i`; returns its TOML table and the main URL a script would fetch."""
    at = [(START + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M:%SZ") for n in range(5)]
    p = f"/{kind}{i}"
    common = f'id = "{kind}-{i}"\nkind = "{kind}"\nactor = "Actor {i}"\nbackfill = 5\n'
    if kind == "rss":
        items = [Item("f", f"g{i}-{n}", f"Título {n}", START + timedelta(minutes=n), _text(i, n),
                      f"<p>{_text(i, n)}</p>") for n in range(5)]
        body = rss_document("Feed", "https://example.gov", "es", items, site.url)
        site.routes[p + ".xml"] = lambda r: (200, {"Content-Type": "application/rss+xml"}, body)
        return common + f'url = "{site.url}{p}.xml"\n', f"{site.url}{p}.xml"
    if kind == "x":
        posts = [tweet(at[n], _text(i, n)) for n in reversed(range(5))]
        site.routes[p + "/2/users/by/username/h"] = lambda r: json_response({"data": {"id": "900100"}})
        site.routes[p + "/2/users/900100/tweets"] = lambda r: json_response(timeline(posts))
        return common + f'handle = "h"\nbearer_token = "t"\napi_base = "{site.url}{p}"\n', \
            f"{site.url}{p}/2/users/900100/tweets"
    if kind == "mastodon":
        statuses = [status(str(115429600000000000 + n), at[n], f"<p>{_text(i, n)}</p>") for n in reversed(range(5))]
        site.routes[p + "/api/v1/accounts/lookup"] = lambda r: json_response({"id": "7"})
        site.routes[p + "/api/v1/accounts/7/statuses"] = lambda r: json_response(statuses)
        return common + f'handle = "u@m.example"\napi_base = "{site.url}{p}"\n', \
            f"{site.url}{p}/api/v1/accounts/7/statuses"
    if kind == "bluesky":
        feed = {"feed": [bsky_item(f"3m3x{n}aaaaaa2a", _text(i, n), at[n]) for n in reversed(range(5))]}
        site.routes[p + "/xrpc/app.bsky.feed.getAuthorFeed"] = lambda r: json_response(feed)
        return common + f'handle = "espejo-colombia.bsky.social"\napi_base = "{site.url}{p}"\n', \
            f"{site.url}{p}/xrpc/app.bsky.feed.getAuthorFeed"
    if kind == "telegram":
        page = tg_page("c", [tg_message("c", 100 + n, _text(i, n), at[n]) for n in range(5)], None)
        site.routes[p + "/s/c"] = lambda r: html_response(page)
        return common + f'channel = "c"\napi_base = "{site.url}{p}"\n', f"{site.url}{p}/s/c"
    if kind == "federal_register":
        docs = {"count": 5, "results": [{"document_number": f"2025-{i}-{n}", "title": f"Notice {n}",
                                         "abstract": _text(i, n), "html_url": f"https://fr.example/{i}/{n}",
                                         "publication_date": "2025-10-24", "agencies": []} for n in range(5)]}
        site.routes[p + "/api/v1/documents.json"] = lambda r: json_response(docs)
        return common + f'api_base = "{site.url}{p}"\n', f"{site.url}{p}/api/v1/documents.json"
    rows = "".join(f'<div class="item"><span class="d">24 de octubre de 2025</span><a href="{p}/a{n}">T {n}</a></div>'
                   for n in range(5))
    site.routes[p + "/list"] = lambda r: html_response(f"<html><body>{rows}</body></html>")
    for n in range(5):
        article = f"<html><body><article><h1>T {n}</h1><p>{_text(i, n) * 3}</p></article></body></html>"
        site.routes[f"{p}/a{n}"] = (lambda a: lambda r: html_response(a))(article)
    return common + f'url = "{site.url}{p}/list"\nitem_selector = "div.item"\nlink_selector = "a"\n' \
                    'date_selector = ".d"\n', f"{site.url}{p}/list"


def _delayed(handler, seconds: float):  # type: ignore[no-untyped-def]
    def answer(request):  # type: ignore[no-untyped-def]
        time.sleep(seconds)  # the network round trip of a real site
        return handler(request)
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=-1,
                        help="[http] poll_processes for the pass (-1 = automatic, 0 = threads only) [default -1]")
    parser.add_argument("--latency", type=float, default=0.05,
                        help="seconds the server waits before each answer, as a remote site's round trip does "
                             "(0 = loopback speed) [default 0.05]")
    args = parser.parse_args()
    site = LocalSite()
    with tempfile.TemporaryDirectory() as folder:
        tables, mains = [], []
        for i in range(args.sources):
            table, url = serve(site, i, KINDS[i % len(KINDS)])
            tables.append("[[sources]]\n" + table)
            mains.append(url)
        if args.latency:
            site.routes = {path: _delayed(handler, args.latency) for path, handler in site.routes.items()}
        # The sites are remote in real life: serve them from another process, so that their work
        # does not share this process's GIL with the client being measured.
        server = multiprocessing.get_context("fork").Process(target=site.server.serve_forever, daemon=True)
        server.start()
        path = Path(folder) / "monitor.toml"
        path.write_text(f'[monitor]\ndatabase = "{folder}/bench.db"\n\n[http]\npoll_processes = {args.processes}\n\n'
                        + "\n".join(tables), encoding="utf-8")
        config = load_config(path, {})
        runtime = build_runtime(config, poll_workers=True)
        sync_sources(runtime.db(migrate=True), config.sources)
        start = time.perf_counter()
        if runtime.workers is not None:  # as `monitor run` does before its first poll
            runtime.workers.warm()
        warm_s = time.perf_counter() - start

        start = time.perf_counter()
        outcomes = poll_all(runtime)
        pipeline_s = time.perf_counter() - start
        runtime.close()
        failed = [o for o in outcomes if o.error]
        stored = runtime.db().execute("select count(*) from statements").fetchone()[0]
        urls = [site.url + path for path in site.routes]  # the pass requests every route once

        with httpx.Client(limits=httpx.Limits(max_connections=config.http.max_connections)) as client:
            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=config.http.max_connections) as pool:
                list(pool.map(lambda u: client.get(u).content, urls))
            bare_s = time.perf_counter() - start

        sample = mains[: max(50, args.sources // 10)]  # the loop is slow: time a sample, scale per source
        start = time.perf_counter()
        for url in sample:
            feedparser.parse(url)
        loop_rate = len(sample) / (time.perf_counter() - start)
        server.terminate()

    n = args.sources
    print(f"{n} sources ({', '.join(KINDS)}), {len(urls)} requests, {stored} statements stored, "
          f"{len(failed)} failed, server latency {args.latency * 1000:.0f} ms")
    print(f"pipeline pass (poll_all):        {n / pipeline_s:8.1f} sources/s  ({pipeline_s:.2f} s; "
          + (f"{runtime.workers.processes} worker processes, started in {warm_s:.2f} s before the pass)"
             if runtime.workers else "in-process threads)"))
    print(f"bare concurrent httpx GETs:      {n / bare_s:8.1f} sources/s  ({bare_s:.2f} s, same {len(urls)} URLs)")
    print(f"sequential feedparser.parse:     {loop_rate:8.1f} sources/s  (sample of {len(sample)})")
    print(f"pipeline / bare GETs = {(n / pipeline_s) / (n / bare_s):.2f}x (target >= 0.5x); "
          f"pipeline / sequential = {(n / pipeline_s) / loop_rate:.1f}x (target >= 10x)")
    if failed:
        print("first failure:", failed[0].error)


if __name__ == "__main__":
    main()
