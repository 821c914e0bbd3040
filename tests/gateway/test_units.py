"""Pure parts of the gateway: provider registry, breaker, usage meter, model patching, h1 parser."""

import msgspec
import pytest

from routerd.config import parse_config
from routerd.errors import ConfigError
from routerd.resilience.breaker import BreakerSettings
from routerd.resilience.health import Health
from routerd.routing.candidates import brain_providers, resolve, speaks_for
from routerd.dialects.openai_chat.dialect import OPENAI_CHAT
from routerd.gateway.prepare import patch_model
from routerd.providers import build_providers
from routerd.gateway.usage import UsageMeter
from tests.fakes import answers


def test_providers_from_environment_like_the_sdks():
    """With no providers in the config, keys and base URLs in the environment enable them."""
    env = {"OPENAI_API_KEY": "sk-1", "ANTHROPIC_API_KEY": "sk-2", "ANTHROPIC_BASE_URL": "http://a.test",
           "OLLAMA_BASE_URL": "http://localhost:11434", "GROQ_API_KEY": "gsk"}
    providers = build_providers(parse_config(""), env, "127.0.0.1:4141")
    assert set(providers) == {"openai", "anthropic", "ollama", "groq"}
    assert providers["openai"].base_url == "https://api.openai.com/v1"
    assert providers["anthropic"].base_url == "http://a.test"
    assert providers["anthropic"].auth_headers == ((b"x-api-key", b"sk-2"),)
    assert providers["ollama"].base_url == "http://localhost:11434/v1" and providers["ollama"].local
    assert providers["groq"].base_url == "https://api.groq.com/openai/v1"
    assert "sk-1" not in repr(providers["openai"])
    assert providers["openai"].dialects == ("openai_chat", "responses")


def test_a_server_at_openai_base_url_is_not_assumed_to_speak_responses():
    """OPENAI_BASE_URL pointing at another server (llama.cpp, vLLM): Responses requests are
    translated to chat for it, since only OpenAI itself is known to serve /v1/responses."""
    env = {"OPENAI_API_KEY": "sk-1", "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}
    providers = build_providers(parse_config(""), env, "127.0.0.1:4141")
    assert providers["openai"].dialects == ("openai_chat",)


def test_routing_follows_a_providers_kind_not_its_name():
    """A provider section with any name speaks for the catalogue maker of its kind: by its model
    patterns, or at the kind's official URL when it names none; a local server of the same kind
    claims only what its patterns say."""
    config = parse_config('''
[providers.work]
kind = "anthropic"
[providers.team]
kind = "responses"
models = ["gpt-*"]
[providers.local]
kind = "openai"
base_url = "http://127.0.0.1:8080/v1"
models = ["qwen*"]
''')
    providers = build_providers(config, {}, None)
    assert speaks_for(providers["work"], "anthropic", "claude-haiku-4-5")
    assert speaks_for(providers["team"], "openai", "gpt-6-luna")
    assert not speaks_for(providers["local"], "openai", "gpt-6-luna")
    assert not speaks_for(providers["work"], "openai", "gpt-6-luna")
    health = Health(lambda target: BreakerSettings(failures=1))
    health.admit("work", "claude-haiku-4-5", 0.0).failed(0.0)
    enabled, down = brain_providers(providers, lambda name, now: (r.reason, r.retry_in_s)
                                    if (r := health.unavailable(name, None, now)) else None,
                                    frozenset({"openai", "anthropic", "gemini"}), 1.0)
    assert enabled == {"work", "team", "local", "openai", "anthropic"}
    assert down == {"work", "anthropic"}


def test_config_providers_replace_the_environment():
    """A config naming providers uses exactly those."""
    config = parse_config('[providers.local]\nbase_url = "http://127.0.0.1:8080/v1"\n')
    assert set(build_providers(config, {"OPENAI_API_KEY": "sk"}, None)) == {"local"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:4141", "http://localhost:4141/v1",
                                 "http://[::1]:4141", "http://0.0.0.0:4141", "http://[::]:4141",
                                 "http://127.1:4141", "http://2130706433:4141", "http://0x7f.0.0.1:4141",
                                 "http://0177.0.0.1:4141", "http://[::ffff:127.0.0.1]:4141",
                                 "http://LOCALHOST.:4141", "http://api.localhost:4141", "http://127.0.0.2:4141"])
def test_base_url_pointing_at_routerd_is_refused(url):
    """A provider that points back at routerd's own address is a clear config error, however the
    address is spelled."""
    config = parse_config(f'[providers.loop]\nbase_url = "{url}"\n')
    with pytest.raises(ConfigError, match="points back at routerd itself"):
        build_providers(config, {}, "127.0.0.1:4141")


