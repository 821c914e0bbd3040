"""routerd's configuration: TOML decoded into frozen msgspec Structs, validated whole.

Unknown keys and wrong types are errors that name the key path and, where the TOML text shows it,
the line (typos must not pass silently). Defaults are named constants. Secrets never live in the
Struct as read from the environment: ``api_key_env`` names a variable, read when the runtime is
built. A missing config file at the default path is not an error: routerd runs on built-in
defaults. A path named explicitly must exist, and a daemon running from a file keeps its config
when the file goes missing or empty (``read_config``).
"""

import os
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from routerd.budgets.settings import BudgetsConfig
from routerd.catalogue.models import ModelInfo
from routerd.config_values import (CONTROL_RE, HOST_RE, TOKEN_RE, Count, Delay, Positive, Timeout, check_url,
                                   listen_address)
from routerd.config_where import ConfigText, describe
from routerd.errors import ConfigError
from routerd.names import name_problems
from routerd.paths import DEFAULT_HTTP_LISTEN
from routerd.resilience.settings import AliasConfig, LimitConfig, ResilienceConfig, check_aliases
from routerd.rules import Rule
from routerd.scenarios.settings import ScenariosConfig

DEFAULT_DRAIN_TIMEOUT_S = 10.0
DEFAULT_IDLE_TIMEOUT_S = 300.0
DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024
DEFAULT_HOOK_BUDGET_MS = 50
# A config file is a few kilobytes; anything past this is not one (``/dev/zero``, a log file).
MAX_CONFIG_BYTES = 1024 * 1024
# The provider kinds, one per dialect: routerd.dialects.registry's KINDS, which a test holds equal.
# Named here so that reading the config does not import the dialects (a third of what the start
# imported before the listeners bound: bench/bench_socket.py --only restart).
PROVIDER_KINDS = ("openai", "responses", "anthropic", "gemini")


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class DaemonConfig(_Section, frozen=True):
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    drain_timeout_s: Delay = DEFAULT_DRAIN_TIMEOUT_S
    idle_timeout_s: Timeout = DEFAULT_IDLE_TIMEOUT_S


class HttpConfig(_Section, frozen=True):
    """The HTTP front. ``allowed_hosts`` are extra names clients may reach routerd under (Host
    header; loopback names, the host name and the listening address always work);
    ``allowed_origins`` are browser origins (``https://app.example``) allowed to call it."""

    enabled: bool = True
    listen: str = DEFAULT_HTTP_LISTEN
    gateway_key_env: str | None = None
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1, le=1024 ** 3)] = DEFAULT_MAX_BODY_BYTES
    allowed_hosts: list[str] = []
    allowed_origins: list[str] = []

    def __post_init__(self) -> None:
        listen_address(self.listen)
        for host in self.allowed_hosts:
            if host != "*" and not HOST_RE.fullmatch(host.strip("[]")):
                raise ValueError(f"allowed_hosts: {host!r} is not a host name or address")


# How long each call's and decision's own row is kept (their sums stay in the reports for ever): a
# quarter, so that the last full months can still be exported call by call, while a heavy user's
# database stops at about a quarter of the 1.5 GB a year it grew by (README "Retention").
DEFAULT_RETAIN_DAYS = 90
# A month's budget sums the calls since the 1st (at most 30 days before today's midnight) and the
# retention's edge is a local midnight this many days back at least: budgets never read a pruned day.
MIN_RETAIN_DAYS = 32


class StateConfig(_Section, frozen=True):
    """The state database. ``retain_days``: calls and decisions rows older than this are pruned,
    their sums kept (0: keep every row)."""

    path: str | None = None
    store_prompts: bool = False
    retain_days: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = DEFAULT_RETAIN_DAYS

    def __post_init__(self) -> None:
        if 0 < self.retain_days < MIN_RETAIN_DAYS:
            raise ValueError(f"retain_days: 0 (keep every call) or at least {MIN_RETAIN_DAYS} (a month's "
                             f"budget reads its calls), got {self.retain_days}")


DEFAULT_CLASSIFIER_THRESHOLD = 0.6
DEFAULT_CLASSIFIER_TIMEOUT_S = 1.5


