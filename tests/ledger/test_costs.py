"""One formula for every row: a recorded Claude Code turn priced by hand, hook rows priced like
gateway rows, and the baseline is the same tokens with the same cache treatment on another model."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from routerd.catalogue.builtin import load_catalogue
from routerd.catalogue.prices import Rates, Tokens, cost_usd
from routerd.integrations import transcript
from routerd.ledger import costs
from tests.integrations.support import claude_payload
from tests.support import connect

pytestmark = pytest.mark.anyio
RECORDED = Path(__file__).with_name("data") / "claude_code_turn.jsonl"
# anthropic.com/pricing, per million tokens: input, 5-minute cache write, 1-hour cache write,
# cache read, output.
OPUS_4_8 = (5.00, 6.25, 10.00, 0.50, 25.00)
HAIKU_4_5 = (1.00, 1.25, 2.00, 0.10, 5.00)
CATALOGUE = load_catalogue()  # read here: the daemon tests' event loop must not do file I/O


def _recorded_today() -> str:
    """The recorded transcript stamped today: the daemon does not record a transcript's turn from
    before its retention's edge (state.retain_days, 90 days by default), which the recording's
    own date (2026-12-03) passes in March 2027."""
    today = datetime.now(timezone.utc).date().isoformat()
    return RECORDED.read_text().replace('"timestamp":"2026-12-03T', f'"timestamp":"{today}T')


def by_hand(prices: tuple[float, ...], fresh: int, write_5m: int, write_1h: int, read: int, out: int) -> float:
    p_in, p_5m, p_1h, p_read, p_out = prices
    return (fresh * p_in + write_5m * p_5m + write_1h * p_1h + read * p_read + out * p_out) / 1e6


def test_a_recorded_claude_code_turn_costs_what_the_published_prices_say():
    """Claude Code's own record of a cached turn (4 fresh, 1,380 5m + 1,000 1h written, 14,506 read,
    245 out on claude-opus-4-8) costs $0.032023 by hand, not the $0.090575 of pricing all input
    as fresh input."""
    [message] = transcript.recent_messages(RECORDED.read_bytes())
    assert message.tokens == Tokens(input=16_890, output=245, cache_read=14_506, cache_write=2_380,
                                    cache_write_1h=1_000)
    cost = costs.price(CATALOGUE, ("anthropic", message.model), message.tokens)
    assert cost == pytest.approx(by_hand(OPUS_4_8, 4, 1_380, 1_000, 14_506, 245), rel=1e-12)
    assert cost == pytest.approx(0.032023)
    naive = (16_890 * 5.00 + 245 * 25.00) / 1e6
    assert naive == pytest.approx(0.090575) and naive > 2.8 * cost


def test_the_baseline_prices_the_same_tokens_with_the_same_cache_treatment():
    """The same cached turn on haiku and on opus: both count the reads and writes as such."""
    catalogue = CATALOGUE
    tokens = Tokens(input=16_890, output=245, cache_read=14_506, cache_write=2_380, cache_write_1h=1_000)
    haiku = costs.price(catalogue, ("anthropic", "claude-haiku-4-5"), tokens)
    opus = costs.price(catalogue, ("anthropic", "claude-opus-4-8"), tokens)
    assert haiku == pytest.approx(by_hand(HAIKU_4_5, 4, 1_380, 1_000, 14_506, 245))
    assert opus == pytest.approx(by_hand(OPUS_4_8, 4, 1_380, 1_000, 14_506, 245))


def test_local_is_free_unknown_is_none_and_a_zero_price_is_free():
    """Configured local costs 0; a model nobody prices is None, not 0; a catalogue price of 0 is 0."""
    catalogue = CATALOGUE
    tokens = Tokens(input=1_000, output=100)
    assert costs.price(catalogue, ("anthropic", "claude-opus-4-8"), tokens, local=True) == 0.0
    assert costs.price(catalogue, ("acme", "mystery-model-9"), tokens) is None
    assert costs.price(catalogue, ("ollama", "llama3.1:8b"), tokens) == 0.0
    assert cost_usd(Rates(input=0.0, output=0.0), tokens) == 0.0


def test_a_call_that_used_nothing_costs_nothing_even_unpriced():
    """An attempt that failed before any token (a timeout, a 5xx) on a model nobody prices cost 0,
    not "unknown": reports do not list it as a price to find nor leave it out of the savings."""
    assert costs.price(CATALOGUE, ("acme", "mystery-model-9"), Tokens()) == 0.0
    assert costs.price(CATALOGUE, ("anthropic", "claude-opus-4-8"), Tokens()) == 0.0
    assert costs.price(CATALOGUE, ("acme", "mystery-model-9"), Tokens(web_searches=1)) is None
    assert costs.price(CATALOGUE, ("acme", "mystery-model-9"), Tokens(output=1)) is None


def test_a_configured_baseline_resolves_by_alias_id_or_provider_model():
    """accounting.baseline_model may be an alias, a model id, or provider/model."""
    catalogue = CATALOGUE
    assert costs.configured_baseline(catalogue, "opus") == ("anthropic", "claude-opus-4-8")
    assert costs.configured_baseline(catalogue, "openai/gpt-5.5") == ("openai", "gpt-5.5")
    assert costs.configured_baseline(catalogue, "gpt-4.1") == ("openai", "gpt-4.1")
    assert costs.configured_baseline(catalogue, None) is None


async def _stop(daemon, path: Path, session: str = "c887d349") -> None:
    payload = json.loads(claude_payload("Stop", session=session, transcript_path=str(path)))
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "hook", "host": "claude-code", "event": "Stop", "payload": payload})
    assert reply["type"] == "hook_reply", reply
    await daemon.store.flush()


async def _rows(daemon) -> list[dict]:
    def read(conn):
        names = [c[1] for c in conn.execute("PRAGMA table_info(calls)")]
        return [dict(zip(names, r)) for r in conn.execute("SELECT * FROM calls ORDER BY ts")]

    return await daemon.store.read(read)


async def test_a_turn_read_by_the_stop_hook_is_priced_like_a_gateway_call(daemon, tmp_path: Path):
    """The Stop hook turns the recorded transcript into one row, cache tokens and cost included;
    the session's main model is its baseline, so a main-thread turn saves nothing."""
    path = tmp_path / "t.jsonl"
    path.write_text(_recorded_today())
    await _stop(daemon, path)
    [row] = await _rows(daemon)
    assert (row["source"], row["provider"], row["model"], row["response_id"]) == \
        ("hook:claude-code", "anthropic", "claude-opus-4-8", "msg_e2e_1")
    assert (row["input_tokens"], row["cached_tokens"], row["cache_write_tokens"],
            row["cache_write_1h_tokens"], row["output_tokens"]) == (16_890, 14_506, 2_380, 1_000, 245)
    assert row["cost_usd"] == pytest.approx(0.032023) == row["baseline_cost_usd"]
    assert row["baseline_model"] == "anthropic/claude-opus-4-8" and row["latency_ms"] is None
    await _stop(daemon, path)  # SessionEnd or the next Stop sees the same lines: still one row
    assert len(await _rows(daemon)) == 1


