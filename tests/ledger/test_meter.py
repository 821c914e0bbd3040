"""The usage meter reads every token kind each provider reports, as genai-prices' extractors do."""

import json

import pytest

from routerd.catalogue.prices import Tokens
from routerd.gateway.usage import UsageMeter

ANTHROPIC = {"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "model": "claude-opus-4-8",
             "usage": {"input_tokens": 6, "cache_creation_input_tokens": 2_048,
                       "cache_read_input_tokens": 41_233, "output_tokens": 512,
                       "cache_creation": {"ephemeral_5m_input_tokens": 1_024,
                                          "ephemeral_1h_input_tokens": 1_024},
                       "output_tokens_details": {"thinking_tokens": 300}, "service_tier": "standard"}}
OPENAI_CHAT = {"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion", "model": "gpt-4.1",
               "usage": {"prompt_tokens": 2_006, "completion_tokens": 300, "total_tokens": 2_306,
                         "prompt_tokens_details": {"cached_tokens": 1_920, "audio_tokens": 0},
                         "completion_tokens_details": {"reasoning_tokens": 128, "audio_tokens": 0}}}
RESPONSES = {"id": "resp_67ccd2bed1ec8190", "object": "response", "model": "gpt-5.5",
             "usage": {"input_tokens": 3_650, "input_tokens_details": {"cached_tokens": 3_072},
                       "output_tokens": 120, "output_tokens_details": {"reasoning_tokens": 64},
                       "total_tokens": 3_770}}
GEMINI = {"responseId": "mTkXaM7fHLOmz7IPt8mC0QE", "modelVersion": "gemini-2.5-pro",
          "usageMetadata": {"promptTokenCount": 9_000, "candidatesTokenCount": 400, "thoughtsTokenCount": 250,
                            "cachedContentTokenCount": 8_192, "toolUsePromptTokenCount": 30,
                            "totalTokenCount": 9_680}}

CASES = [("anthropic", ANTHROPIC, ("anthropic", "default")), ("openai_chat", OPENAI_CHAT, ("openai", "chat")),
         ("responses", RESPONSES, ("openai", "responses")), ("gemini", GEMINI, ("google", "default"))]


def _theirs(body: dict, provider: str, flavor: str) -> Tokens:
    from genai_prices import extract_usage

    usage = extract_usage(body, provider_id=provider, api_flavor=flavor).usage
    return Tokens(input=usage.input_tokens, output=usage.output_tokens, cache_read=usage.cache_read_tokens,
                  cache_write=usage.cache_write_tokens, cache_write_1h=usage.cache_write_1h_tokens,
                  reasoning=usage.output_reasoning_tokens)


@pytest.mark.parametrize(("dialect", "body", "source"), CASES, ids=[c[0] for c in CASES])
def test_whole_answers_are_metered_as_genai_prices_extracts_them(dialect, body, source):
    """Every token kind of a whole answer is read as genai-prices' extractor for that API reads it."""
    meter = UsageMeter(dialect)
    meter.feed_body(json.dumps(body).encode())
    assert meter.completed and meter.tokens() == _theirs(body, *source)
    assert meter.response_id == (body.get("id") or body.get("responseId")) and not meter.estimated


def _sse(events: list[tuple[str | None, dict]]) -> bytes:
    return b"".join((f"event: {name}\n" if name else "").encode() + b"data: " + json.dumps(data).encode()
                    + b"\n\n" for name, data in events)


def test_an_anthropic_stream_takes_the_input_side_from_message_start_and_output_from_message_delta():
    """message_start carries cache reads and writes, message_delta the final output count."""
    start = {**ANTHROPIC, "usage": {**ANTHROPIC["usage"], "output_tokens": 1}}
    stream = _sse([("message_start", {"type": "message_start", "message": start}),
                   ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": "usage: hi"}}),
                   ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                      "usage": {"output_tokens": 512,
                                                "output_tokens_details": {"thinking_tokens": 300}}}),
                   ("message_stop", {"type": "message_stop"})])
    meter = UsageMeter("anthropic")
    for i in range(0, len(stream), 7):  # cut anywhere
        meter.feed_stream(stream[i:i + 7])
    assert meter.completed and meter.tokens() == _theirs(ANTHROPIC, "anthropic", "default")
    assert meter.response_id == ANTHROPIC["id"]


def test_a_responses_stream_reads_usage_from_response_completed():
    """The Responses API's usage rides inside response.completed's response object."""
    stream = _sse([("response.created", {"type": "response.created", "response": {"id": RESPONSES["id"]}}),
                   ("response.completed", {"type": "response.completed", "response": RESPONSES})])
    meter = UsageMeter("responses")
    meter.feed_stream(stream)
    assert meter.completed and meter.tokens() == _theirs(RESPONSES, "openai", "responses")
    assert meter.response_id == RESPONSES["id"]


def test_deepseek_cache_hits_count_as_cache_reads():
    """DeepSeek reports its context-cache hits as prompt_cache_hit_tokens."""
    meter = UsageMeter("openai_chat")
    meter.feed_body(json.dumps({"id": "x", "usage": {"prompt_tokens": 1_000, "completion_tokens": 10,
                                                     "prompt_cache_hit_tokens": 768}}).encode())
    assert meter.tokens() == Tokens(input=1_000, output=10, cache_read=768)


def test_estimated_counts_say_so():
    """A stream with no usage is estimated, and the meter marks the counts as estimated."""
    meter = UsageMeter("openai_chat")
    meter.feed_stream(b'data: {"choices":[{"delta":{"content":"' + b"a" * 40 + b'"}}]}\n\ndata: [DONE]\n\n')
    meter.estimate(b'{"model":"m","messages":[{"role":"user","content":"hello there"}]}', "openai_chat")
    assert meter.estimated and meter.output_tokens == 10 and meter.input_tokens > 0


def test_a_gemini_chunk_with_grounding_and_no_usage_counts_its_searches():
    """Grounding in a chunk that carries no usageMetadata is read too: a stream cut before its
    last chunk keeps the queries it saw (it used to count them only beside usage)."""
    grounded = {"candidates": [{"content": {"role": "model", "parts": [{"text": "found it"}]},
                                "groundingMetadata": {"webSearchQueries": ["python 3.14", "pep 745"]}}]}
    meter = UsageMeter("gemini")
    meter.feed_stream(b"data: " + json.dumps(grounded).encode() + b"\r\n\r\n")
    meter.estimate(b'{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}', "gemini")
    assert (meter.completed, meter.web_searches, meter.estimated) == (False, 2, True)
