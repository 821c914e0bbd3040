"""routerd's MCP stdio server, as a relay: JSON-RPC lines in on stdin, out on stdout. Stdlib only.

Run as ``<venv python> -I -S mcp_relay.py``. Each line read is wrapped unparsed as the ``message``
of an ``mcp`` request and sent over one persistent connection to routerd's socket (path rules of
``routerd/paths.py``, frames of ``routerd/framing.py``); the reply's ``message`` (the last field
msgspec writes, so a slice) is written back as one line. The MCP logic lives in the daemon.

When routerd is down or the connection breaks the relay reconnects once per message; a request it
still cannot deliver is answered with a JSON-RPC error (-32000) saying so, so the client never hangs.
Every reply has a deadline: ``QUICK_TIMEOUT_S`` for the handshake and listings (the daemon answers
them in about a millisecond, so a hung daemon costs the client's start no more than that), and
``TOOL_TIMEOUT_S`` for tool calls (``ask`` answers through a model).
"""

import _socket
import posix
import sys

sys.path.insert(0, __file__.rpartition("/")[0] or ".")  # -I leaves this directory off sys.path
from hook_core import MAX_FRAME, socket_path
_MESSAGE_KEY = b'"message":'
QUICK_TIMEOUT_S = 2.0
TOOL_TIMEOUT_S = 300.0


def build_request(session, line):
    return b'{"type":"mcp","v":1,"session":"' + session + b'","message":' + line + b"}"


def reply_message(body):
    """The raw ``message`` of an ``mcp_reply`` (None when it has none); ValueError for errors."""
    if not body.startswith(b'{"type":"mcp_reply"'):
        raise ValueError(body[:300].decode("utf-8", "replace"))
    at = body.find(_MESSAGE_KEY)
    return body[at + len(_MESSAGE_KEY):-1] if at >= 0 else None


class Connection:
    def __init__(self, path):
        self.path = path
        self.sock = None
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""

    def call(self, request, timeout_s):
        if self.sock is None:
            self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            self.sock.settimeout(timeout_s)
            self.sock.connect(self.path)
        self.sock.settimeout(timeout_s)
        self.sock.sendall(len(request).to_bytes(4, "big") + request)
        while True:
            if len(self.buf) >= 4:
                size = int.from_bytes(self.buf[:4], "big")
                if size > MAX_FRAME:
                    raise ValueError("reply frame too large")
                if len(self.buf) - 4 >= size:
                    body, self.buf = self.buf[4:4 + size], self.buf[4 + size:]
                    return body
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("routerd closed the connection")
            self.buf += data


def relay_one(conn, session, line):
    request = build_request(session, line)
    timeout_s = TOOL_TIMEOUT_S if b"tools/call" in line else QUICK_TIMEOUT_S
    for attempt in (1, 2):
        try:
            return reply_message(conn.call(request, timeout_s))
        except TimeoutError:
            conn.close()  # a late reply must not be taken for the next request's
            return _failure(line, -32000, f"routerd did not answer within {timeout_s:g} s")
        except OSError as exc:
            conn.close()
            if attempt == 2:
                reason = exc.strerror or str(exc)
                return _failure(line, -32000, f"routerd is not reachable at {_shown(conn.path)} ({reason}); "
                                              "start it with `routerctl start`")
        except ValueError as exc:
            return _failure(line, -32603, f"routerd refused the message: {exc}")
    return None


def _shown(path):
    """A socket path (str, or bytes from the environment) as text for a message."""
    return path.decode("utf-8", "replace") if isinstance(path, bytes) else str(path)


def _failure(line, code, message):
    """A JSON-RPC error for ``line`` (json only on this rare path), None for a notification."""
    import json

    try:
        incoming = json.loads(line)
    except ValueError:
        incoming, code, message = {"id": None}, -32700, "parse error"
    if not isinstance(incoming, dict) or "id" not in incoming:
        return None
    error = {"jsonrpc": "2.0", "id": incoming["id"], "error": {"code": code, "message": message}}
    return json.dumps(error).encode()


def main():
    env = posix.environ
    conn = Connection(socket_path(env))
    session = b"relay-%d" % posix.getpid()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = stdin.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        answer = relay_one(conn, session, line)
        if answer:
            stdout.write(answer + b"\n")
            stdout.flush()
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
