"""The characters a name given in the config may hold.

Provider, rule and alias names, and the model names the config routes to, reach response headers
(``x-routerd-provider``, ``x-routerd-model``), log lines, metric labels and the ledger. A newline,
a quote or a backslash in one passed ``config check`` and then broke every answer through it (the
HTTP front refuses to write such a header, after the call was made and billed) and split log
lines. So names are checked when the file is parsed, each problem as its key path (for
``ConfigText.where``) and a message that names the key as the file writes it. Pure.
"""

import json
import re
from collections.abc import Iterable, Mapping, Sequence

from routerd.catalogue.models import ModelInfo
from routerd.errors import BadRequest
from routerd.resilience.settings import AliasConfig
from routerd.rules import Rule
from routerd.scenarios.names import check_model

# A provider or rule name: it is also the head of ``provider/model`` and a metric label.
NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
_NAME_CHARS = "letters, digits and . _ -"
# A model name (an alias is one) follows the rule the gateway holds a requested name to
# (``routerd.scenarios.names.check_model``), so that the config can name what a client may ask.
_MODEL_CHARS = "letters, digits and . _ : / @ + = ~ , -"

Problem = tuple[tuple[str, ...], str]


def toml_key(part: str) -> str:
    """``part`` as a TOML key: bare where it can be, else a quoted string on one line."""
    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part)


def name_problems(providers: Iterable[str], rules: Sequence[Rule], models: Sequence[ModelInfo],
                  aliases: Mapping[str, str | AliasConfig], fallbacks: Mapping[str, list[str]]) -> list[Problem]:
    """Every name a config gives (its providers, ``routing.rules``, ``routing.models``,
    ``gateway.aliases`` and ``gateway.fallbacks``) that holds a character outside its set."""
    problems: list[Problem] = []

    def check(key: tuple[str, ...], shown: str, value: str, what: str) -> None:
        chars = _NAME_CHARS if what in ("provider", "rule") else _MODEL_CHARS
        if not (NAME_RE.fullmatch(value) if what in ("provider", "rule") else _is_model(value)):
            problems.append((key, f"{shown}: {what} name {json.dumps(value)} holds a character other than "
                                  f"{chars} (names go into response headers and log lines)"))

    for name in providers:
        check(("providers", name), f"providers.{toml_key(name)}", name, "provider")
    for n, rule in enumerate(rules):
        check(("routing", "rules", str(n), "name"), f"routing.rules[{n}].name", rule.name, "rule")
    for n, info in enumerate(models):
        check(("routing", "models", str(n), "id"), f"routing.models[{n}].id", info.id, "model")
    for name, target in aliases.items():
        key = ("gateway", "aliases", name)
        shown = f"gateway.aliases.{toml_key(name)}"
        check(key, shown, name, "alias")
        for member in [target] if isinstance(target, str) else target.targets:
            check(key, shown, member, "model")
    for name, after in fallbacks.items():
        key = ("gateway", "fallbacks", name)
        shown = f"gateway.fallbacks.{toml_key(name)}"
        for model in [name, *after]:
            check(key, shown, model, "model")
    return problems


def _is_model(value: str) -> bool:
    try:
        check_model(value)
    except BadRequest:
        return False
    return True
