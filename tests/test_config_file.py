"""The config file as the daemon meets it: a file that goes missing or empty while the daemon runs
from it keeps the running config, a daemon on built-in defaults takes up a file created later, a
path named explicitly must exist, and a name that refers to nothing is an error (or, when the
environment may still supply it, a warning) naming its file and line."""

import logging
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest

from routerd.app import App
from routerd.config import PROVIDER_KINDS, parse_config
from routerd.daemon import DaemonOptions, run_daemon
from routerd.dialects.registry import KINDS
from routerd.errors import ConfigError
from routerd.listeners import bind_http
from routerd.main import _named_config
from routerd.runtime import check_config_file
from tests.support import connect

RUNNING = ('[http]\nlisten = "127.0.0.1:0"\n\n[providers.primary]\nkind = "openai"\n'
           'base_url = "http://127.0.0.1:9/v1"\napi_key = "sk-test-primary-1234"\nmodels = ["gpt-4.1*"]\n\n'
           '[budgets]\ndaily_usd = 0.5\n')


@pytest.fixture
def config_file(config_file: Path) -> Path:
    config_file.write_text(RUNNING)
    return config_file


@pytest.fixture
def errors_logged() -> Iterator[list[str]]:
    """The messages routerd logs at ERROR (its logger does not propagate to pytest's)."""
    messages: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: messages.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("routerd").addHandler(handler)
    yield messages
    logging.getLogger("routerd").removeHandler(handler)


async def _last_reload(app: App) -> dict:
    async with connect(app.socket_path) as control:
        return (await control.call({"type": "status"}))["last_reload"]


@pytest.mark.anyio
@pytest.mark.parametrize("change, reason", [("deleted", "no such file"), ("emptied", "the file is empty"),
                                            ("blanked", "the file is empty")])
async def test_a_missing_or_empty_file_keeps_the_running_config(daemon, config_file, errors_logged,
                                                               change, reason):
    """Deleted, truncated or left blank under a running daemon, the file is a failed reload naming
    its path (not built-in defaults: the providers and the budget stay); written again, it reloads."""
    before = daemon.runtime
    if change == "deleted":
        config_file.unlink()
    else:
        config_file.write_text("" if change == "emptied" else " \n\t\n")
    result = await daemon.reload("test")
    assert not result.ok and result.message == f"{config_file}: {reason}"
    assert daemon.runtime is before and set(daemon.runtime.providers) == {"primary"}
    assert daemon.runtime.config.budgets.daily_usd == 0.5
    last = await _last_reload(daemon)
    assert last["ok"] is False and last["message"] == result.message
    assert any(str(config_file) in m and reason in m for m in errors_logged), errors_logged
    config_file.write_text(RUNNING.replace("daily_usd = 0.5", "daily_usd = 2.0"))
    assert (await daemon.reload("test")).ok
    assert daemon.runtime.config.budgets.daily_usd == 2.0


@pytest.fixture
async def daemon_on_defaults(daemon_env: Path, anyio_backend: str, no_blocking) -> AsyncIterator[App]:
    """A routerd started with no file at its (default) config path; no HTTP (defaults say :4141)."""
    options = DaemonOptions(config_path=daemon_env / "config" / "routerd" / "config.toml",
                            socket_path=daemon_env / "routerd.sock", backend=anyio_backend,
                            watch_config=False, handle_signals=False, http=False)
    async with anyio.create_task_group() as tg:
        app = await tg.start(run_daemon, options)
        yield app
        app.request_stop()


@pytest.mark.anyio
async def test_a_daemon_on_defaults_takes_up_a_file_created_later(daemon_on_defaults):
    """With no file the daemon runs on defaults and a reload keeps them; a file created later is
    loaded, and from then on its deletion is a failed reload."""
    app = daemon_on_defaults
    path = app.runtime.config_path
    assert not path.exists() and not app.runtime.from_file
    assert (await app.reload("test")).ok
    assert await _config_row(app) == f"{path} (no such file: built-in defaults)"  # status says what runs
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RUNNING)
    assert (await app.reload("test")).ok
    assert set(app.runtime.providers) == {"primary"} and app.runtime.from_file
    assert await _config_row(app) == str(path)
    path.unlink()
    assert not (await app.reload("test")).ok
    assert set(app.runtime.providers) == {"primary"}
    assert await _config_row(app) == f"{path} (no such file: the config last read from it runs)"


