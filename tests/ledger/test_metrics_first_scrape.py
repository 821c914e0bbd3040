"""The first scrape of /metrics loads prometheus_client (kept out of an idle daemon's memory); its
import reads files (/proc, its own modules), so it must not run on the event loop."""

import sys

import httpx
import pytest


async def test_the_first_scrape_loads_the_library_off_the_loop(daemon, monkeypatch: pytest.MonkeyPatch):
    """With prometheus_client not yet imported (as in a daemon never scraped), /metrics answers 200:
    the import ran in a worker thread, not on the loop (no_blocking fails a file read on the loop)."""
    for name in [name for name in sys.modules if name == "prometheus_client" or name.startswith("prometheus_client.")]:
        monkeypatch.delitem(sys.modules, name)
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"http://{daemon.http_address}/metrics")
    assert answer.status_code == 200, answer.text
    assert "routerd_requests_total" in answer.text
