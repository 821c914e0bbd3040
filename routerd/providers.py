"""The provider registry: which upstreams exist, what they speak and serve, and how to reach them.

Built whole from one config and one environment (pure apart from the mapping passed in). When the
config names no providers, they are enabled from the environment as the official SDKs do it
(``OPENAI_API_KEY`` + ``OPENAI_BASE_URL`` and so on). A base URL that points back at routerd's own
HTTP address is refused with a ``ConfigError``, since routerd would call itself forever. Keys, and
credentials written into a base URL, are held in ``Provider.auth_headers`` only (``base_url`` is
kept without them); ``repr`` never shows them. Each provider's proxy is decided here too: its own
``proxy``, else ``HTTPS_PROXY`` / ``HTTP_PROXY`` unless ``NO_PROXY`` names the host; a loopback
provider never goes through an environment proxy (as Go's and curl's defaults have it).
"""

import base64
import ipaddress
import fnmatch
import logging
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit, urlunsplit

import msgspec

from routerd.config import Config, ProviderConfig
from routerd.config_values import check_url
from routerd.dialects.registry import of_kind
from routerd.errors import ConfigError
from routerd.listeners import is_loopback
from routerd.redact import redact_url, url_credentials
from routerd.resilience.keys import PoolKey

log = logging.getLogger("routerd.gateway")

_OPENAI_MODELS = ["gpt-*", "o1*", "o3*", "o4*", "chatgpt-*", "codex-*", "text-embedding-*"]

# name, key variable, base-URL variable, default base URL, kind, model globs
ENV_PROVIDERS: tuple[tuple[str, str | None, str | None, str, str, list[str]], ...] = (
    ("openai", "OPENAI_API_KEY", "OPENAI_BASE_URL", "https://api.openai.com/v1", "openai", _OPENAI_MODELS),
    ("anthropic", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "https://api.anthropic.com", "anthropic",
     ["claude-*"]),
    ("gemini", "GEMINI_API_KEY", "GEMINI_BASE_URL", "https://generativelanguage.googleapis.com",
     "gemini", ["gemini-*"]),
    ("ollama", None, "OLLAMA_BASE_URL", "", "openai", []),
    ("openrouter", "OPENROUTER_API_KEY", None, "https://openrouter.ai/api/v1", "openai", []),
    ("groq", "GROQ_API_KEY", None, "https://api.groq.com/openai/v1", "openai", []),
    ("deepseek", "DEEPSEEK_API_KEY", None, "https://api.deepseek.com/v1", "openai", ["deepseek-*"]),
    ("mistral", "MISTRAL_API_KEY", None, "https://api.mistral.ai/v1", "openai",
     ["mistral-*", "codestral-*", "magistral-*", "devstral-*"]),
    ("xai", "XAI_API_KEY", None, "https://api.x.ai/v1", "openai", ["grok-*"]),
    ("together", "TOGETHER_API_KEY", None, "https://api.together.xyz/v1", "openai", []),
    ("perplexity", "PERPLEXITY_API_KEY", None, "https://api.perplexity.ai", "openai", ["sonar*"]),
)


@dataclass(frozen=True, slots=True)
class Provider:
    """One upstream. ``base_url`` has no trailing slash; ``dialects`` are those it can be sent
    unchanged (the first is the one translation targets)."""

    name: str
    kind: str
    base_url: str
    dialects: tuple[str, ...]
    models: tuple[str, ...]
    config: ProviderConfig = field(repr=False)  # may hold the key and URL credentials
    auth_headers: tuple[tuple[bytes, bytes], ...] = field(default=(), repr=False)
    extra_headers: tuple[tuple[bytes, bytes], ...] = ()
    local: bool = False
    # Its key pool: each key (label: where it came from) with its auth headers; the first key's
    # headers are ``auth_headers``. Empty: no key of its own (the client's may be forwarded).
    keys: tuple[tuple[PoolKey, tuple[tuple[bytes, bytes], ...]], ...] = field(default=(), repr=False)
    proxy: str | None = field(default=None, repr=False)  # http://[user:pass@]host:port, or direct

    @property
    def proxy_shown(self) -> str | None:
        """The proxy as status and logs may show it (no credentials)."""
        return redact_url(self.proxy) if self.proxy else None

    @property
    def dialect(self) -> str:
        return self.dialects[0]

    def endpoints(self, front: str | None) -> tuple[str, ...]:
        """The upstream dialects a request in the client dialect ``front`` may reach this provider
        on (``gateway.prepare`` picks one): the client's own when it is spoken here; else the one
        translation targets, or another that runs a hosted web search the request needs; for
        advice (no ``front``), any. A model cooled on one endpoint is out for such a request only
        when it is cooled on each of these."""
        return (front,) if front and front in self.dialects else self.dialects

    def serves(self, model: str) -> bool:
        """Whether this provider serves ``model`` by its own patterns (no patterns: it does not claim
        any model, but can still be asked for one by ``provider/model``)."""
        return any(fnmatch.fnmatchcase(model, pattern) for pattern in self.models)

    def default_model(self) -> str | None:
        return next((m for m in self.models if not any(c in m for c in "*?[")), None)

    def pool(self) -> tuple[PoolKey, ...]:
        return tuple(key for key, _ in self.keys)

    def auth_for(self, label: str) -> tuple[tuple[bytes, bytes], ...]:
        """The auth headers of the pool's key ``label``."""
        return next(headers for key, headers in self.keys if key.label == label)


