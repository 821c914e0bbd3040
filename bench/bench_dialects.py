"""Dialect translation cost on the hot path (issue #4): a ~4 KB request parsed and rendered for every
pair of dialects, a whole answer translated, and a 200-event stream translated chunk by chunk.

Usage: .venv/bin/python bench/bench_dialects.py [--quick]
Prints a table and writes bench/results/bench_dialects.json. Figures are per call, in microseconds
(p50/p99 of many repetitions); the issue's budget for the whole proxy is 1 ms p50 added latency.
"""

import gc
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

from routerd.dialects import canonical as c  # noqa: E402
from routerd.dialects.summary import estimate_tokens, to_classifier_messages  # noqa: E402
from routerd.dialects.registry import NAMES, get  # noqa: E402
from routerd.dialects.sse import encode_event  # noqa: E402
from routerd.dialects.translate import StreamTranslator, translate_request, translate_response  # noqa: E402

QUICK = "--quick" in sys.argv
REPS = 300 if QUICK else 3000
STREAM_REPS = 30 if QUICK else 300


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def timed(fn, reps: int) -> dict[str, float]:
    for _ in range(min(50, reps)):
        fn()
    samples = []
    gc.disable()
    try:
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
    finally:
        gc.enable()
    return {"p50_us": round(pct(samples, 0.5) * 1e6, 1), "p99_us": round(pct(samples, 0.99) * 1e6, 1)}


def sample_request() -> c.ChatRequest:
    """A coding-agent turn of about 4 KB: system prompt, tools, a tool round trip, a follow-up."""
    schema = {"type": "object", "properties": {"path": {"type": "string", "description": "File to read"},
                                               "limit": {"type": "integer"}}, "required": ["path"]}
    return c.ChatRequest(
        model="m", system="You are a careful coding assistant. " * 20, max_tokens=8192, temperature=0.2,
        tools=[c.Tool(f"tool_{i}", f"Does thing number {i} to the workspace.", schema) for i in range(4)],
        messages=[
            c.Message("user", [c.TextPart("Please look at src/app.py and fix the failing test. " * 6)]),
            c.Message("assistant", [c.TextPart("Reading the file."),
                                    c.ToolCallPart("call_1", "tool_0", '{"path":"src/app.py"}')]),
            c.Message("user", [c.ToolResultPart("call_1", [c.TextPart("def main():\n    return 1\n" * 30)])]),
            c.Message("assistant", [c.TextPart("The function returns the wrong value; changing it.")]),
            c.Message("user", [c.TextPart("Go ahead, and run the tests after.")]),
        ])


def sample_stream(events: int = 200) -> list[object]:
    body = [c.MessageStart("msg_bench", "up", c.Usage(1200))]
    body += [c.TextDelta(f"word{i} ") for i in range(events - 5)]
    body += [c.ToolCallStart(0, "call_b", "tool_0"), c.ToolCallDelta(0, '{"path":'), c.ToolCallDelta(0, '"a.py"}'),
             c.MessageStop("tool_use", c.Usage(1200, 210, 1000, 0))]
    return body


def long_history() -> bytes:
    """A Claude Code request deep into a session (~136 KB): 60 tool round trips, 20 tools."""
    messages: list[dict] = [{"role": "user", "content": [{"type": "text", "text": "do it"}]}]
    for i in range(60):
        messages.append({"role": "assistant", "content": [
            {"type": "text", "text": "ok " * 30},
            {"type": "tool_use", "id": f"toolu_{i}", "name": "Bash", "input": {"command": "ls -la", "description": "list"}}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i}",
                                                      "content": [{"type": "text", "text": "line of output\n" * 100}]}]})
    tools = [{"name": f"Tool{i}", "description": "d" * 300, "input_schema": {
        "type": "object", "properties": {"a": {"type": "string", "description": "x" * 100}}}} for i in range(20)]
    return msgspec.json.encode({"model": "claude-sonnet-4-5", "max_tokens": 32000, "stream": True,
                                "system": [{"type": "text", "text": "s" * 10000}], "messages": messages,
                                "tools": tools, "metadata": {"user_id": "u"}})


def upstream_chunks(dialect: str, events: list[object]) -> list[bytes]:
    """The stream as an upstream in ``dialect`` would send it, one network chunk per event."""
    enc = get(dialect).stream_encoder("up")
    return [encode_event(name, data) for ev in events for name, data in enc.feed(ev)]


