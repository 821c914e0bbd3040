"""The config sections of resilience: what they accept, how they fall through, what they refuse."""

import pytest

from routerd.config import parse_config
from routerd.errors import ConfigError
from routerd.resilience.aliases import build_aliases


def test_a_full_resilience_config_reads():
    """Every section of the README's example reads into its typed settings."""
    config = parse_config('''
[providers.openai]
api_key_env = "OPENAI_API_KEY"
api_keys_env = ["OPENAI_KEY_2", "OPENAI_KEY_3"]

[resilience]
max_in_flight = 200
max_in_flight_per_provider = 50
timezone = "Europe/Berlin"

[resilience.breaker]
failures = 4
cooldown_s = 20

[resilience.breakers."openai/o3"]
cooldown_s = 120

[resilience.cooldowns]
billing_s = 600

[[limits]]
provider = "openai"
window = "minute"
requests = 500
tokens = 200000

[[limits]]
provider = "openai"
models = ["gpt-4o*"]
key = "each"
window = "day"
requests = 10000

[gateway.aliases]
fast = "openai/gpt-4o-mini"

[gateway.aliases.sonnet-pool]
targets = ["anthropic/claude-sonnet-4-6", "bedrock/claude-sonnet-4-6", "fast"]
strategy = "weighted"
weights = [3, 1, 1]
match = ["claude-sonnet-*"]
''')
    assert config.providers["openai"].api_keys_env == ["OPENAI_KEY_2", "OPENAI_KEY_3"]
    r = config.resilience
    assert r.breaker_settings("openai", 5, 30).failures == 4
    model = r.breaker_settings("openai/o3", 5, 30)
    assert (model.failures, model.cooldown_s, model.max_cooldown_s) == (3, 120, 300)
    assert r.cooldowns.cooldowns().billing_s == 600 and r.cooldowns.cooldowns().auth_s == 3600
    assert config.limits[1].amounts() == {"requests": 10000} and config.limits[1].key == "each"
    aliases = build_aliases(config.gateway.aliases)
    assert aliases["fast"].targets == ("openai/gpt-4o-mini",)
    assert aliases["sonnet-pool"].weights == (3.0, 1.0, 1.0)
    assert aliases["sonnet-pool"].match == ("claude-sonnet-*",)


def test_the_older_gateway_breaker_settings_still_count():
    """gateway.breaker_failures and breaker_reset_s are the provider breaker's defaults."""
    config = parse_config('[gateway]\nbreaker_failures = 2\nbreaker_reset_s = 500\n')
    settings = config.resilience.breaker_settings("openai", config.gateway.breaker_failures,
                                                  config.gateway.breaker_reset_s)
    assert (settings.failures, settings.cooldown_s, settings.max_cooldown_s) == (2, 500, 500)
    model = config.resilience.breaker_settings("openai/x", 2, 500)
    assert model.failures == 2


@pytest.mark.parametrize("text, message", [
    ('[[limits]]\nprovider = "openai"\nwindow = "minute"\n',
     "c.toml:1: limits.0: a limit needs at least one of requests"),
    ('[[limits]]\nprovider = "openai"\nwindow = "fortnight"\nrequests = 1\n',
     "c.toml:3: limits.0.window: Invalid enum value 'fortnight'"),
    ('[[limits]]\nprovider = "openai"\nrequests = 0\n', "c.toml:3: limits.0.requests: Expected `int` >= 1"),
    ('[[limits]]\nprovider = "*"\nkey = "A"\nrequests = 5\n', "a key-scoped limit names its provider"),
    ('[gateway.aliases.p]\ntargets = ["a/b", "c/d"]\nweights = [1]\n',
     "c.toml:1: gateway.aliases.p: 1 weights for 2 targets"),
    ('[gateway.aliases.p]\ntargets = []\n', "an alias needs at least one target"),
    ('[gateway.aliases.p]\ntargets = ["a/b"]\nweights = [0]\n', "Expected `float` > 0.0"),
    ('[gateway.aliases.p]\ntargets = ["a/b"]\nstrategy = "random"\n',
     "c.toml:3: gateway.aliases.p.strategy: Invalid enum value 'random'"),
    ('[gateway.aliases]\na = "b"\n[gateway.aliases.b]\ntargets = ["c/d", "a"]\n', "a -> b -> a goes round"),
    ('[gateway.aliases]\nauto = "a/b"\n', "'auto' is routerd's own model name"),
    ('[resilience.breaker]\nfailure_rate = 1.5\n', "resilience.breaker.failure_rate: Expected `float` <= 1.0"),
    ('[resilience.breaker]\nfailures = 3\nthreshold = 2\n', "c.toml:3: resilience.breaker.threshold: unknown key"),
    ('[resilience]\ntimezone = "Mars/Olympus"\n', "unknown time zone 'Mars/Olympus'"),
    ('[resilience.breakers."openai/"]\nfailures = 1\n', "is not a provider or provider/model"),
])
def test_mistakes_are_named_with_their_key_and_line(text, message):
    """Each wrong value is a ConfigError naming where it is and what is wrong."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.toml")
    assert message in caught.value.message


@pytest.mark.parametrize("text, message", [
    ('[[limits]]\nprovider = "azure"\nrequests = 5\n', "limits[0]: no provider 'azure' is enabled "
                                                        "(enabled: openai, anthropic)"),
    ('[[limits]]\nprovider = "openai"\nkey = "KEY_Z"\nrequests = 5\n',
     "limits[0]: openai has no key 'KEY_Z'; its keys: KEY_A, KEY_B"),
    ('[[limits]]\nprovider = "openai"\nrequests = 5\n[[limits]]\nprovider = "openai"\nrequests = 9\n',
     "limits[1]: repeats the requests per minute of limits[0]"),
    ('[resilience.breakers.azure]\nfailures = 2\n', "resilience.breakers.azure: no provider 'azure'"),
])
def test_limits_and_breakers_name_providers_that_exist(text, message):
    """Against the enabled providers, a limit or breaker naming something else is refused."""
    from routerd.resilience.settings import check_against

    with pytest.raises(ConfigError) as caught:
        check_against(parse_config(text), {"openai": ["KEY_A", "KEY_B"], "anthropic": []})
    assert message in caught.value.message


def test_a_key_limit_per_key_and_the_same_window_for_other_models_are_fine():
    """'each', a known key, and the same window over different models all pass the check."""
    from routerd.resilience.settings import check_against

    check_against(parse_config('''
[[limits]]
provider = "openai"
requests = 5
[[limits]]
provider = "openai"
models = ["o3"]
requests = 5
[[limits]]
provider = "openai"
key = "each"
requests = 5
[[limits]]
provider = "openai"
key = "KEY_A"
window = "day"
requests = 500
'''), {"openai": ["KEY_A"]})