def build_providers(config: Config, env: Mapping[str, str], own_address: str | None) -> dict[str, Provider]:
    """Every provider this config (or, naming none, the environment) enables, keyed by name.

    A configured base URL that points back at routerd is a ConfigError. One from the environment
    (``ANTHROPIC_BASE_URL=http://127.0.0.1:4141`` exported for Claude Code, then inherited by
    routerd) is not used: the provider's official URL is, and a warning says so."""
    if config.providers:
        configs, defaults = dict(config.providers), {}
    else:
        configs = _from_env(env)
        defaults = {name: url for name, _, _, url, _, _ in ENV_PROVIDERS}
    providers = {}
    for name, pc in configs.items():
        if "/" in name:
            raise ConfigError(f"providers.{name}: a provider name cannot contain '/'")
        provider = _build(name, pc, env)
        try:
            _refuse_self_loop(provider, own_address)
        except ConfigError as exc:
            if not defaults.get(name):
                raise
            log.warning("%s; using %s instead", exc.message.split(". ")[0], defaults[name])
            provider = _build(name, msgspec.structs.replace(pc, base_url=defaults[name]), env)
        providers[name] = provider
    return providers


def _from_env(env: Mapping[str, str]) -> dict[str, ProviderConfig]:
    found = {}
    for name, key_var, url_var, default_url, kind, models in ENV_PROVIDERS:
        key = env.get(key_var) if key_var else None
        url = env.get(url_var) if url_var else None
        if key_var and not key or not key_var and not url:
            continue
        base = url or default_url
        if name == "ollama" and not urlsplit(base).path.rstrip("/").endswith("/v1"):
            base = base.rstrip("/") + "/v1"
        # Only OpenAI itself is known to serve /v1/responses; a server at OPENAI_BASE_URL (llama.cpp,
        # vLLM, a proxy) gets Responses requests translated to chat.
        found[name] = ProviderConfig(kind=kind, base_url=base, api_key_env=key_var, models=models,
                                     responses=name == "openai" and base.rstrip("/") == default_url,
                                     local=name == "ollama")
    return found


def _build(name: str, pc: ProviderConfig, env: Mapping[str, str]) -> Provider:
    native = of_kind(pc.kind)
    base = (pc.base_url or native.official_url).rstrip("/")
    try:
        check_url(base, "base_url", ("http", "https"))
    except ValueError as exc:  # one from the environment (the config's are checked when parsed)
        raise ConfigError(f"providers.{name}.{exc}") from None
    parts = urlsplit(base)
    credentials = url_credentials(base)
    base = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    keys = tuple((key, native.auth_headers(key.secret)) for key in pool_keys(pc, env))
    extra = tuple((k.lower().encode(), v.encode()) for k, v in pc.headers.items())
    auth = keys[0][1] if keys else ()
    if not auth and credentials is not None:  # https://user:pass@host, as httpx and curl read it
        auth = ((b"authorization", b"Basic " + base64.b64encode(":".join(credentials).encode())),)
    return Provider(name=name, kind=pc.kind, base_url=base, dialects=native.served(pc.responses),
                    models=tuple(pc.models), config=pc, auth_headers=auth, extra_headers=extra,
                    local=pc.local, proxy=_proxy(name, pc, parts, env), keys=keys)


