"""Differential fuzzing of the HTTP front: the same bytes go to a running routerd (llhttp) and to
h11, the reference parser, and the two must agree on accept or reject, while a second client keeps
pinging the daemon over its socket and keeps being answered.

Requests are built from parts that are usually right and sometimes wrong in the ways attackers and
broken clients are: odd methods, targets and versions, control bytes in names and values, bare LF
line ends, signed, prefixed or separated chunk sizes, conflicting lengths, upgrades, trailers,
truncation. Every request asks for ``/health``, so an accepted one is routed: 200, or 404/405 for
another method. Where routerd departs from h11 on purpose, ``expected`` says so, each with its reason
(the rules are those ``routerd.fronts.http_wire`` and ``http_guard`` document); any other
disagreement fails the test. (llhttp also reads RTSP/1.0 request lines, a protocol Node.js serves
with it; those are not generated.)
"""

import json
import re
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.daemon_proc import env_for, wait_for

CRLF = b"\r\n"
ROUTED = (200, 404, 405)  # the request was read and routed (/health is GET or HEAD only)
methods = st.sampled_from([b"GET", b"GET", b"HEAD", b"POST", b"OPTIONS", b"PROPFIND", b"G\x00T", b"",
                           b"GET /x", b"FOO", b"get", b"PRI", b"CONNECT", b"GET "])
targets = st.sampled_from([b"/health", b"/health", b"/health?probe=1", b"/he\x7falth", b"/he alth",
                           b"/health\xff", b"", b"*", b"/a{b}", b"//x", b" /health"])
versions = st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"http/1.1",
                            b"HTTP/1.1 x", b"HTTP/1", b" HTTP/1.1"])
hosts = st.sampled_from([[b"127.0.0.1"], [b"127.0.0.1"], [b"localhost:4141"], [], [b"127.0.0.1", b"127.0.0.1"],
                         [b"evil.example"], [b"127.0.0.1\x00"], [b"[::1]"]])
names = st.sampled_from([b"x-a", b"User-Agent", b"accept", b"x a", b"x:y", b"", b"x\x01", b"expect",
                         b"connection", b"content-length", b"transfer-encoding", b" x-lead", b"upgrade",
                         b"host", b"x{y}"])
values = st.one_of(st.sampled_from([b"1", b"close", b"keep-alive", b"upgrade", b"h2c", b"100-continue",
                                    b"chunked", b"gzip", b"gzip, chunked", b"a\rb", b"a\nb", b"a\x00b",
                                    b"\xff", b" padded ", b"", b"-1", b"0x1", b"\ttab", b"1,1", b"127.0.0.1"]),
                   st.binary(max_size=8))
line_ends = st.sampled_from([CRLF, CRLF, CRLF, CRLF, b"\n"])
chunk_sizes = st.sampled_from(["hex", "hex", "hex", "-40", "0x2", "1_0", "+3", " 3", "3 ", "fffffffffffffffffffff"])


@st.composite
def bodies(draw) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """(framing headers, body bytes): none, a length (right or wrong), or chunks (sizes right or not)."""
    kind = draw(st.sampled_from(["none", "length", "chunked", "both"]))
    if kind == "none":
        return [], b""
    if kind == "length":
        data = draw(st.binary(max_size=40))
        declared = draw(st.sampled_from([len(data), len(data), len(data) + 3, max(0, len(data) - 1)]))
        return [(b"content-length", b"%d" % declared)], data
    chunks = []
    for data in draw(st.lists(st.binary(min_size=1, max_size=12), max_size=3)):
        size = draw(chunk_sizes)
        size_text = b"%x" % len(data) if size == "hex" else size.encode()
        ext = draw(st.sampled_from([b"", b"", b";a=b", b";\x00"]))
        chunks.append(size_text + ext + CRLF + data + CRLF)
    trailer = draw(st.sampled_from([b"", b"", b"x-t: 1" + CRLF, b"bad trailer" + CRLF]))
    body = b"".join(chunks) + b"0" + CRLF + trailer + CRLF
    framing = [(b"transfer-encoding", b"chunked")]
    if kind == "both":
        framing.append((b"content-length", b"%d" % len(body)))
    return framing, body


@st.composite
def requests(draw) -> bytes:
    eol = draw(line_ends)
    line = draw(methods) + b" " + draw(targets) + b" " + draw(versions)
    headers = [(b"host", h) for h in draw(hosts)]
    headers += draw(st.lists(st.tuples(names, values), max_size=4))
    framing, body = draw(bodies())
    headers += framing
    draw(st.randoms()).shuffle(headers)
    data = line + eol + b"".join(n + b": " + v + eol for n, v in headers) + eol + body
    if draw(st.integers(0, 9)) == 0:  # sometimes cut short
        data = data[:draw(st.integers(0, len(data)))]
    return data