class RoutingConfig(_Section, frozen=True):
    """The routing brain (see README "Routing"). ``classifier_model`` (``provider/model``) is asked
    for a second opinion when the probability that the learned brain's tier is exactly right is below
    ``classifier_threshold``."""

    profile: Literal["budget", "balanced", "premium"] = "balanced"
    rules: list[Rule] = []
    classifier_model: str | None = None
    classifier_threshold: float = DEFAULT_CLASSIFIER_THRESHOLD
    classifier_timeout_s: Timeout = DEFAULT_CLASSIFIER_TIMEOUT_S
    quality_floor: str | None = None  # a tier, or a model whose tier is the minimum
    sticky_sessions: bool = True
    models: list[ModelInfo] = []  # added to the built-in catalogue, or replacing by provider/id
    scenarios: ScenariosConfig = ScenariosConfig()  # per-scenario routes (routerd/scenarios/settings.py)


class ProviderConfig(_Section, frozen=True):
    """One upstream. ``proxy``: an ``http://[user:pass@]host:port`` proxy for this provider, or
    ``"direct"`` for none; unset, ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``NO_PROXY`` decide.
    ``ca_file``: PEM bundle of the CAs to trust instead of the system's (``SSL_CERT_FILE`` sets
    the system's); ``client_cert`` (+ ``client_key`` unless the PEM holds both): mutual TLS."""

    kind: str = "openai"           # the API it speaks: one of PROVIDER_KINDS
    base_url: str | None = None
    api_key_env: str | None = None
    api_key: str | None = None
    api_keys_env: list[str] = []          # a key pool: more variables, rotated by headroom
    timeout_s: Timeout = 60.0
    connect_timeout_s: Timeout = 5.0
    max_connections: Positive = 100
    # gateway: models served (exact ids or fnmatch globs; empty = any model asked of it by name),
    # extra headers sent upstream, whether it also serves /responses (OpenAI itself does)
    models: list[str] = []
    headers: dict[str, str] = {}
    responses: bool = False
    local: bool = False  # runs on your own hardware: calls to it cost nothing (never guessed from the URL)
    max_keepalive: Count = 32
    keepalive_s: Delay = 30.0
    proxy: str | None = None
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in PROVIDER_KINDS:  # raised here, it names the key path and line (msgspec converts it)
            raise ValueError(f"kind: {self.kind!r} is not a provider kind; expected one of {', '.join(PROVIDER_KINDS)}")
        if self.base_url is not None:
            check_url(self.base_url, "base_url", ("http", "https"))
        if self.proxy is not None and self.proxy != "direct":
            check_url(self.proxy, "proxy", ("http",))
        if self.client_key is not None and self.client_cert is None:
            raise ValueError("client_key: needs client_cert")
        if self.api_key is not None and CONTROL_RE.search(self.api_key.strip()):  # never quoted: it is a secret
            raise ValueError("api_key: holds a line break or another control character, which no HTTP "
                             "header can carry (every call would fail)")
        for name, value in self.headers.items():
            if not TOKEN_RE.fullmatch(name) or CONTROL_RE.search(value):
                raise ValueError(f"headers: {name!r} is not a valid header (name or value)")


class GatewayConfig(_Section, frozen=True):
    """The HTTP gateway's model resolution and dispatch (see README "HTTP gateway")."""

    aliases: dict[str, str | AliasConfig] = {}  # name -> a target, or a group with a strategy
    fallbacks: dict[str, list[str]] = {}    # model -> models tried after it, in order
    downshift: bool = False                 # may a request naming a model get a cheaper one?
    retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 1  # extra attempts per candidate
    retry_backoff_s: Delay = 0.25           # first backoff; doubled per retry, with jitter
    max_retry_after_s: Delay = 10.0         # a longer Retry-After moves on to the next candidate
    breaker_failures: Positive = 5          # consecutive failures that open a provider's breaker
    breaker_reset_s: Delay = 30.0           # open -> half-open after this long

    def __post_init__(self) -> None:
        check_aliases(self.aliases)