@pytest.mark.parametrize(("listen", "url", "loops"), [
    ("0.0.0.0:4141", "http://127.1:4141", True), ("0.0.0.0:4141", "http://[::ffff:7f00:1]:4141", True),
    ("[::]:4141", "http://localhost.:4141", True), ("192.0.2.7:4141", "http://3221225991:4141", True),
    ("192.0.2.7:4141", "http://[::ffff:192.0.2.7]:4141", True), ("192.0.2.7:4141", "http://127.0.0.1:4141", False),
    ("127.0.0.1:4141", "http://127.1:4142", False), ("127.0.0.1:4141", "http://192.0.2.7:4141", False),
    ("127.0.0.1:4141", "http://notlocalhost:4141", False),
])
def test_self_loop_spellings_by_listen_address(listen, url, loops):
    """Every spelling of an address that reaches the listener is refused; another host or port is not."""
    config = parse_config(f'[providers.loop]\nbase_url = "{url}"\n')
    if loops:
        with pytest.raises(ConfigError, match="points back at routerd itself"):
            build_providers(config, {}, listen)
    else:
        assert set(build_providers(config, {}, listen)) == {"loop"}


def test_self_loop_from_environment_is_refused():
    """ANTHROPIC_BASE_URL exported for Claude Code (pointing at routerd) and inherited by routerd is
    not used: routerd calls Anthropic itself instead of itself."""
    providers = build_providers(parse_config(""), {"ANTHROPIC_API_KEY": "k",
                                                   "ANTHROPIC_BASE_URL": "http://127.0.0.1:4141"},
                                "127.0.0.1:4141")
    assert providers["anthropic"].base_url == "https://api.anthropic.com"
    with pytest.raises(ConfigError, match="points back at routerd itself"):
        build_providers(parse_config(""), {"OLLAMA_BASE_URL": "http://localhost:4141"}, "127.0.0.1:4141")


def test_model_resolution():
    """provider/model, aliases and pattern claims resolve to candidates, client's dialect first."""
    config = parse_config('''
[gateway.aliases]
fast = "b/gpt-4o-mini"
[providers.a]
models = ["gpt-*"]
[providers.b]
models = ["gpt-*"]
[providers.c]
kind = "anthropic"
models = ["claude-*"]
''')
    providers = build_providers(config, {}, None)
    names = lambda cands: [(c.provider, c.model) for c in cands]  # noqa: E731
    assert names(resolve("a/x", providers, config.gateway, "openai_chat")) == [("a", "x")]
    assert names(resolve("fast", providers, config.gateway, "openai_chat")) == [("b", "gpt-4o-mini")]
    assert names(resolve("gpt-4o", providers, config.gateway, "openai_chat")) == \
        [("a", "gpt-4o"), ("b", "gpt-4o")]
    assert names(resolve("claude-x", providers, config.gateway, "openai_chat")) == [("c", "claude-x")]
    assert resolve("llama", providers, config.gateway, "openai_chat") == []


@pytest.mark.parametrize("dialect", ["openai_chat", "anthropic", "responses", "gemini"])
def test_usage_from_streams_cut_anywhere(dialect):
    """Usage and completion are read from a stream however its bytes are split."""
    data = b"".join(answers.stream(dialect, "m", "some text here", None))
    for size in (1, 7, 64, len(data)):
        meter = UsageMeter(dialect)
        for i in range(0, len(data), size):
            meter.feed_stream(data[i:i + size])
        assert (meter.input_tokens, meter.output_tokens, meter.completed) == \
            (answers.INPUT_TOKENS, answers.OUTPUT_TOKENS, True)


@pytest.mark.parametrize("dialect", ["openai_chat", "anthropic", "responses", "gemini"])
def test_usage_from_bodies(dialect):
    meter = UsageMeter(dialect)
    meter.feed_body(msgspec.json.encode(answers.body(dialect, "m", "t", None)))
    assert (meter.input_tokens, meter.output_tokens) == (answers.INPUT_TOKENS, answers.OUTPUT_TOKENS)


def test_patch_model_in_place_and_when_ambiguous():
    """The top-level model is patched in place; a nested look-alike forces a safe re-encode."""
    body = b'{"messages":[],"model" : "auto","x":1.50}'
    assert patch_model(body, "auto", "gpt-4o") == b'{"messages":[],"model":"gpt-4o","x":1.50}'
    nested = b'{"tools":[{"model":"auto"}],"model":"auto"}'
    assert msgspec.json.decode(patch_model(nested, "auto", "m")) == {"tools": [{"model": "auto"}], "model": "m"}
    assert patch_model(b'{"model":"a"}', "a", "a") == b'{"model":"a"}'


def test_stream_usage_is_requested_only_when_unspecified():
    assert OPENAI_CHAT.with_usage_chunk(b'{"model":"m","stream":true}') == \
        b'{"stream_options":{"include_usage":true},"model":"m","stream":true}'
    assert OPENAI_CHAT.with_usage_chunk(b'{"stream_options":{}}') is None


def test_usage_estimated_when_a_stream_reports_none():
    """A stream without usage (llama.cpp ignores include_usage) is recorded with an estimate."""
    events = [e for e in answers.stream("openai_chat", "m", "twelve chars" * 10, None)
              if b'"usage"' not in e]
    meter = UsageMeter("openai_chat")
    for event in events:
        meter.feed_stream(event)
    assert meter.completed and meter.output_tokens == 0
    body = msgspec.json.encode({"model": "m", "messages": [{"role": "user", "content": "x" * 400}]})
    meter.estimate(body, "openai_chat")
    assert meter.output_tokens == 30 and 90 <= meter.input_tokens <= 120


