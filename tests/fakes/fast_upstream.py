"""A fast fake OpenAI-compatible provider for benchmarks: a raw asyncio protocol (uvloop when
installed), keep-alive, one canned answer. Cheap enough that it is not the bottleneck when a load
generator and routerd share the machine with it.

    python -m tests.fakes.fast_upstream [--port N]     # prints "PORT <n>" when listening

``POST .../chat/completions`` answers a chat completion (``"stream": true`` in the body: a short
SSE stream with usage and ``[DONE]``); anything else gets 404. Only Content-Length bodies.
"""

import argparse
import asyncio
import json
import sys

TOKENS = 18       # the usage every answer reports (11 in, 7 out)
_ANSWER = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "bench-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the bench."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
}).encode()
_CHUNK = ('data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"bench-model",'
          '"choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}\n\n')
_EVENTS = [(_CHUNK % word).encode() for word in ("Hello", " from", " the", " bench.")] + [
    b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"bench-model",'
    b'"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}\n\n',
    b"data: [DONE]\n\n"]
_STREAM_BODY = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in _EVENTS) + b"0\r\n\r\n"
_OK = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
       % len(_ANSWER)) + _ANSWER
_STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


class FakeProtocol(asyncio.Protocol):
    def connection_made(self, transport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"content-length:")
            if at >= 0:
                length = int(lower[at + 15:lower.find(b"\r\n", at) if lower.find(b"\r\n", at) > 0 else None])
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length]
            self.buffer = self.buffer[end + 4 + length:]
            if not self.answer(head, body):
                return

    def answer(self, head: bytes, body: bytes) -> bool:
        """Write the answer to one request; False when the connection is gone."""
        if b"/chat/completions" not in head.split(b"\r\n", 1)[0]:
            self.transport.write(_NOT_FOUND)
        elif b'"stream":true' in body or b'"stream": true' in body:
            self.transport.write(_STREAM_HEAD + _STREAM_BODY)
        else:
            self.transport.write(_OK)
        return True


async def serve(port: int, protocol=FakeProtocol) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, "127.0.0.1", port, backlog=1024)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main(protocol=FakeProtocol) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        import uvloop
        uvloop.run(serve(args.port, protocol))
    except ImportError:
        asyncio.run(serve(args.port, protocol))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