class AccountingConfig(_Section, frozen=True):
    """The ledger (see README "Accounting"). ``baseline_model`` (``provider/model`` or a model id)
    is what savings are counted against when the client named no model (``auto``) and for the
    turns hooks read from a transcript; unset, those use the brain's priciest acceptable candidate
    and the session's main model."""

    baseline_model: str | None = None


class HooksConfig(_Section, frozen=True):
    mode: Literal["advise", "smart", "hard", "soft", "off", "zero_claude"] = "advise"
    budget_ms: Positive = DEFAULT_HOOK_BUDGET_MS


class Config(_Section, frozen=True):
    daemon: DaemonConfig = DaemonConfig()
    http: HttpConfig = HttpConfig()
    state: StateConfig = StateConfig()
    routing: RoutingConfig = RoutingConfig()
    providers: dict[str, ProviderConfig] = {}
    hooks: HooksConfig = HooksConfig()
    gateway: GatewayConfig = GatewayConfig()
    accounting: AccountingConfig = AccountingConfig()
    budgets: BudgetsConfig = BudgetsConfig()
    resilience: ResilienceConfig = ResilienceConfig()
    limits: list[LimitConfig] = []


# Settings that are bound once at start; a reload that changes them says "restart required".
RESTART_REQUIRED = (("state", "path"), ("http", "listen"), ("http", "enabled"))


def parse_config(text: str, source: str = "<config>") -> Config:
    """Decode TOML text into a Config, or raise ConfigError naming the key path and line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: invalid TOML: nested too deeply") from None
    try:
        config = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(describe(str(exc), text, source, Config)) from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply") from None
    names = name_problems(config.providers, config.routing.rules, config.routing.models,
                          config.gateway.aliases, config.gateway.fallbacks)
    for key, message in names[:1]:
        raise ConfigError(f"{ConfigText(source, text).where(key)}: {message}")
    return config


def load_config(path: Path | None) -> Config:
    """``read_config``'s config alone."""
    return read_config(path)[0]


def read_config(path: Path | None, *, required: bool = False,
                blank_ok: bool = True) -> tuple[Config, ConfigText | None]:
    """Read and parse ``path``: the config and the text it came from (None: built-in defaults).

    A missing file means built-in defaults unless ``required`` (a path given by ``--config`` or
    ``ROUTERD_CONFIG``; the reload of a daemon running from a file). ``blank_ok=False`` refuses a
    file holding only whitespace too: a reload must not put defaults in place of the providers and
    budgets of a file an editor truncated before writing it again. Only a regular file of at most
    MAX_CONFIG_BYTES is read (never a device or a pipe). Blocking: call in a thread."""
    if path is None or not path.exists() and not required:
        return Config(), None
    text = read_config_text(path)
    if not blank_ok and not text.strip():
        raise ConfigError(f"{path}: the file is empty")
    config = parse_config(text, str(path))
    _check_files(config, str(path))
    return config, ConfigText(str(path), text)


def read_config_text(path: Path) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: not a regular file")
        data = file.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: over {MAX_CONFIG_BYTES // 1024} KiB; not a config file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _check_files(config: Config, source: str) -> None:
    """The TLS files providers name must be readable regular files."""
    for name, provider in config.providers.items():
        for key in ("ca_file", "client_cert", "client_key"):
            value = getattr(provider, key)
            if value is None:
                continue
            path = Path(value).expanduser()
            if not path.is_file() or not os.access(path, os.R_OK):
                raise ConfigError(f"{source}: providers.{name}.{key}: {value} is not a readable file")


def keep_start_only(old: Config, new: Config) -> tuple[Config, list[str]]:
    """``new`` with start-only settings kept at their ``old`` values, and the names of those that
    differ (they take effect at the next restart instead of half-applying now)."""
    changed = []
    for section, key in RESTART_REQUIRED:
        old_value = getattr(getattr(old, section), key)
        if old_value != getattr(getattr(new, section), key):
            changed.append(f"{section}.{key}")
            part = msgspec.structs.replace(getattr(new, section), **{key: old_value})
            new = msgspec.structs.replace(new, **{section: part})
    return new, changed


