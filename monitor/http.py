"""The one place an httpx.Client is built, and a size-limited GET every source uses."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from monitor.config import HttpConfig


def make_client(config: HttpConfig, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A client with our User-Agent, timeouts, redirects and a connection pool sized for polling."""
    return httpx.Client(
        headers={"User-Agent": config.user_agent},
        timeout=httpx.Timeout(config.timeout_seconds, connect=min(10.0, config.timeout_seconds)),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=config.max_connections,
                            max_keepalive_connections=config.max_connections),
        transport=transport,
    )


class BodyTooLargeError(Exception):
    """The response body passed the configured limit; raised by `get_limited`."""

    def __init__(self, url: str, limit: int) -> None:
        self.url, self.limit = url, limit
        super().__init__(f"GET {url}: body larger than {limit:,} bytes")


def get_limited(client: httpx.Client, url: str, *, max_bytes: int,
                headers: Mapping[str, str] | None = None,
                params: Mapping[str, str] | None = None) -> httpx.Response:
    """GETs `url`, reading at most `max_bytes` of body; the returned response is fully read.

    Raises httpx errors as they come and BodyTooLargeError when the body (declared or actual)
    is larger than the limit, so a hostile server cannot make us buffer gigabytes.
    """
    with client.stream("GET", url, headers=headers, params=params) as response:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise BodyTooLargeError(url, max_bytes)
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLargeError(url, max_bytes)
            chunks.append(chunk)
        response._content = b"".join(chunks)
    return response