async def _config_row(app: App) -> str:
    """The ``config`` row of ``routerctl status``."""
    result = await anyio.run_process([sys.executable, "-m", "routerctl.main", "status"],
                                     env={**os.environ, "ROUTERD_SOCKET": str(app.socket_path)})
    [row] = [line for line in result.stdout.decode().splitlines() if line.startswith("config ")]
    return row.removeprefix("config").strip()


def test_only_the_default_config_path_may_be_missing(tmp_path, monkeypatch):
    """A path given by --config or ROUTERD_CONFIG must exist, unless it is the default path (the
    service units pass that one explicitly)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("ROUTERD_CONFIG", raising=False)
    assert not _named_config(None)
    assert not _named_config(tmp_path / "routerd" / "config.toml")
    assert _named_config(tmp_path / "x.toml")
    monkeypatch.setenv("ROUTERD_CONFIG", str(tmp_path / "y.toml"))
    assert _named_config(None)


# (config text, the error's expected "LINE: key: reason" after the file name)
UNKNOWN_NAMES = [
    ('[budgets.providers.primray]\ndaily_usd = 0.01\n',
     "6: budgets.providers.primray: no provider 'primray'"),
    ('[gateway]\naliases = { fast = "nosuch/model-x" }\n',
     "7: gateway.aliases.fast: 'nosuch/model-x' is served by no provider"),
    ('[gateway.aliases.pool]\ntargets = ["gpt-4.1", "nosuch-model"]\n',
     "6: gateway.aliases.pool: 'nosuch-model' is served by no provider"),
    ('[gateway]\nfallbacks = { "gpt-4.1-mini" = ["nosuch-model"] }\n',
     "7: gateway.fallbacks.gpt-4.1-mini: 'nosuch-model' is served by no provider"),
    ('[[routing.rules]]\nname = "r"\nkeywords = ["x"]\nmodel = "nosuch/model"\n',
     "9: routing.rules[0].model: 'nosuch/model' is not a model in the catalogue"),
    ('[[routing.rules]]\nname = "r"\nkeywords = ["x"]\ntier = "complex"\n'
     '[[routing.rules]]\nname = "r"\nkeywords = ["y"]\ntier = "simple"\n',
     "11: routing.rules[1].name: 'r' is also the name of routing.rules[0]"),
    ('[[routing.models]]\nid = "m1"\nprovider = "primary"\ntier = "simple"\n'
     '[[routing.models]]\nid = "m1"\nprovider = "primary"\ntier = "complex"\n',
     "11: routing.models[1]: primary/m1 is also routing.models[0]"),
    ('[accounting]\nbaseline_model = "nosuch-model"\n',
     "7: accounting.baseline_model: 'nosuch-model' is not a model the catalogue knows"),
    ('[[limits]]\nprovider = "nosuch"\nwindow = "minute"\nrequests = 5\n',
     "7: limits[0]: no provider 'nosuch' is enabled"),
    ('[routing]\nquality_floor = "nosuch"\n', "7: routing.quality_floor: 'nosuch' is neither a tier"),
]
PROVIDER = '[providers.primary]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodels = ["gpt-4.1*"]\n'


@pytest.mark.parametrize("text, error", UNKNOWN_NAMES)
def test_a_name_that_refers_to_nothing_is_an_error_naming_file_and_line(tmp_path, text, error):
    """A typo in a name (a budget cap's provider, an alias or fallback, a rule's model, a duplicate
    rule or model, the baseline, a limit, the quality floor) fails the load with file:line and key."""
    path = tmp_path / "config.toml"
    path.write_text(PROVIDER + "\n" + text)
    with pytest.raises(ConfigError) as caught:
        check_config_file(path, {})
    assert caught.value.message.startswith(f"{path}:{error}"), caught.value.message


# (config text, the error's expected "LINE: key: reason" after the file name)
UNSAFE_NAMES = [
    ('[providers."we\\"ird\\\\na\\nme"]\nkind = "openai"\n',
     '1: providers."we\\"ird\\\\na\\nme": provider name "we\\"ird\\\\na\\nme" holds a character other'),
    ("[providers.'a b']\nkind = \"openai\"\n", '1: providers."a b": provider name "a b" holds'),
    ('[[routing.rules]]\nname = "r\\u0007"\nkeywords = ["x"]\ntier = "simple"\n',
     '2: routing.rules[0].name: rule name "r\\u0007" holds'),
    ('[gateway]\naliases = { "fa\\tst" = "primary/gpt-4.1" }\n', '2: gateway.aliases."fa\\tst": alias name'),
    ('[gateway.aliases]\nfast = "primary/gpt\\r\\n4.1"\n', '2: gateway.aliases.fast: model name "primary/gpt\\r\\n4.1"'),
    ('[[routing.models]]\nid = "m 1"\nprovider = "primary"\ntier = "simple"\n', '2: routing.models[0].id: model name "m 1"'),
]


@pytest.mark.parametrize("text, error", UNSAFE_NAMES)
def test_a_name_with_unsafe_characters_is_an_error_naming_file_and_line(tmp_path, text, error):
    """A provider, rule, alias or model name holding a newline, quote, backslash, space or other
    control character fails the load with file:line and key, on one line (it would go into headers
    and log lines)."""
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        check_config_file(path, {})
    assert caught.value.message.startswith(f"{path}:{error}"), caught.value.message
    assert "\n" not in caught.value.message and "\r" not in caught.value.message


def test_names_the_environment_may_still_supply_are_warnings(tmp_path):
    """An unset api_key_env, and with providers from the environment a cap on one not enabled
    here, are warnings naming file and line; the config loads."""
    path = tmp_path / "config.toml"
    path.write_text(PROVIDER.replace('models =', 'api_key_env = "UNSET_KEY_XYZ"\nmodels ='))
    warnings = check_config_file(path, {}).warnings
    assert len(warnings) == 1 and warnings[0].startswith(
        f"{path}:4: providers.primary.api_key_env: UNSET_KEY_XYZ is not set"), warnings
    path.write_text('[budgets.providers.openai]\ndaily_usd = 1.0\n')
    assert check_config_file(path, {}).warnings[0].startswith(
        f"{path}:1: budgets.providers.openai: openai is not enabled in this environment (OPENAI_API_KEY")
    assert check_config_file(path, {"OPENAI_API_KEY": "sk-test-1234"}).warnings == ()
    path.write_text('[budgets.providers.opnai]\ndaily_usd = 1.0\n')
    with pytest.raises(ConfigError, match="budgets.providers.opnai: no provider 'opnai'"):
        check_config_file(path, {})


def test_a_port_in_use_is_named_by_its_setting():
    """Binding an address already in use says which setting and address, not just errno 98."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        config = parse_config(f'[http]\nlisten = "{listen}"\n')
        with pytest.raises(OSError) as caught:
            bind_http(config, {}, {})
    assert str(caught.value) == f"http.listen {listen} is already in use"