def main() -> None:
    req = sample_request()
    bodies = {name: msgspec.json.encode(get(name).render_request(req, "m")) for name in NAMES}
    sizes = {name: len(body) for name, body in bodies.items()}
    results: dict[str, object] = {"request_bytes": sizes, "reps": REPS}

    requests = {}
    for front in NAMES:
        kw = {"front_model": "m", "stream": False} if front == "gemini" else {}
        requests[f"{front}->parse+classifier_view+estimate"] = timed(
            lambda f=front, k=kw: (lambda r: (to_classifier_messages(r), estimate_tokens(r)))(
                get(f).parse_request(bodies[f], model=k.get("front_model"))), REPS)
        for target in NAMES:
            if target != front:
                requests[f"{front}->{target}"] = timed(
                    lambda f=front, t=target, k=kw: translate_request(f, t, bodies[f], "target-model", **k), REPS)
    results["request"] = requests

    history = long_history()
    results["long_history_bytes"] = len(history)
    results["long_history"] = {
        "anthropic->parse+classifier_view": timed(
            lambda: to_classifier_messages(get("anthropic").parse_request(history)), REPS // 10),
        "anthropic->openai": timed(lambda: translate_request("anthropic", "openai_chat", history, "gpt"), REPS // 10),
        "json_decode_only": timed(lambda: msgspec.json.decode(history), REPS // 10),
    }

    answer = c.ChatResponse(id="msg_1", model="up", content=[c.TextPart("Done. " * 100),
                            c.ToolCallPart("call_2", "tool_1", '{"path":"b.py"}')], stop_reason="tool_use",
                            usage=c.Usage(1200, 300, 1000, 0))
    answers = {name: msgspec.json.encode(get(name).render_response(answer, "up")) for name in NAMES}
    results["response"] = {f"{up}->{front}": timed(lambda u=up, f=front: translate_response(u, f, answers[u], "m"), REPS)
                           for up in NAMES for front in NAMES if up != front}

    events = sample_stream()
    streams = {}
    for up in NAMES:
        chunks = upstream_chunks(up, events)
        for front in NAMES:
            if front == up:
                continue

            def run(u=up, f=front, ch=chunks):
                tr = StreamTranslator(u, f, "client")
                for chunk in ch:
                    tr.feed(chunk)
                tr.close()

            t = timed(run, STREAM_REPS)
            t["per_event_us"] = round(t["p50_us"] / len(chunks), 2)
            t["upstream_events"] = len(chunks)
            streams[f"{up}->{front}"] = t
    results["stream_200"] = streams

    worst_req = max(v["p50_us"] for k, v in requests.items() if "parse" not in k)
    worst_stream_event = max(v["per_event_us"] for v in streams.values())
    results["summary"] = {"worst_request_translation_p50_us": worst_req,
                          "worst_stream_per_event_us": worst_stream_event,
                          "target_whole_proxy_p50_us": 1000}

    print(f"request bodies: {sizes} bytes")
    print(f"{'request (parse+render, bytes->bytes)':44} {'p50 us':>8} {'p99 us':>8}")
    for k, v in requests.items():
        print(f"  {k:42} {v['p50_us']:8.1f} {v['p99_us']:8.1f}")
    print(f"{'long Claude Code history (%d KB)' % (len(history) // 1024):44} {'p50 us':>8} {'p99 us':>8}")
    for k, v in results["long_history"].items():
        print(f"  {k:42} {v['p50_us']:8.1f} {v['p99_us']:8.1f}")
    print(f"{'whole answer':44} {'p50 us':>8} {'p99 us':>8}")
    for k, v in results["response"].items():
        print(f"  {k:42} {v['p50_us']:8.1f} {v['p99_us']:8.1f}")
    print(f"{'200-event stream (whole stream)':44} {'p50 us':>8} {'p99 us':>8} {'us/event':>9}")
    for k, v in streams.items():
        print(f"  {k:42} {v['p50_us']:8.1f} {v['p99_us']:8.1f} {v['per_event_us']:9.2f}")
    print(f"worst request translation p50 {worst_req:.0f} us (whole-proxy budget 1000 us p50); "
          f"worst stream cost {worst_stream_event:.1f} us per upstream event")
    out = ROOT / "bench" / "results" / "bench_dialects.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
