"""CPU the usage meter spends on a stream (``UsageMeter.feed_stream`` then ``estimate``), per MB, in
every streaming dialect: a long stream (3 MB by default) and an agent turn's (~100 KB), each with the
provider's usage at its end and without any (a keyless llama.cpp), read one event per network
chunk (a remote model's pace) and in 16 KiB chunks (a local one's). ``floor`` is the same meter
told not to count generated text, what metering costs without an estimate.

Usage: .venv/bin/python bench/bench_meter.py [--ref DIR] [--rounds N] [--mb 3]
With ``--ref`` (another checkout, e.g. a worktree of an older commit) each round runs this tree's
meter and the other's in turn, in fresh processes (A/B alternating on a noisy machine), and the
table gives both and their ratio; the token counts each tree metered must agree. Figures are
medians over rounds of each round's median ``process_time`` (in-process repetitions), in ms per MB.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parent.parent
DIALECTS = ("anthropic", "openai_chat", "responses", "gemini")
REQUEST = {"anthropic": {"model": "m", "max_tokens": 64000, "messages": [{"role": "user", "content": "write"}]},
           "openai_chat": {"model": "m", "messages": [{"role": "user", "content": "write"}]},
           "responses": {"model": "m", "input": "write"},
           "gemini": {"contents": [{"role": "user", "parts": [{"text": "write"}]}]}}
WORDS = ("the of and a to in is you that it for on are as with they at be this have from or one had by "
         "word but not what all were we when your can said there use each which do how their if will up "
         "def return self import None True értékelés 字符串 \"quoted\" path\\to\\file").split(" ")


def _pieces(total_bytes: int, rng: random.Random) -> list[str]:
    """Text deltas as a model streams them: one to five words, now and then a line end."""
    out, size = [], 0
    while size < total_bytes:
        piece = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5))) + ("\n" if rng.random() < 0.1 else " ")
        out.append(piece)
        size += len(piece) + 110  # about what each event's framing adds
    return out


def _sse(name: str | None, data: object) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + (data if isinstance(data, bytes) else msgspec.json.encode(data)) + b"\n\n"


def events(dialect: str, pieces: list[str], usage: bool) -> list[bytes]:
    """One stream's events in ``dialect``, compact JSON as the providers send it; ``usage``: with
    the provider's usage (at its start and end in Anthropic's, at the end in the others)."""
    text = "".join(pieces)
    if dialect == "anthropic":
        start: dict = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": []}
        delta: dict = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}
        if usage:
            start["usage"] = {"input_tokens": 1200, "output_tokens": 1}
            delta["usage"] = {"output_tokens": len(text) // 4}
        return [_sse("message_start", {"type": "message_start", "message": start}),
                _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}}),
                *(_sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": p}}) for p in pieces),
                _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
                _sse("message_delta", delta), _sse("message_stop", {"type": "message_stop"})]
    if dialect == "openai_chat":
        def chunk(delta: dict, finish: str | None = None) -> bytes:
            return _sse(None, {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        tail = [_sse(None, {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                            "choices": [], "usage": {"prompt_tokens": 1200, "completion_tokens": len(text) // 4,
                                                     "total_tokens": 1200 + len(text) // 4}})] if usage else []
        return [chunk({"role": "assistant", "content": ""}), *(chunk({"content": p}) for p in pieces),
                chunk({}, "stop"), *tail, _sse(None, b"[DONE]")]
    if dialect == "responses":
        part = {"type": "output_text", "text": text, "annotations": []}
        item = {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant", "content": [part]}
        final: dict = {"id": "resp_1", "object": "response", "status": "completed", "model": "m", "output": [item]}
        if usage:
            final["usage"] = {"input_tokens": 1200, "output_tokens": len(text) // 4, "total_tokens": 0}
        where = {"output_index": 0, "content_index": 0, "item_id": "msg_1"}
        return [_sse("response.created", {"type": "response.created", "sequence_number": 0,
                                          "response": {**final, "status": "in_progress", "output": [],
                                                       "usage": None}}),
                *(_sse("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": i + 1,
                                                      **where, "delta": p, "logprobs": []})
                  for i, p in enumerate(pieces)),
                _sse("response.output_text.done", {"type": "response.output_text.done", **where, "text": text}),
                _sse("response.content_part.done", {"type": "response.content_part.done", **where, "part": part}),
                _sse("response.output_item.done", {"type": "response.output_item.done", "output_index": 0,
                                                   "item": item}),
                _sse("response.completed", {"type": "response.completed", "response": final})]
    out = []
    for i, p in enumerate(pieces):  # gemini: usage in the last chunk only (the real API repeats it)
        body: dict = {"candidates": [{"content": {"role": "model", "parts": [{"text": p}]}, "index": 0}],
                      "modelVersion": "m", "responseId": "r1"}
        if i == len(pieces) - 1:
            body["candidates"][0]["finishReason"] = "STOP"
            if usage:
                body["usageMetadata"] = {"promptTokenCount": 1200, "candidatesTokenCount": len(text) // 4}
        out.append(_sse(None, body))
    return out


def cases(mb: float) -> dict[str, dict]:
    """Every case's chunks and request, by name ``dialect/size/usage/chunking``."""
    out = {}
    for size, total in (("long", int(mb * (1 << 20))), ("turn", 100 << 10)):
        pieces = _pieces(total, random.Random(7))
        for dialect in DIALECTS:
            for usage in (True, False):
                evs = events(dialect, pieces, usage)
                blob = b"".join(evs)
                for chunking, chunks in (("event", evs), ("16k", [blob[i:i + 16384] for i in range(0, len(blob), 16384)])):
                    name = f"{dialect}/{size}/{'usage' if usage else 'none'}/{chunking}"
                    out[name] = {"dialect": dialect, "chunks": [c.decode("latin-1") for c in chunks],
                                 "bytes": len(blob), "request": REQUEST[dialect]}
    return out