async def test_a_subagent_turn_saves_against_the_main_model(daemon, tmp_path: Path):
    """A turn delegated to haiku (a sidechain message) is compared with the session's opus."""
    lines = _recorded_today().splitlines()
    main = json.loads(lines[1])
    side = json.loads(lines[1])
    side["isSidechain"] = True
    side["message"] = dict(side["message"], id="msg_side_1", model="claude-haiku-4-5")
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(side), json.dumps(main)]) + "\n")
    await _stop(daemon, path)
    rows = {r["response_id"]: r for r in await _rows(daemon)}
    side_row = rows["msg_side_1"]
    assert side_row["baseline_model"] == "anthropic/claude-opus-4-8"
    assert side_row["cost_usd"] == pytest.approx(by_hand(HAIKU_4_5, 4, 1_380, 1_000, 14_506, 245))
    assert side_row["baseline_cost_usd"] == pytest.approx(0.032023)


class TestConfiguredBaseline:
    """A daemon whose savings are counted against accounting.baseline_model."""

    @pytest.fixture
    def config_file(self, daemon_env: Path) -> Path:
        path = daemon_env / "config.toml"
        path.write_text('[http]\nlisten = "127.0.0.1:0"\n[accounting]\nbaseline_model = "openai/gpt-5.5"\n')
        return path

    async def test_it_is_the_baseline_of_subagent_rows_not_of_main_ones(self, daemon, tmp_path: Path):
        """accounting.baseline_model replaces the session's main model as a subagent turn's
        baseline; a main-conversation turn ran on the model the user chose: its own baseline, 0
        saved (compared with gpt-5.5, the opus turn routerd had no part in lost money)."""
        lines = _recorded_today().splitlines()
        side = json.loads(lines[1])
        side["isSidechain"] = True
        side["message"] = dict(side["message"], id="msg_side_1", model="claude-haiku-4-5")
        path = tmp_path / "t.jsonl"
        path.write_text("\n".join([lines[0], json.dumps(side), lines[1]]) + "\n")
        await _stop(daemon, path)
        rows = {r["response_id"]: r for r in await _rows(daemon)}
        tokens = Tokens(input=16_890, output=245, cache_read=14_506, cache_write=2_380, cache_write_1h=1_000)
        assert rows["msg_side_1"]["baseline_model"] == "openai/gpt-5.5"
        assert rows["msg_side_1"]["baseline_cost_usd"] == pytest.approx(
            costs.price(CATALOGUE, ("openai", "gpt-5.5"), tokens))
        main = rows["msg_e2e_1"]
        assert main["baseline_model"] == "anthropic/claude-opus-4-8"
        assert main["baseline_cost_usd"] == main["cost_usd"] == pytest.approx(0.032023)