@pytest.mark.parametrize(("text", "days", "error"), [
    ("", 90, None),
    ("[state]\nretain_days = 0\n", 0, None),
    ("[state]\nretain_days = 32\n", 32, None),
    ("[state]\nretain_days = 7\n", None, "<config>:2: state.retain_days: 0 (keep every call) or at least 32"),
    ("[state]\nretain_days = -1\n", None, "<config>:2: state.retain_days: Expected `int` >= 0"),
])
def test_retain_days_is_kept_for_a_quarter_by_default_and_never_under_a_budget_month(text, days, error):
    """state.retain_days: 90 unless set, 0 keeps every call, 1 to 31 would prune calls a month's
    budget still reads and is refused with its line."""
    if error is None:
        assert parse_config(text).state.retain_days == days
    else:
        with pytest.raises(ConfigError) as raised:
            parse_config(text)
        assert raised.value.message.startswith(error)


@pytest.mark.parametrize("text, error", [
    ('[providers.openai]\nbase_ur = "http://x"\n', "c.toml:2: providers.openai.base_ur: unknown key (did you mean 'base_url'?)"),
    ('[budgets]\nmontly_usd = 5\n', "c.toml:2: budgets.montly_usd: unknown key (did you mean 'monthly_usd'?)"),
    ('[[limits]]\nprovider = "openai"\nwindoww = "minute"\n', "c.toml:3: limits.0.windoww: unknown key (did you mean 'window'?)"),
    ('[routing]\nzzzqqq = 1\n', "c.toml:2: routing.zzzqqq: unknown key"),
    ('[daemon]\nlog_level = "verbose"\n',
     "c.toml:2: daemon.log_level: Invalid enum value 'verbose'; expected one of debug, info, warning, error"),
    ('[[routing.rules]]\nname = "a"\npattern = "x"\ntier = "huge"\n',
     "c.toml:4: routing.rules.0.tier: Invalid enum value 'huge'; expected one of simple, moderate, complex"),
])
def test_a_misspelt_key_or_value_says_what_was_meant(text, error):
    """An unknown key close to a real one names it; a value outside a fixed set lists the set."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.toml")
    assert str(caught.value) == error


_MODEL = '[[routing.models]]\nid = "m1"\nprovider = "openai"\ntier = "simple"\n'


@pytest.mark.parametrize("text, error", [
    (_MODEL + "price_in_per_mtok = nan\n", "c.toml:5: routing.models.0.price_in_per_mtok: Expected `float` >= 0.0"),
    (_MODEL + "price_out_per_mtok = -1.0\n", "c.toml:5: routing.models.0.price_out_per_mtok: Expected `float` >= 0.0"),
    (_MODEL + "price_in_per_mtok = 0.0\nprice_out_per_mtok = inf\n",
     "c.toml:6: routing.models.0.price_out_per_mtok: Expected a finite price, got inf"),
    (_MODEL + "context_window = 0\n", "c.toml:5: routing.models.0.context_window: Expected `int` >= 1"),
    (_MODEL + "max_output_tokens = -5\n", "c.toml:5: routing.models.0.max_output_tokens: Expected `int` >= 1"),
])
def test_a_model_with_a_price_or_size_no_ranking_can_use_is_refused_with_its_line(text, error):
    """A config model's price is a finite number >= 0 (TOML's `nan` or a negative one would leave
    the policy's order by price undefined, `inf` every cost and saving) and its token limits are >= 1."""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.toml")
    assert str(caught.value).startswith(error)


def test_an_api_key_with_a_line_break_inside_is_refused_without_quoting_it():
    """An inline api_key with a control character inside cannot go into a header (every call would
    fail with 502): the load fails naming the key's line, and the message never holds the key. A
    key pasted with its trailing newline is fine (it is stripped)."""
    text = '[providers.p]\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "sk-SECRET-1\\r\\nX-Injected: 1"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.toml")
    assert str(caught.value).startswith("c.toml:3: providers.p.api_key: holds a line break")
    assert "SECRET" not in str(caught.value)
    parse_config('[providers.p]\nbase_url = "http://127.0.0.1:9/v1"\napi_key = "sk-SECRET-1\\n"\n', "c.toml")


def test_the_config_knows_every_provider_kind_the_dialects_serve():
    """``providers.*.kind`` accepts exactly the kinds the dialect registry serves (the config names
    them itself, so that reading it does not import the dialects before the listeners bind)."""
    assert PROVIDER_KINDS == tuple(KINDS)
