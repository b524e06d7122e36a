from collections.abc import Iterator

import pytest

from tests.e2e.desk import RUNNING


@pytest.fixture(autouse=True)
def no_daemon_left_behind() -> Iterator[None]:
    yield
    while RUNNING:
        daemon = RUNNING.pop()
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait(timeout=10)
        if not daemon.out.closed:
            daemon.out.close()