def pool_keys(pc: ProviderConfig, env: Mapping[str, str]) -> list[PoolKey]:
    """A provider's keys, each labelled by where it came from (``api_key``, or the variable's
    name): ``api_key`` or ``api_key_env``, then every set variable of ``api_keys_env``; a value
    given twice counts once, and a key pasted with its newline is stripped of it."""
    found: dict[str, PoolKey] = {}
    named = [("api_key", pc.api_key)] if pc.api_key else [(pc.api_key_env, env.get(pc.api_key_env))] \
        if pc.api_key_env else []
    for label, value in [*named, *((var, env.get(var)) for var in pc.api_keys_env)]:
        secret = (value or "").strip()
        if secret and secret not in found:
            found[secret] = PoolKey.of(label, secret)
    return list(found.values())


def _proxy(name: str, pc: ProviderConfig, parts: SplitResult, env: Mapping[str, str]) -> str | None:
    """The proxy to reach this provider through, or None to connect directly."""
    if pc.proxy is not None:
        return None if pc.proxy == "direct" else pc.proxy
    host = parts.hostname or ""
    if is_loopback(host):
        return None
    variable = f"{parts.scheme}_proxy"
    value = env.get(variable) or env.get(variable.upper())
    if not value:
        return None
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    if no_proxy and _bypasses(f"{host}:{parts.port}" if parts.port else host, no_proxy):
        return None
    value = value if "://" in value else "http://" + value  # curl reads "host:port" as http
    try:
        check_url(value, variable.upper(), ("http",))
    except ValueError as exc:
        raise ConfigError(f"providers.{name}: {exc} (routerd speaks to http:// proxies)") from None
    return value


def _bypasses(host: str, no_proxy: str) -> bool:
    """Whether NO_PROXY names this host, read as urllib does. Imported here, as the only use:
    `urllib.request` brings `http.client` and `email` with it, 0.9 MB of an idle daemon's resident
    size (bench/bench_gateway.py) that a daemon without a proxy and NO_PROXY never needs."""
    from urllib.request import proxy_bypass_environment  # type: ignore[attr-defined]  # public, not in typeshed

    return bool(proxy_bypass_environment(host, {"no": no_proxy}))


def _refuse_self_loop(provider: Provider, own_address: str | None) -> None:
    """Refuse a base URL that reaches routerd's own listening address, however it is spelled."""
    if not own_address:
        return
    own_host, _, own_port = own_address.rpartition(":")
    parts = urlsplit(provider.base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if str(port) != own_port:
        return
    if _reaches(_host_address(parts.hostname or ""), _host_address(own_host)):
        raise ConfigError(f"providers.{provider.name}.base_url: {provider.base_url} points back at "
                          f"routerd itself (listening on {own_address}); routerd would call itself "
                          "forever. Point it at the real provider.")


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _host_address(host: str) -> Address | str:
    """``host`` as what a connection to it reaches, without resolving a name: an IP literal in any
    spelling the system's resolver takes as one (``127.1``, ``2130706433``, ``0x7f.0.0.1``: it
    reads them with ``inet_aton``) as its address, an IPv4-mapped IPv6 address as the IPv4 one; a
    name lower-cased, without the final dot of a fully qualified one."""
    name = host.strip("[]").lower().rstrip(".")
    try:
        address: Address = ipaddress.ip_address(name.partition("%")[0])  # a zone names no other host
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(name))
        except (OSError, ValueError):
            return name
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _this_machine(host: Address | str) -> bool:
    """Whether a connection to ``host`` stays on this machine: a loopback address, the unspecified
    one (0.0.0.0 and :: as a destination mean this host), ``localhost`` and its subdomains (RFC
    6761 6.3), or this machine's name."""
    if isinstance(host, str):
        return host == "localhost" or host.endswith(".localhost") or host == socket.gethostname().lower()
    return host.is_loopback or host.is_unspecified


def _reaches(host: Address | str, own: Address | str) -> bool:
    """Whether a connection to ``host`` reaches a listener bound to ``own`` (the same port). Any
    loopback spelling counts for a loopback listener (conservative: 127.0.0.2 may not reach
    127.0.0.1, but nobody means a provider there); a listener on every address (0.0.0.0, ::) is
    reached from anything on this machine."""
    if host == own:
        return True
    if isinstance(own, str) or own.is_loopback:
        return _this_machine(own) and _this_machine(host)
    return own.is_unspecified and _this_machine(host)