def worker(path: str, reps: int) -> None:
    """In a process whose routerd is the tree under test: each case's median CPU and what it metered."""
    sys.path.insert(0, os.getcwd())
    from routerd.gateway import usage
    from routerd.gateway.usage import UsageMeter

    assert Path(usage.__file__).is_relative_to(os.getcwd()), usage.__file__  # the tree under test

    out = {}
    for name, case in msgspec.json.decode(Path(path).read_bytes()).items():
        chunks = [c.encode("latin-1") for c in case["chunks"]]
        request = msgspec.json.encode(case["request"])
        dialect = case["dialect"]
        row = {}
        for mode in ("meter", "floor"):
            samples = []
            for _ in range(reps):
                meter = UsageMeter(dialect)
                if mode == "floor":
                    meter.counts_text = False
                t0 = time.process_time()
                for chunk in chunks:
                    meter.feed_stream(chunk)
                meter.estimate(request, dialect)
                samples.append(time.process_time() - t0)
            row[mode] = statistics.median(samples) * 1000 / (case["bytes"] / (1 << 20))
            if mode == "meter":
                row["tokens"] = [meter.input_tokens, meter.output_tokens, meter.estimated, meter.completed]
        out[name] = row
    print(json.dumps(out))


def run(tree: Path, path: str, reps: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, __file__, "--worker", path, "--reps", str(reps)], cwd=tree, env=env,
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", type=Path, help="another checkout to compare with, A/B alternating")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=5, help="repetitions per case in one process")
    parser.add_argument("--mb", type=float, default=3.0, help="the long stream's size")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.reps)
    trees = {"new": ROOT} | ({"ref": args.ref.resolve()} if args.ref else {})
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "cases.json")
        Path(path).write_bytes(msgspec.json.encode(cases(args.mb)))
        rounds: dict[str, list[dict]] = {label: [] for label in trees}
        for _ in range(args.rounds):
            for label, tree in trees.items():
                rounds[label].append(run(tree, path, args.reps))
    names = list(rounds["new"][0])
    med = {label: {n: {m: statistics.median(r[n][m] for r in runs) for m in ("meter", "floor")} for n in names}
           for label, runs in rounds.items()}
    head = f"{'case (CPU ms per MB, median of ' + str(args.rounds) + ' rounds)':46} {'new':>7} {'floor':>7}"
    print(head + (f" {'ref':>7} {'ref floor':>9} {'new/ref':>8}" if args.ref else ""))
    for n in names:
        new = med["new"][n]
        line = f"{n:46} {new['meter']:7.2f} {new['floor']:7.2f}"
        if args.ref:
            ref = med["ref"][n]
            line += f" {ref['meter']:7.2f} {ref['floor']:9.2f} {new['meter'] / ref['meter']:8.2f}"
            if rounds["new"][0][n]["tokens"] != rounds["ref"][0][n]["tokens"]:
                line += f"  TOKENS DIFFER: {rounds['new'][0][n]['tokens']} vs {rounds['ref'][0][n]['tokens']}"
        print(line)


if __name__ == "__main__":
    main()
