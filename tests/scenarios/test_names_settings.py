"""Auto names, client-only decorations, and the [routing.scenarios] table as config."""

import pytest

from routerd.config import parse_config
from routerd.errors import ConfigError
from routerd.errors import BadRequest
from routerd.scenarios.names import AutoNames, check_requested, parse_model_name
from routerd.scenarios.settings import ScenarioRoute, ScenariosConfig


@pytest.mark.parametrize("raw, name, decorations", [
    ("claude-opus-4-8[1m]", "claude-opus-4-8", ("1m",)),
    ("claude-routerd-auto[1m]", "claude-routerd-auto", ("1m",)),
    ("sonnet[1M][fast]", "sonnet", ("1M", "fast")),
    (" gpt-6.1-sol ", "gpt-6.1-sol", ()),
    ("qwen2.5-coder:7b", "qwen2.5-coder:7b", ()),
    ("openrouter/anthropic/claude-sonnet-4.6", "openrouter/anthropic/claude-sonnet-4.6", ()),
])
def test_decorations_are_stripped(raw: str, name: str, decorations: tuple) -> None:
    """A trailing [tag] is the client's own; the name a provider sees has none."""
    parsed = parse_model_name(raw)
    assert (parsed.name, parsed.decorations) == (name, decorations)
    assert parsed.wants_1m == ("1m" in (d.lower() for d in decorations))


@pytest.mark.parametrize("raw", ["gpt-4.1\r\n", " gpt-4.1 ", "auto\r\n", "gpt-4.1\u00a0", "gpt-4.1\u2028",
                                 "claude-opus-4-8 [1m]", "claude-opus-4-8[1m] ", "\tauto", " "])
def test_a_requested_name_with_whitespace_is_refused(raw: str) -> None:
    """Clients' names are held to the documented characters: whitespace is refused, not trimmed."""
    with pytest.raises(BadRequest, match="invalid model name"):
        check_requested(raw)


def test_a_requested_name_keeps_its_tags() -> None:
    """A name with its client's [tags] right after it passes, split as parse_model_name splits it."""
    assert check_requested("claude-opus-4-8[1m][fast]") == parse_model_name("claude-opus-4-8[1m][fast]")


def test_auto_names_by_dialect() -> None:
    """Each dialect lists its own shape of name first; every name means automatic routing."""
    names = AutoNames()
    assert names.listed("anthropic")[0] == "claude-routerd-auto"
    assert names.listed("openai")[0] == "routerd-auto"
    assert all(names.is_auto(n) for n in (*names.listed("openai"), "auto", ""))
    assert not names.is_auto("claude-opus-4-8")


def test_routes_in_config() -> None:
    """Short and long forms of a route, with fallbacks, load from TOML."""
    config = parse_config('[routing.scenarios]\nlong_context_threshold = 80000\nbackground = "haiku"\n'
                          'think = "complex"\n'
                          'subagent = { tier = "moderate", fallbacks = ["gpt-6.1-sol", "simple"] }\n'
                          'anthropic_names = ["claude-team-auto"]\n').routing.scenarios
    assert config.long_context_threshold == 80_000 and config.anthropic_names == ("claude-team-auto",)
    assert config.route("background") == ScenarioRoute(model="haiku")
    assert config.route("think") == ScenarioRoute(tier="complex")
    assert config.route("subagent").steps() == ("moderate", "gpt-6.1-sol", "simple")
    assert config.route("image") is None
    assert parse_config("").routing.scenarios == ScenariosConfig()


@pytest.mark.parametrize("text, message", [
    ('[routing.scenarios]\nsubagent = { tier = "moderate", model = "x" }\n',
     "config.toml:2: routing.scenarios.subagent: give exactly one of `model` or `tier`"),
    ('[routing.scenarios]\nsubagent = { fallbacks = ["x"] }\n',
     "config.toml:2: routing.scenarios.subagent: give exactly one of `model` or `tier`"),
    ('[routing.scenarios]\nlong_context_threshold = 0\n',
     "config.toml:2: routing.scenarios.long_context_threshold: Expected `int` >= 1"),
    ('[routing.scenarios]\nwindow_headroom = 0.95\n',
     "config.toml:2: routing.scenarios.window_headroom: Expected `float` < 0.9"),
    ('\n[routing.scenarios]\nbackgruond = "haiku"\n', "config.toml:3: routing.scenarios.backgruond: unknown key"),
    ('[routing.scenarios]\nthink = { tier = "hard" }\n',
     "config.toml:2: routing.scenarios.think.tier: Invalid enum value 'hard'"),
    ('[routing.scenarios]\nthink_level = "none"\n', "think_level` must be a level that asks for reasoning"),
    ('[routing.scenarios]\nopenai_names = ["a", "a"]\n', "an auto name is listed twice"),
    ('[routing.scenarios]\nopenai_names = ["team/auto"]\n', "auto names must be non-empty"),
    ('[routing.scenarios]\nimage = { model = "  " }\n', "`model` is empty"),
])
def test_bad_tables_name_the_key(text: str, message: str) -> None:
    """A wrong route or setting is refused at load, naming the key (and line where it can)."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "config.toml")
    assert message in str(caught.value)
