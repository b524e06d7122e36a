"""kind = "x" against a local server speaking X API v2, through the real pipeline and store."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from monitor.pipeline import poll_source
from monitor.replay import LocalSite, Request, Response
from monitor.store import outbox
from tests.sources.platforms import json_response, rows, runtime_for, snowflake, timeline, tweet

TOKEN = "AAAAtest-bearer-7f3c9e1d5b"
LONG = ("Hoy el Departamento del Tesoro me incluyó en su lista, junto a mi familia. Lo digo con claridad: "
        "no hemos cometido delito alguno y lo demostraremos ante los tribunales de ese país con un abogado "
        "que ya tiene el caso. Quien combatió a los carteles durante décadas no puede ser tratado como uno "
        "de ellos. No retrocederemos ni un milímetro, y tampoco nos arrodillaremos ante nadie.")
ORIGINAL = tweet("2025-10-24T15:52:10Z", LONG[:270], note=LONG)
RETWEET_SOURCE = tweet("2025-10-24T15:00:00Z", "La Cancillería llama a consultas a su embajador en Washington "
                       "para revisar el estado de la relación bilateral tras las decisiones de esta semana.")
RETWEET = tweet("2025-10-24T16:20:03Z", "RT @CancilleriaEspejo: La Cancillería llama a consultas a su embajador "
                "en Washington para revisar el esta", refs=[("retweeted", RETWEET_SOURCE["id"])])
REPLY = tweet("2025-10-23T10:00:00Z", "Y agrego: el diálogo directo sigue siendo el camino que preferimos.",
              refs=[("replied_to", snowflake("2025-10-23T09:58:00Z"))], reply_to_user="900100")
NEUTRAL = tweet("2025-10-22T21:30:00Z", "Hoy a las siete de la noche, reunión del gabinete en directo.")


class XServer:
    """Routes of the X API on a LocalSite; `posts` is the timeline, newest first."""

    def __init__(self, site: LocalSite, posts: list[dict[str, Any]], page_size: int = 2) -> None:
        self.site, self.posts, self.page_size, self.gone = site, posts, page_size, set()  # type: set[str]
        self.limited_until: int | None = None
        site.routes["/2/users/by/username/petro_espejo"] = self.user
        site.routes["/2/users/900100/tweets"] = self.tweets
        site.routes["/2/tweets"] = self.lookup

    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    def user(self, request: Request) -> Response:
        if not self.authorized(request):
            return json_response({"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}, 401)
        return json_response({"data": {"id": "900100", "name": "Espejo", "username": "petro_espejo"}})

    def tweets(self, request: Request) -> Response:
        if not self.authorized(request):
            return json_response({"title": "Unauthorized", "status": 401}, 401)
        if self.limited_until:
            return json_response({"title": "Too Many Requests", "type": "about:blank", "status": 429,
                                  "detail": "Too Many Requests"}, 429, **{
                "x-rate-limit-limit": "1500", "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(self.limited_until)})
        query = parse_qs(urlsplit(request.path).query)
        posts = self.posts
        if "since_id" in query:
            since = int(query["since_id"][0])
            posts = [p for p in posts if int(p["id"]) > since]
        start = int(query.get("pagination_token", ["0"])[0])
        size = min(self.page_size, int(query["max_results"][0]))
        page = posts[start:start + size]
        token = str(start + size) if start + size < len(posts) else None
        included = [RETWEET_SOURCE] if any(p is RETWEET for p in page) else None
        return json_response(timeline(page, token, included))

    def lookup(self, request: Request) -> Response:
        ids = parse_qs(urlsplit(request.path).query)["ids"][0].split(",")
        data = [{"id": i, "text": "…", "edit_history_tweet_ids": [i]} for i in ids if i not in self.gone]
        errors = [{"value": i, "detail": f"Could not find tweet with ids: [{i}].", "title": "Not Found Error",
                   "resource_type": "tweet", "parameter": "ids", "resource_id": i,
                   "type": "https://api.twitter.com/2/problems/resource-not-found"} for i in ids if i in self.gone]
        return json_response({**({"data": data} if data else {}), **({"errors": errors} if errors else {})})


def x_source(site: LocalSite, **extra: str) -> str:
    lines = "\n".join(f"{k} = {v}" for k, v in extra.items())
    return (f'[[sources]]\nid = "petro-x"\nkind = "x"\nhandle = "petro_espejo"\nbearer_token = "{TOKEN}"\n'
            f'api_base = "{site.url}"\nactor = "Gustavo Petro"\ncountry = "CO"\nlang = "es"\ninterval = "1m"\n'
            f"{lines}\n")


def test_first_poll_pages_through_the_timeline_with_full_texts_and_flags(site: LocalSite, tmp_path: Path) -> None:
    XServer(site, [RETWEET, ORIGINAL, REPLY, NEUTRAL])
    runtime = runtime_for(tmp_path, x_source(site))
    outcome = poll_source(runtime, "petro-x")
    assert outcome.error is None and len(outcome.new) == 4
    stored = {r[0]: r[1:] for r in rows(runtime, "select external_id, text, is_reply, is_repost, url, published_at "
                                                 "from statements")}
    assert stored[ORIGINAL["id"]][0] == LONG  # from note_tweet, not the cut-off text
    assert stored[RETWEET["id"]][0].startswith("RT @CancilleriaEspejo: La Cancillería") and \
        stored[RETWEET["id"]][0].endswith("decisiones de esta semana.") and stored[RETWEET["id"]][2] == 1
    assert stored[REPLY["id"]][1] == 1 and stored[NEUTRAL["id"]][1:3] == (0, 0)
    assert stored[ORIGINAL["id"]][3] == f"https://x.com/petro_espejo/status/{ORIGINAL['id']}"
    assert stored[ORIGINAL["id"]][4] == "2025-10-24T15:52:10Z"
    timeline_requests = site.requests_to("/2/users/900100/tweets")
    assert len(timeline_requests) == 2  # two pages, the second with pagination_token
    first = parse_qs(urlsplit(timeline_requests[0].path).query)
    assert "since_id" not in first and first["max_results"] == ["50"]
    for field in ("created_at", "lang", "edit_history_tweet_ids", "note_tweet", "referenced_tweets"):
        assert field in first["tweet.fields"][0]
    assert parse_qs(urlsplit(timeline_requests[1].path).query)["pagination_token"] == ["2"]

    # the user id is kept: the next poll skips the lookup and asks only from the recent window on
    assert poll_source(runtime, "petro-x").new == ()
    assert len(site.requests_to("/2/users/by/username/petro_espejo")) == 1
    later = parse_qs(urlsplit(site.requests_to("/2/users/900100/tweets")[-1].path).query)
    assert later["since_id"] == [min((p["id"] for p in (RETWEET, ORIGINAL, REPLY, NEUTRAL)), key=int)]


def test_an_edit_is_a_new_version_of_the_original(site: LocalSite, tmp_path: Path) -> None:
    server = XServer(site, [ORIGINAL, NEUTRAL], page_size=10)
    runtime = runtime_for(tmp_path, x_source(site))
    poll_source(runtime, "petro-x")
    edited_text = LONG.replace("ni un milímetro", "ni un solo paso")
    edit = tweet("2025-10-24T16:05:00Z", edited_text[:270], note=edited_text,
                 history=[ORIGINAL["id"], snowflake("2025-10-24T16:05:00Z")])
    server.posts = [edit, NEUTRAL]
    outcome = poll_source(runtime, "petro-x")
    assert outcome.new == () and len(outcome.edited) == 1
    assert rows(runtime, "select count(*) from statements") == [(2,)]
    versions = rows(runtime, "select v.version, v.text from statement_versions v join statements s "
                             "on s.id = v.statement_id where s.external_id = ? order by v.version", [ORIGINAL["id"]])
    assert [v[0] for v in versions] == [1, 2] and "ni un solo paso" in versions[1][1]


def test_a_deleted_post_is_confirmed_marked_and_alerted(site: LocalSite, tmp_path: Path) -> None:
    server = XServer(site, [ORIGINAL, REPLY, NEUTRAL], page_size=10)
    runtime = runtime_for(tmp_path, x_source(site), channels='[alerts.channels.console]\nkind = "console"\n',
                          rules='[[alerts.rules]]\nname = "all"\nchannels = ["console"]\n')
    poll_source(runtime, "petro-x")
    db = runtime.db()
    reply_id = rows(runtime, "select id from statements where external_id = ?", [REPLY["id"]])[0][0]
    with db.conn:
        outbox.enqueue(db, reply_id, "all", "console", "new", runtime.now())
    server.posts = [ORIGINAL, NEUTRAL]  # the reply vanished from the listing...
    assert poll_source(runtime, "petro-x").deleted == ()  # ...but the lookup still finds it: not deleted
    server.gone.add(REPLY["id"])
    outcome = poll_source(runtime, "petro-x")
    assert outcome.deleted == (reply_id,)
    assert rows(runtime, "select deleted_at is not null from statements where id = ?", [reply_id]) == [(1,)]
    assert rows(runtime, "select count(*) from statement_versions where statement_id = ?", [reply_id]) == [(1,)]
    assert rows(runtime, "select kind from alerts where statement_id = ? order by id", [reply_id]) == \
        [("new",), ("deleted",)]
    lookup = parse_qs(urlsplit(site.requests_to("/2/tweets")[-1].path).query)
    assert lookup["ids"] == [REPLY["id"]]


def test_replies_and_reposts_can_be_skipped(site: LocalSite, tmp_path: Path) -> None:
    XServer(site, [RETWEET, ORIGINAL, REPLY, NEUTRAL], page_size=10)
    runtime = runtime_for(tmp_path, x_source(site, include_replies="false", include_reposts="false"))
    poll_source(runtime, "petro-x")
    assert sorted(r[0] for r in rows(runtime, "select external_id from statements")) == \
        sorted([ORIGINAL["id"], NEUTRAL["id"]])
    query = parse_qs(urlsplit(site.requests_to("/2/users/900100/tweets")[0].path).query)
    assert query["exclude"] == ["replies,retweets"]


def test_429_backs_off_until_the_reset_time(site: LocalSite, tmp_path: Path) -> None:
    server = XServer(site, [NEUTRAL])
    reset = int(time.time()) + 900
    server.limited_until = reset
    runtime = runtime_for(tmp_path, x_source(site))
    outcome = poll_source(runtime, "petro-x")
    assert outcome.error is not None and "rate limited (HTTP 429)" in outcome.error
    assert outcome.next_poll_at is not None and abs(outcome.next_poll_at.timestamp() - reset) < 5


def test_the_bearer_token_never_leaves_the_header(site: LocalSite, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    XServer(site, [ORIGINAL, NEUTRAL])
    runtime = runtime_for(tmp_path, x_source(site).replace(TOKEN, TOKEN + "-wrong"))
    with caplog.at_level(logging.DEBUG):
        refused = poll_source(runtime, "petro-x")
    assert refused.error is not None and "HTTP 401" in refused.error and "X_BEARER_TOKEN" in refused.error
    assert TOKEN not in refused.error and TOKEN not in caplog.text
    (tmp_path / "ok").mkdir()
    good = runtime_for(tmp_path / "ok", x_source(site))
    assert poll_source(good, "petro-x").error is None
    for database in (tmp_path / "monitor.db", tmp_path / "ok" / "monitor.db"):
        for path in database.parent.glob("monitor.db*"):
            assert TOKEN.encode() not in path.read_bytes()


def test_a_missing_user_is_a_clear_error(site: LocalSite, tmp_path: Path) -> None:
    site.routes["/2/users/by/username/nadie"] = lambda r: json_response({"errors": [{
        "value": "nadie", "detail": "Could not find user with username: [nadie].", "title": "Not Found Error",
        "type": "https://api.twitter.com/2/problems/resource-not-found"}]})
    runtime = runtime_for(tmp_path, x_source(site).replace('handle = "petro_espejo"', 'handle = "nadie"'))
    error = poll_source(runtime, "petro-x").error
    assert error is not None and "X user @nadie not found" in error and "Could not find user" in error
