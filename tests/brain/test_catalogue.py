"""The built-in catalogue: aliases, overrides, and prices that come from genai-prices."""

import subprocess
import sys

from routerd.catalogue.builtin import BUILTIN_MODELS, PriceSnapshot, load_catalogue, load_price_snapshot
from routerd.catalogue.models import ModelInfo


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
    from routerd.catalogue.gen_prices import price_of

    snapshot = load_price_snapshot()
    assert snapshot.source == "genai-prices"
    for model in BUILTIN_MODELS:
        if model.free:
            continue
        assert snapshot.prices.get(model.key) == price_of(model, snapshot.as_of), model.key


def test_catalogue_load_does_not_import_genai_prices():
    """Building the catalogue reads the snapshot; it never imports genai-prices (~180 ms)."""
    code = ("import sys\nfrom routerd.catalogue.builtin import load_catalogue\nload_catalogue()\n"
            "print('genai_prices' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
