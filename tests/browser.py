"""Headless Chromium (Debian's ``chromium`` package, installed by scripts/test) driven over the
Chrome DevTools Protocol. The protocol's WebSocket is wsproto's state machine over an anyio TCP
stream, so a browser test runs on asyncio and on trio like the daemon it looks at.

``open_page(tmp_path)`` starts a fresh browser (its own profile, no network beyond loopback: the
background-networking flags keep Chromium from calling home) and yields a ``Page`` with
``goto``, ``wait_for`` (an expression polled in the page until it is truthy), ``evaluate``,
``click`` (a real mouse press and release at an element's centre) and ``screenshot``.
"""

import base64
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from subprocess import DEVNULL, PIPE
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest
from anyio.abc import ByteStream
from anyio.streams.buffered import BufferedByteReceiveStream
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Message, Ping, Request, TextMessage

CHROMIUM = shutil.which("chromium")
WIDTH, HEIGHT = 1280, 900
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--mute-audio", "--remote-debugging-port=0", f"--window-size={WIDTH},{HEIGHT}")
DEADLINE_S = 30


class BrowserError(Exception):
    pass


class _Cdp:
    """One DevTools WebSocket: calls answered in order (a test drives one page at a time)."""

    def __init__(self, stream: ByteStream) -> None:
        self.stream, self.ws, self.next_id = stream, WSConnection(ConnectionType.CLIENT), 0
        self.text: list[str] = []

    async def handshake(self, host: str, path: str) -> None:
        await self.stream.send(self.ws.send(Request(host=host, target=path)))
        while not any(isinstance(e, AcceptConnection) for e in await self._events()):
            pass

    async def _events(self) -> list[Any]:
        self.ws.receive_data(await self.stream.receive())
        events = list(self.ws.events())
        for event in events:
            if isinstance(event, Ping):
                await self.stream.send(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                raise BrowserError("the browser closed the DevTools connection")
        return events

    async def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> Any:
        self.next_id += 1
        sent = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            sent["sessionId"] = session
        await self.stream.send(self.ws.send(Message(data=json.dumps(sent))))
        while True:
            for event in await self._events():
                if not isinstance(event, TextMessage):
                    continue
                self.text.append(event.data)
                if not event.message_finished:
                    continue
                message, self.text = json.loads("".join(self.text)), []
                if message.get("id") == self.next_id:
                    if "error" in message:
                        raise BrowserError(f"{method}: {message['error'].get('message')}")
                    return message["result"]


class Page:
    def __init__(self, cdp: _Cdp, session: str) -> None:
        self.cdp, self.session = cdp, session

    async def call(self, method: str, **params: Any) -> Any:
        return await self.cdp.call(method, params, self.session)

    async def goto(self, url: str) -> None:
        await self.call("Page.navigate", url=url)
        await self.wait_for(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")

    async def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` in the page (awaited when it is a promise)."""
        result = await self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    async def wait_for(self, expression: str) -> Any:
        """Poll ``expression`` inside the page until it is truthy; its value. A navigation that
        replaces the document meanwhile restarts the wait in the new one."""
        poll = ("new Promise(done => { const check = () => { let v; try { v = (" + expression + "); } "
                "catch (e) {} if (v) done(v); else setTimeout(check, 20); }; check(); })")
        with anyio.fail_after(DEADLINE_S):
            while True:
                try:
                    return await self.evaluate(poll)
                except BrowserError as exc:
                    if "context" not in str(exc).lower():  # the page's context went with a navigation
                        raise

    async def click(self, selector: str) -> None:
        """Press and release the mouse on the centre of the element ``selector`` names."""
        box = await self.evaluate(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                                  "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect(); "
                                  "return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    async def screenshot(self) -> bytes:
        """The viewport as PNG."""
        return base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])


async def _devtools_url(stderr: BufferedByteReceiveStream) -> str:
    while True:
        line = (await stderr.receive_until(b"\n", 65536)).decode(errors="replace")
        if line.startswith("DevTools listening on "):
            return line.removeprefix("DevTools listening on ").strip()


async def _drain(stream: BufferedByteReceiveStream) -> None:
    try:
        while await stream.receive():
            pass
    except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
        pass


@asynccontextmanager
async def open_page(profile: Path) -> AsyncIterator[Page]:
    """A fresh headless Chromium with its profile under ``profile``, and one blank page in it."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/test installs Debian's chromium when it can)")
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
    async with await anyio.open_process(command, stdin=DEVNULL, stdout=DEVNULL, stderr=PIPE) as process:
        try:
            assert process.stderr is not None
            stderr = BufferedByteReceiveStream(process.stderr)
            with anyio.fail_after(DEADLINE_S):
                url = urlsplit(await _devtools_url(stderr))
            async with anyio.create_task_group() as tg:
                tg.start_soon(_drain, stderr)
                assert url.hostname is not None and url.port is not None
                async with await anyio.connect_tcp(url.hostname, url.port) as stream:
                    cdp = _Cdp(stream)
                    with anyio.fail_after(DEADLINE_S):
                        await cdp.handshake(url.netloc, url.path)
                        target = await cdp.call("Target.createTarget", {"url": "about:blank"})
                        attached = await cdp.call("Target.attachToTarget",
                                                  {"targetId": target["targetId"], "flatten": True})
                        page = Page(cdp, attached["sessionId"])
                        await page.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT,
                                        deviceScaleFactor=1, mobile=False)
                    yield page
                tg.cancel_scope.cancel()
        finally:
            process.terminate()
