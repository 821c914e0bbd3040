"""The built-in catalogue: aliases, overrides, and prices that come from genai-prices."""

import subprocess
import sys

import pytest

from routerd.catalogue.builtin import PriceSnapshot, load_catalogue, load_price_snapshot
from routerd.catalogue.models import ModelInfo, Older


def test_claude_aliases_resolve_by_tier():
    """haiku / sonnet / opus name the simple / moderate / complex Anthropic models."""
    cat = load_catalogue()
    assert [cat.get(a).tier for a in ("haiku", "sonnet", "opus")] == ["simple", "moderate", "complex"]
    assert cat.get("anthropic/claude-haiku-4-5") is cat.get("haiku")


def test_local_models_are_free():
    """Local models cost nothing and say so."""
    cat = load_catalogue()
    local = [m for m in cat.models if m.local]
    assert local and all(m.free and m.cost_per_mtok() == 0.0 for m in local)


def test_prices_come_from_the_snapshot_and_unknown_stays_unknown():
    """Built-in prices are filled from the snapshot; a model it lacks has price None, not a guess."""
    cat = load_catalogue(snapshot=PriceSnapshot("test", "0", "", {}))
    assert all(m.price_in_per_mtok is None for m in cat.models)
    assert all(m.cost_per_mtok() is None for m in cat.models if not m.free)
    priced = load_catalogue()
    assert priced.get("sonnet").price_in_per_mtok is not None


def test_config_overrides_replace_and_add():
    """Config can replace a built-in model (same provider/id) and add new ones."""
    cat = load_catalogue(overrides=[
        ModelInfo(id="claude-haiku-4-5", provider="anthropic", tier="moderate", aliases=("haiku",)),
        ModelInfo(id="my-model", provider="vllm", tier="simple", local=True, free=True),
    ])
    assert cat.get("haiku").tier == "moderate"
    assert cat.get("vllm/my-model").free
    assert len([m for m in cat.models if m.id == "claude-haiku-4-5"]) == 1


def test_price_snapshot_matches_genai_prices():
    """The shipped prices.json says what genai-prices says (regenerate with gen_prices if not)."""
    from routerd.catalogue.gen_prices import build_snapshot

    snapshot = load_price_snapshot()
    assert snapshot.source == "genai-prices"
    assert snapshot == build_snapshot(snapshot.as_of)


def test_every_builtin_model_is_priced():
    """Each built-in model that is not free has a price from the snapshot: none silently unknown."""
    cat = load_catalogue()
    unpriced = [m.key for m in cat.models if not m.free and m.cost_per_mtok() is None]
    assert unpriced == []


def test_current_claude_code_models_and_aliases():
    """Claude Code 2.1.197's default (claude-opus-4-8) and current Sonnet/Haiku are what the
    aliases name; older ids it still sends are recognised as aliases of their successor."""
    cat = load_catalogue()
    assert [cat.get(a).id for a in ("haiku", "sonnet", "opus")] == [
        "claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-8"]
    assert cat.get("claude-opus-4-1").id == "claude-opus-4-8"
    assert cat.get("claude-sonnet-4-5").tier == "moderate"


def test_models_routerd_does_not_route_to_are_priced_by_their_own_name():
    """A model a client names is priced as itself (older Opus at its own price, dated snapshots,
    ids routerd never picks), on any provider; an id genai-prices lacks stays unknown."""
    cat = load_catalogue()
    assert cat.price("anthropic", "claude-opus-4-8") == (5.0, 25.0)
    assert cat.price("anthropic", "claude-opus-4-1") == (15.0, 75.0)
    assert cat.price("anthropic", "claude-haiku-4-5-20251001") == (1.0, 5.0)
    assert cat.price("my-proxy", "claude-opus-4-8") == (5.0, 25.0)
    assert cat.price("openai", "gpt-5-2025-08-07") == (1.25, 10.0)
    assert cat.price("openai", "no-such-model") is None
    assert cat.price("ollama", "llama3.1:8b") == (0.0, 0.0)


def test_catalogue_load_does_not_import_genai_prices():
    """Building the catalogue reads the snapshot; it never imports genai-prices (~180 ms)."""
    code = ("import sys\nfrom routerd.catalogue.builtin import load_catalogue\nload_catalogue()\n"
            "print('genai_prices' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_older_claude_aliases_do_not_take_native_structured_output():
    """claude-3-5-haiku, Sonnet 4 and Opus 4 route to their successors' entries but are models without output_config.format."""
    cat = load_catalogue()
    assert [cat.get(n).takes_json_output(n) for n in ("claude-3-5-haiku", "claude-sonnet-4-20250514", "claude-opus-4")] \
        == [False, False, False]
    assert [cat.get(n).takes_json_output(n) for n in ("claude-haiku-4-5", "haiku", "claude-sonnet-4-5", "claude-opus-4-1")] \
        == [True, True, True, True]
    with pytest.raises(ValueError, match="not an alias"):
        ModelInfo(id="x", provider="anthropic", tier="simple", aliases_without_json_output=("y",))


def test_an_alias_naming_an_older_model_has_its_thinking_levels():
    """gemini-3-pro-preview routes to 3.1 Pro's entry but reaches Gemini 3 Pro (low and high only);
    3.1 Pro's own names keep medium, and an unknown alias or level is refused."""
    cat = load_catalogue()
    assert cat.get("gemini-3-pro-preview").thinking_levels == ("low", "high")
    assert cat.get("gemini-3-pro-preview").key == "gemini/gemini-3.1-pro-preview"
    assert {cat.get(n).thinking_levels for n in ("gemini-pro", "gemini-3.1-pro-preview",
                                                  "gemini/gemini-3.1-pro-preview")} == {("low", "medium", "high")}
    with pytest.raises(ValueError, match="not an alias"):
        ModelInfo(id="x", provider="gemini", tier="simple", older={"y": Older(thinking_levels=("low",))})
    with pytest.raises(ValueError, match="unknown thinking level 'max'"):
        ModelInfo(id="x", provider="gemini", tier="simple", aliases=("y",), older={"y": Older(thinking_levels=("max",))})
