"""Key pools: several API keys for one provider, rotated by headroom, a refused key taken out.

``choose`` picks, among the keys that are in rotation and not cooling down for the model, the one
with the most headroom in its rate-limit buckets (ties take turns, so equal keys share the load).
A key the provider refuses (401/403, or a spent balance) is taken out with a status line that
names it by its label (the variable it came from) and a short fingerprint, never by its value; it
comes back after its cool-down, on ``reset`` (``routerctl breaker reset``), or when a reload
brings a different key. A 429 on one key cools that key for that model only. Pure: time is
passed in.
"""

import hashlib
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def fingerprint(secret: str) -> str:
    """A short, one-way name for a key that is safe to show: ``sha256:`` and 8 hex digits."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class PoolKey:
    label: str                                  # where it came from: OPENAI_KEY_2, "api_key"
    secret: str = field(repr=False)
    fingerprint: str = ""

    @classmethod
    def of(cls, label: str, secret: str) -> "PoolKey":
        return cls(label, secret, fingerprint(secret))


@dataclass(frozen=True, slots=True)
class KeyStats:
    label: str
    fingerprint: str
    state: str                                  # in rotation | cooling | out
    status: str                                 # a line for people: why it is out, until when
    until: float | None
    chosen: int


@dataclass(slots=True)
class _Out:
    until: float
    status: str


class KeyPool:
    def __init__(self, provider: str, keys: Sequence[PoolKey]) -> None:
        self.provider = provider
        self.keys = tuple(keys)
        self._out: dict[str, _Out] = {}                        # label -> taken out
        self._cooling: dict[tuple[str, str | None], _Out] = {}  # (label, model or None) -> cooling
        self._chosen = dict.fromkeys((k.label for k in self.keys), 0)
        self._turn = itertools.count()

    def carry_from(self, old: "KeyPool") -> None:
        """After a reload: keys that are the same key as before keep their state."""
        same = {k.label for k in self.keys if k in old.keys}
        self._out = {label: out for label, out in old._out.items() if label in same}
        self._cooling = {lm: c for lm, c in old._cooling.items() if lm[0] in same}
        self._chosen.update({label: n for label, n in old._chosen.items() if label in same})

    def choose(self, model: str, now: float, headroom: Callable[[str], float]) -> PoolKey | None:
        """The key to send a call for ``model`` with, or None when none may be used now."""
        usable = [k for k in self.keys if self._blocked(k.label, model, now) is None]
        if not usable:
            return None
        turn = next(self._turn)
        ranked = sorted(enumerate(usable), key=lambda ik: (-headroom(ik[1].label),
                                                           (ik[0] - turn) % len(usable)))
        chosen = ranked[0][1]
        self._chosen[chosen.label] += 1
        return chosen

    def unavailable(self, model: str, now: float) -> tuple[str, float] | None:
        """Why no key may be used for ``model`` now, and for how long; None when one may."""
        blocks = [self._blocked(k.label, model, now) for k in self.keys]
        found = [b for b in blocks if b is not None]
        if not self.keys or len(found) < len(blocks):
            return None
        soonest = min(found, key=lambda b: b.until)
        reasons = "; ".join(dict.fromkeys(b.status for b in found))
        return reasons, soonest.until - now

    def take_out(self, label: str, status: int, seconds: float, now: float, why: str = "") -> str:
        """Take a refused key out of rotation for ``seconds``; the status line that says so."""
        key = self._key(label)
        until = now + seconds
        stamp = time.strftime("%H:%M:%S UTC", time.gmtime(now))
        line = (f"{self.provider} key {key.label} ({key.fingerprint}) answered {status} at {stamp}"
                f"{': ' + why if why else ''}; out of rotation until "
                f"{time.strftime('%H:%M:%S UTC', time.gmtime(until))} or `routerctl breaker reset "
                f"{self.provider}`")
        self._out[label] = _Out(until, line)
        return line

    def cools_models(self, now: float) -> bool:
        """Whether some key is kept from some model now (``unavailable`` may then differ by model)."""
        return any(c.until > now for (_, model), c in self._cooling.items() if model is not None)

    def cool(self, label: str, model: str | None, seconds: float, now: float, why: str) -> None:
        """Keep ``label`` away from ``model`` (None: every model) for ``seconds``."""
        key = self._key(label)
        until = now + max(0.0, seconds)
        current = self._cooling.get((label, model))
        if current is None or current.until < until:
            self._cooling[(label, model)] = _Out(until, f"{self.provider} key {key.label}: {why}")

    def reset(self) -> list[str]:
        """Every key back in rotation; the labels that were out or cooling."""
        back = sorted({*self._out, *(label for label, _ in self._cooling)})
        self._out.clear()
        self._cooling.clear()
        return back

    def _blocked(self, label: str, model: str, now: float) -> _Out | None:
        entry = self._out.get(label)
        if entry is not None:
            if now < entry.until:
                return entry
            del self._out[label]
        for key in ((label, None), (label, model)):
            entry = self._cooling.get(key)
            if entry is not None:
                if now < entry.until:
                    return entry
                del self._cooling[key]
        return None

    def _key(self, label: str) -> PoolKey:
        return next(k for k in self.keys if k.label == label)

    def statistics(self, now: float) -> list[KeyStats]:
        found = []
        for key in self.keys:
            out = self._out.get(key.label)
            cooling = [c for (label, _), c in self._cooling.items() if label == key.label and c.until > now]
            if out is not None and out.until > now:
                state, status, until = "out", out.status, out.until
            elif cooling:
                soonest = min(cooling, key=lambda c: c.until)
                state, status, until = "cooling", soonest.status, soonest.until
            else:
                state, status, until = "in rotation", "", None
            found.append(KeyStats(key.label, key.fingerprint, state, status, until, self._chosen[key.label]))
        return found
