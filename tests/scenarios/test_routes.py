"""Routes per scenario, the context-window rule, long sessions, and checking route names."""

from routerd.catalogue.builtin import load_catalogue
from routerd.catalogue.models import ModelInfo
from routerd.config import parse_config
from routerd.scenarios.routes import (SessionWindows, check_routes, fits, model_info, route_for, split_by_window,
                                      with_room)
from routerd.scenarios.settings import ScenariosConfig
from routerd.scenarios.tokens import TokenCount

SMALL = ModelInfo(id="small-32k", provider="ollama", tier="simple", context_window=32_768, local=True)
MID = ModelInfo(id="mid-128k", provider="openai", tier="moderate", context_window=128_000)
BIG = ModelInfo(id="big-1m", provider="gemini", tier="moderate", context_window=1_048_576)
CANDIDATES = [("ollama/small-32k", SMALL), ("openai/mid-128k", MID), ("gemini/big-1m", BIG)]


def _config(text: str) -> ScenariosConfig:
    return parse_config("[routing.scenarios]\n" + text).routing.scenarios


def test_configured_route_then_builtin_then_brain() -> None:
    """A configured route wins; background has a built-in; the rest go to the brain."""
    config = _config('background = "haiku"\nthink = { model = "opus", fallbacks = ["o3"] }\n')
    assert route_for("think", config).steps == ("opus", "o3")
    assert route_for("background", config).steps == ("haiku",)
    builtin = route_for("background", ScenariosConfig())
    assert builtin.steps == ("simple",) and builtin.source == "builtin"
    assert route_for("subagent", config) is None and route_for("default", config) is None


def test_window_fit_uses_the_models_family_and_headroom() -> None:
    """A request fits a window when its upper count for that model's family leaves the headroom."""
    count = TokenCount(base=100_000)
    assert fits(MID, count, 0.15) is True   # 101,000 <= 108,800
    assert fits(MID, count, 0.25) is False  # 101,000 > 96,000
    claude = ModelInfo(id="claude-opus-4-8", provider="anthropic", tier="complex", context_window=200_000)
    assert fits(claude, TokenCount(base=110_000), 0.15) is False  # 1.6 x 110k = 176k > 170k


def test_split_by_window_says_why() -> None:
    """Candidates too small are dropped with the numbers; unknown windows are kept."""
    kept, dropped = split_by_window([*CANDIDATES, ("custom/x", None)], TokenCount(base=40_000), 0.15)
    assert kept == ["openai/mid-128k", "gemini/big-1m", "custom/x"]
    assert dropped == ["ollama/small-32k: ~52,000 tokens do not fit its 32,768-token window with 15% headroom"]


def test_room_to_grow_comes_first() -> None:
    """Moving a long conversation prefers a window that holds twice its size."""
    assert with_room(CANDIDATES, TokenCount(base=60_000), 0.15) == ["gemini/big-1m", "openai/mid-128k"]


def test_a_growing_session_moves_once() -> None:
    """A conversation growing from 20k to 700k tokens moves once, to room to grow, and never back."""
    table = SessionWindows()
    picks = []
    for size in range(20_000, 700_001, 20_000):
        long = size > 60_000
        model, why = table.choose("s1", CANDIDATES, TokenCount(base=size), 0.15, long)
        picks.append(model)
    assert picks[:4] == [None, None, None, "gemini/big-1m"]  # 20k, 40k, 60k, then 80k > 60k
    assert set(picks[3:]) == {"gemini/big-1m"} and table.moves == 1
    # After a compaction the count drops below the threshold: the session stays.
    model, why = table.choose("s1", CANDIDATES, TokenCount(base=30_000), 0.15, long=False)
    assert model == "gemini/big-1m" and "stays" in why


def test_a_session_that_outgrows_its_model_moves_up() -> None:
    """When the stay no longer fits, the session moves to a window that holds it."""
    table = SessionWindows()
    two = [("openai/mid-128k", MID), ("gemini/big-1m", BIG)]
    assert table.choose("s", two[:1], TokenCount(base=61_000), 0.4, True)[0] == "openai/mid-128k"
    model, why = table.choose("s", two, TokenCount(base=90_000), 0.4, True)
    assert model == "gemini/big-1m" and "outgrew openai/mid-128k" in why and table.moves == 2


def test_nothing_fits() -> None:
    """With no window big enough, no model is chosen (the caller refuses the request)."""
    table = SessionWindows()
    assert table.choose("s", CANDIDATES[:2], TokenCount(base=500_000), 0.15, True) == (None, "")


def test_sessions_are_bounded() -> None:
    """The table forgets its oldest sessions past its size."""
    table = SessionWindows(max_sessions=3)
    for n in range(5):
        table.choose(f"s{n}", CANDIDATES, TokenCount(base=70_000), 0.15, True)
    assert table.statistics() == {"sessions": 3, "moves": 5} and table.get("s0") is None


def test_route_names_are_checked_against_what_exists() -> None:
    """Every step names a tier, a catalogue model or alias, a gateway alias or provider/model."""
    catalogue = load_catalogue()
    config = _config('background = "haiku"\nthink = { model = "best", fallbacks = ["o3", "complex"] }\n'
                     'image = "local/llava"\nsubagent = "claude-sonnet-4-6[1m]"\n')
    assert check_routes(config, catalogue, {"best": "anthropic/claude-opus-4-8"}, {"local"}) == []
    bad = _config('think = { model = "gpt-7-imaginary", fallbacks = ["nowhere/model"] }\n'
                  'anthropic_names = ["best"]\n')
    problems = check_routes(bad, catalogue, {"best": "x/y"}, {"local"})
    assert [p.split(":")[0] for p in problems] == ["routing.scenarios.think", "routing.scenarios.think",
                                                   "routing.scenarios"]
    assert "'gpt-7-imaginary' is not a tier" in problems[0] and "'best'" in problems[2]


def test_model_info_through_aliases() -> None:
    """A route step reaches its catalogue entry through gateway and catalogue aliases."""
    catalogue = load_catalogue()
    assert model_info("best", catalogue, {"best": "anthropic/claude-opus-4-8"}).id == "claude-opus-4-8"
    assert model_info("haiku", catalogue, {}).id == "claude-haiku-4-5"
    assert model_info("openai/gpt-4.1", catalogue, {}).context_window == 1_047_576
    assert model_info("sonnet[1m]", catalogue, {}).id == "claude-sonnet-4-6"
    assert model_info("nothing", catalogue, {}) is None