def reference_accepts(data: bytes) -> bool:
    """Whether h11 reads one whole request from ``data``, held to routerd's rules on top of any
    parser: only HTTP/1.0 and 1.1, never both lengths, a Host that names this listener."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")
    request = None
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.EndOfMessage):
                break
            elif not isinstance(event, h11.Data):
                return False
    except h11.RemoteProtocolError:
        return False
    fields = {}
    for name, value in request.headers:
        fields[name] = fields[name] + b", " + value if name in fields else value
    if request.http_version not in (b"1.0", b"1.1"):
        return False
    if b"content-length" in fields and b"transfer-encoding" in fields:
        return False
    host = fields.get(b"host")
    return host is None or _loopback_name(host.decode("latin-1").lower())


# Methods llhttp knows, among those the requests above use.
REGISTERED = {b"GET", b"HEAD", b"POST", b"OPTIONS", b"PROPFIND", b"CONNECT"}


def expected(data: bytes) -> bool:
    """Whether routerd should route ``data``: as h11 would, apart from what it does on purpose."""
    end = re.search(rb"\r?\n\r?\n", data)
    head, rest = (data[:end.end()], data[end.end():]) if end else (data, b"")
    line = head.split(b"\n", 1)[0]
    method = line.split(b" ", 1)[0]
    # Stricter than h11: only registered methods (llhttp's list), no CONNECT; CRLF line ends only
    # (RFC 9112 2.2 lets a recipient refuse a bare LF) and no obsolete line folding (5.2 lets it
    # answer 400); no control characters but tab in a field value or a chunk extension (RFC 9110
    # 5.5); no whitespace after a chunk size (7.1); no repeated Content-Length even when the values
    # agree (RFC 9110 8.6 allows refusing it); no Upgrade that carries a body.
    if line.count(b" ") >= 2 and (method not in REGISTERED or method == b"CONNECT"):
        return False
    if re.search(rb"(?<!\r)\n|\n[ \t]", head) \
            or re.search(rb"\n[^\r\n]*:[^\r\n]*[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", head):
        return False
    if b";\x00\r\n" in rest or re.search(rb"(^|\n)[0-9a-fA-F]+[ \t]", rest):
        return False
    if head.lower().count(b"\ncontent-length:") > 1:
        return False
    fields = head.lower()
    upgrade = re.search(rb"\nupgrade:", fields) and re.search(rb"\nconnection:[^\n]*upgrade", fields)
    if upgrade and (b"\ncontent-length: 0\r" not in fields if b"\ncontent-length:" in fields
                    else b"\ntransfer-encoding:" in fields):
        return False
    # An expectation other than 100-continue is refused (417, RFC 9110 10.1.1); h11 ignores it.
    for value in re.findall(rb"\nexpect:([^\r\n]*)", fields):
        if any(m.strip(b" \t") not in (b"", b"100-continue") for m in value.split(b",")):
            return False
    # Laxer than h11, as RFC 9112 3 allows: runs of spaces between the parts of the request line.
    return reference_accepts(re.sub(rb"^(\S+) +(\S+) +HTTP/", rb"\1 \2 HTTP/", data))


def _loopback_name(host: str) -> bool:
    """``host`` (a Host header) names loopback: the names routerd answers to without configuration."""
    if host.startswith("["):
        name = host[1:host.find("]")] if "]" in host else host
    else:
        name = host.rpartition(":")[0] if ":" in host else host
    return name.rstrip(".") in ("127.0.0.1", "localhost", "::1")


def front_status(port: int, data: bytes) -> int | None:
    """The status routerd answers ``data`` with (the client then closes its side), or None."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    answer = answer.removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")
    if not answer:
        return None
    assert answer.startswith(b"HTTP/1.1 "), answer[:100]
    return int(answer[9:12])


class Pinger(threading.Thread):
    """Pings the daemon over its socket, one frame after another, recording each round trip."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.times: list[float] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        frame = json.dumps({"type": "ping", "v": 1}).encode()
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(self.path))
            while not self.stop.is_set():
                started = time.monotonic()
                sock.sendall(struct.pack(">I", len(frame)) + frame)
                try:
                    size = struct.unpack(">I", _recv_exactly(sock, 4))[0]
                    reply = json.loads(_recv_exactly(sock, size))
                except (OSError, ValueError) as exc:
                    self.failures.append(repr(exc))
                    return
                if reply.get("type") != "pong":
                    self.failures.append(repr(reply))
                self.times.append(time.monotonic() - started)
                self.stop.wait(0.005)  # a steady trickle, not a flood


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise OSError("daemon closed the socket")
        data += chunk
    return data


@pytest.fixture(params=["asyncio", "trio"])
def running(request, tmp_path: Path):
    """A routerd process (on each backend) and a client pinging it throughout the test."""
    port_probe = socket.socket()
    port_probe.bind(("127.0.0.1", 0))
    port = port_probe.getsockname()[1]
    port_probe.close()
    (tmp_path / "config.toml").write_text(f'[http]\nlisten = "127.0.0.1:{port}"\n')
    env = env_for(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "routerd.main", "--backend", request.param], env=env,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (tmp_path / "routerd.sock").exists() and _health(port), what="routerd")
        pinger = Pinger(tmp_path / "routerd.sock")
        pinger.start()
        yield port, pinger
        pinger.stop.set()
        pinger.join(10)
        assert proc.poll() is None, "routerd exited during the fuzzing"
    finally:
        proc.terminate()
        proc.wait(30)


def _health(port: int) -> bool:
    try:
        return front_status(port, b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n") == 200
    except OSError:
        return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=requests())
def test_front_agrees_with_h11(running, data):
    """For every generated request, routerd routes it exactly when h11 accepts it (the documented
    differences aside); otherwise it answers 4xx, 501 (transfer-coding) or 505 (version), or nothing
    (nothing came). Never a 500."""
    port, pinger = running
    status = front_status(port, data)
    assert status is None or status < 500 or status in (501, 505), (status, data)
    assert (status in ROUTED) == expected(data), (status, data)
    assert not pinger.failures and max(pinger.times[-20:], default=0) < 2.0, pinger.failures


def test_ping_is_answered_throughout(running):
    """The pinging client was answered all along (a check on the fixture the fuzzing shares)."""
    port, pinger = running
    for _ in range(50):
        front_status(port, b"POST /health HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n\r\n"
                     + b"1" * 1000)
    wait_for(lambda: len(pinger.times) >= 20, what="pings")
    assert not pinger.failures and max(pinger.times) < 2.0
