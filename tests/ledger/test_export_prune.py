"""An export is one point in time: a prune (a reload that shortens the retention, ``routerctl
prune``) committed while it streams neither loses nor doubles a row; a client that stops reading
does not hold the export's snapshot for ever."""

import threading
import time

import anyio
import msgspec
import pytest

from routerd.framing import encode_frame
from routerd.fronts import socket as socket_front
from routerd.handlers.usage import EXPORT_PAGE_ROWS
from routerd.store import store as store_module
from routerd.store.snapshot import end
from routerd.store.ledger import EXPORT_COLUMNS, CallRow, record_call
from tests.support import connect

pytestmark = pytest.mark.anyio
DAY = 86_400.0
N = 40_000


async def test_an_export_sends_every_row_when_a_reload_prunes_them_mid_export(daemon, config_file):
    """40,000 calls from 60 days ago; the export has sent its header and first page when a reload to
    retain_days = 32 prunes them all: it still sends the 40,000 rows it saw at its start (it used
    to end with rows: 4000), and usage says 40,000."""
    ts = time.time() - 60 * DAY
    for i in range(N):
        record_call(daemon.store, CallRow(id=f"c{i}", ts=ts, provider="openai", model="gpt-4.1", outcome="ok",
                                          input_tokens=1))
    await daemon.store.flush()
    async with connect(daemon.socket_path) as client:
        head = await client.stream_call_or_none({"type": "export", "table": "calls"})
        assert head is not None and head["data"]["total"] == N
        first = await client.read_frame()
        assert first is not None and len(first["data"]["rows"]) == EXPORT_PAGE_ROWS

        config_file.write_text(config_file.read_text() + "\n[state]\nretain_days = 32\n")
        assert (await daemon.reload("test")).ok
        assert (await daemon.store.prune()).error is None
        assert (await daemon.store.row_counts())["calls"] == 0

        calls = EXPORT_COLUMNS["calls"].index("calls")
        ids = {row[0] for row in first["data"]["rows"]}
        summed = sum(row[calls] for row in first["data"]["rows"])
        while (frame := await client.read_frame())["kind"] == "export_rows":
            ids.update(row[0] for row in frame["data"]["rows"])
            summed += sum(row[calls] for row in frame["data"]["rows"])
    assert frame["kind"] == "export_end" and frame["data"]["rows"] == N
    assert len(ids) == summed == N
    async with connect(daemon.socket_path) as client:
        assert (await client.call({"type": "usage"}))["data"]["total"]["calls"] == N


async def test_an_export_whose_client_stops_reading_ends_and_lets_its_snapshot_go(daemon, monkeypatch):
    """A client that asks for an export and reads nothing: after STREAM_SEND_TIMEOUT_S the daemon
    closes the connection and ends the export's snapshot (it used to hold both for ever)."""
    monkeypatch.setattr(socket_front, "STREAM_SEND_TIMEOUT_S", 0.2)
    ended = threading.Event()

    def end_and_tell(conn) -> None:
        end(conn)
        ended.set()

    monkeypatch.setattr(store_module, "end", end_and_tell)
    now = time.time()
    for i in range(EXPORT_PAGE_ROWS * 3):  # more than the socket's buffers hold
        record_call(daemon.store, CallRow(id=f"c{i}", ts=now, provider="openai", model="gpt-4.1", outcome="ok",
                                          error="x" * 100))
    await daemon.store.flush()
    async with connect(daemon.socket_path) as client:
        await client.send_raw(encode_frame(b'{"type": "export", "v": 1, "table": "calls"}'))
        assert await anyio.to_thread.run_sync(ended.wait, 20), "the export's snapshot is still open"
        assert daemon.store.statistics().snapshots == 0
        kinds = []
        while (frame := await client.read_frame()) is not None:
            kinds.append(frame["kind"])
    assert kinds[0] == "export" and "export_end" not in kinds


async def test_a_row_rewritten_mid_export_is_sent_once(daemon):
    """A call already sent is written again (same id, a new rowid) while the export streams: the
    export sends it once, as it was at its start (it used to come again at the end)."""
    now = time.time()
    rows = [CallRow(id=f"c{i}", ts=now, provider="openai", model="gpt-4.1", outcome="ok", input_tokens=1,
                    error="x" * 100) for i in range(EXPORT_PAGE_ROWS * 4)]  # more than the socket's buffers
    for row in rows:
        record_call(daemon.store, row)
    await daemon.store.flush()
    async with connect(daemon.socket_path) as client:
        head = await client.stream_call_or_none({"type": "export", "table": "calls"})
        first = await client.read_frame()
        assert head is not None and first is not None and first["data"]["rows"][0][0] == "c0"
        record_call(daemon.store, msgspec.structs.replace(rows[0], input_tokens=2))
        await daemon.store.flush()
        ids = [row[0] for row in first["data"]["rows"]]
        while (frame := await client.read_frame())["kind"] == "export_rows":
            ids.extend(row[0] for row in frame["data"]["rows"])
    assert sorted(ids) == sorted(row.id for row in rows) and frame["data"]["rows"] == len(rows)
