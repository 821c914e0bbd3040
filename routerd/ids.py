"""Row ids: 16 characters, unique across daemon runs (a random prefix per run) and within one (a
counter). uuid4 costs a getrandom call per id, which measured ~15 us here, a tenth of a whole
routing decision."""

import itertools
import os


class Ids:
    def __init__(self) -> None:
        self._prefix = os.urandom(5).hex()
        self._counter = itertools.count(1)

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):06x}"


_ANSWERS = Ids()


def fresh(prefix: str) -> str:
    """An id for an answer, message or tool call an upstream sent without one: unique across the
    daemon's runs, since clients key on them (Claude Code merges assistant turns that share a
    message id; a tool call's id must not repeat within a conversation)."""
    return prefix + _ANSWERS.new()