def test_environment_keys_are_secrets_to_scrub():
    """Keys the gateway takes from the environment are known secrets (scrubbed from logs/errors)."""
    from routerd.runtime import build_runtime

    secrets = build_runtime(parse_config(""), None, {"OPENAI_API_KEY": "sk-env-1234", "GROQ_API_KEY": "gsk-5678",
                                                     "HOME": "/root"}).secrets
    assert {"sk-env-1234", "gsk-5678"} <= secrets and "/root" not in secrets


def test_client_credentials_reach_only_keyless_providers():
    """A provider without a key gets the client's credentials (Claude Code's subscription token),
    unless a gateway key is in use; a provider with a key always sends its own."""
    from routerd.gateway.prepare import prepare

    config = parse_config('[providers.sub]\nkind = "anthropic"\n'
                          '[providers.paid]\nkind = "anthropic"\napi_key = "sk-paid-1234"\n')
    providers = build_providers(config, {}, None)
    headers = {b"authorization": b"Bearer sk-ant-oat-client", b"anthropic-beta": b"oauth-2025-04-20"}

    def sent(name: str, forward: bool) -> dict:
        return dict(prepare("anthropic", b"", b"", headers, b'{"model":"m"}', "m", providers[name], "m",
                            False, forward_credentials=forward).headers)

    assert sent("sub", True)[b"authorization"] == b"Bearer sk-ant-oat-client"
    assert b"authorization" not in sent("sub", False)
    paid = sent("paid", True)
    assert b"authorization" not in paid and paid[b"x-api-key"] == b"sk-paid-1234"
    assert paid[b"anthropic-beta"] == b"oauth-2025-04-20"


def test_only_a_provider_configured_local_is_free_whatever_its_address():
    """Free is configured (local = true, or Ollama from OLLAMA_BASE_URL), never read off 127.0.0.1."""
    config = parse_config('[providers.proxy]\nbase_url = "http://127.0.0.1:4000/v1"\n'
                          '[providers.box]\nbase_url = "http://192.0.2.7:8080/v1"\nlocal = true\n')
    providers = build_providers(config, {}, None)
    assert not providers["proxy"].local and providers["box"].local


def test_a_moved_request_keeps_its_bytes_unless_the_target_lacks_something():
    """adapt_anthropic changes only what the target model cannot take: adaptive thinking becomes a
    budget on a thinking model (high's, 24,576), the effort beta goes with effort; a fitting request
    keeps its bytes."""
    import json

    from routerd.catalogue.models import ModelInfo
    from routerd.dialects.anthropic.adapt import adapt_anthropic

    thinker = ModelInfo(id="t", provider="anthropic", tier="moderate", reasoning=True, max_output_tokens=32_000)
    body = json.dumps({"model": "t", "max_tokens": 64000, "thinking": {"type": "adaptive"},
                       "output_config": {"effort": "high", "format": "x"}}).encode()
    headers = [(b"anthropic-beta", b"effort-2025-11-24, claude-code-20250219")]
    out, kept = adapt_anthropic(body, headers, thinker)
    assert json.loads(out) == {"model": "t", "max_tokens": 32000,
                               "thinking": {"type": "enabled", "budget_tokens": 24_576},
                               "output_config": {"format": "x"}}
    assert kept == [(b"anthropic-beta", b"claude-code-20250219")]
    opus = ModelInfo(id="o", provider="anthropic", tier="complex", effort=True, adaptive_thinking=True,
                     context_window=1_000_000)
    assert adapt_anthropic(body, headers, opus) == (body, headers)


def test_a_moved_request_keeps_an_effort_level_the_target_takes_and_lowers_one_it_does_not():
    """Sonnet 4.6 takes effort but not xhigh (platform.claude.com, "Effort"): a request moved there
    keeps low/medium/high/max as they are (its bytes too) and has xhigh lowered to high, the nearest
    level below; the effort beta stays. A model listing a level that does not exist is a config error."""
    import json

    import msgspec

    from routerd.catalogue.builtin import load_catalogue
    from routerd.catalogue.models import ModelInfo
    from routerd.dialects.anthropic.adapt import adapt_anthropic

    sonnet = load_catalogue().get("anthropic/claude-sonnet-4-6")
    assert sonnet is not None and sonnet.effort_levels == ("low", "medium", "high", "max")
    headers = [(b"anthropic-beta", b"effort-2025-11-24")]
    for level in ("low", "medium", "high", "max"):
        body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 100,
                           "output_config": {"effort": level}}).encode()
        assert adapt_anthropic(body, headers, sonnet) == (body, headers)
    body = json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 100,
                       "output_config": {"effort": "xhigh", "format": "x"}}).encode()
    out, kept = adapt_anthropic(body, headers, sonnet)
    assert json.loads(out)["output_config"] == {"effort": "high", "format": "x"} and kept == headers
    with pytest.raises(msgspec.ValidationError, match="unknown effort level 'extreme'"):
        msgspec.convert({"id": "m", "provider": "p", "tier": "simple", "effort": ["high", "extreme"]}, ModelInfo)
