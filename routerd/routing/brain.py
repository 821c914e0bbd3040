"""The classifier's files (the learned model, the cues, the glossary), loaded while the daemon serves.

Parsing the shipped model takes most of a second, so the daemon opens its listeners first and loads
the brain in a worker thread (``load``, started by ``routerd.daemon``). What does not need the
classifier (a named model through the gateway, ping, status, health) is served meanwhile; what does
(auto routing, ``route``, ``classify``) waits for it in ``ready``, for at most ``BRAIN_WAIT_S``.
The hooks wait less, in ``loaded_within`` (a prompt is held meanwhile), then answer with a labelled
fallback (``routerd.integrations.hooks``). A model file that cannot be read fails every such request
at once with the reason, while the rest of the daemon keeps serving (and ``/health`` says
``degraded``).
"""

import logging
import time

import anyio
import anyio.to_thread
import msgspec

from routerd.classify.cues import CueSet, default_cues
from routerd.classify.explain import Glossary, default_glossary
from routerd.classify.model import Model, default_model
from routerd.errors import BrainUnavailable

log = logging.getLogger("routerd.routing")

# How long a request that needs the classifier waits for it to load: a few times the ~0.5-1.5 s it
# takes on a loaded machine, and less than the clients' own timeouts, so that a load that hangs
# gives an error the client can read rather than a client-side timeout.
BRAIN_WAIT_S = 10.0

Parts = tuple[Model, CueSet, Glossary]


def read_brain() -> Parts:
    """The shipped model, cues and glossary (blocking: run in a worker thread)."""
    return default_model(), default_cues(), default_glossary()


class BrainStats(msgspec.Struct, frozen=True):
    state: str  # loading, ready or failed
    load_ms: float | None = None
    error: str | None = None


class Brain:
    """The classifier's files, loading, loaded or failed; only the event loop touches it."""

    def __init__(self) -> None:
        self.parts: Parts | None = None
        self.error: str | None = None
        self.load_ms: float | None = None
        self._done = anyio.Event()

    @property
    def state(self) -> str:
        return "ready" if self.parts is not None else "failed" if self.error is not None else "loading"

    async def load(self) -> None:
        """Read the files off the loop; a failure is kept (and logged) as the reason every
        classifier request is refused with, not raised: the daemon serves on without it."""
        started = time.perf_counter()
        try:
            self.parts = await anyio.to_thread.run_sync(read_brain)
        except Exception as exc:  # any way a damaged file breaks the reader (zip, JSON, sizes): say it, serve on
            self.error = f"the classifier's model could not be loaded ({type(exc).__name__}: {exc}); " \
                         f"reinstall routerd"
            log.error("brain: %s", self.error)
        else:
            self.load_ms = round((time.perf_counter() - started) * 1000, 1)
            log.info("brain: loaded in %.0f ms", self.load_ms)
        finally:
            self._done.set()

    async def loaded_within(self, timeout_s: float) -> bool:
        """Whether the files are loaded, waiting at most ``timeout_s`` for a load under way (False
        at once when the load failed: ``ready`` raises with the reason)."""
        if self.parts is None and self.error is None:
            with anyio.move_on_after(timeout_s):
                await self._done.wait()
        return self.parts is not None

    async def ready(self) -> Parts:
        """The files, once loaded: waits for at most ``BRAIN_WAIT_S``, then raises ``BrainUnavailable``
        (at once when the load failed)."""
        if self.parts is not None:
            return self.parts
        with anyio.move_on_after(BRAIN_WAIT_S):
            await self._done.wait()
        if self.parts is not None:
            return self.parts
        if self.error is not None:
            raise BrainUnavailable(self.error, retryable=False)
        raise BrainUnavailable(f"the classifier is still loading after {BRAIN_WAIT_S:g} s; retry shortly")

    def statistics(self) -> BrainStats:
        return BrainStats(self.state, self.load_ms, self.error)
