"""Why a call may not go to a target now: the one answer breakers, cool-downs, key pools and
buckets all give, so that dispatch can skip the target, name it in an error, and say when to
come back."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Refusal:
    target: str                    # a provider, provider/model, or a bucket's name
    reason: str
    retry_in_s: float
    rate_limited: bool = False     # a limit, not a fault: 429 when nothing else can answer
    never: bool = False            # the call alone exceeds a limit: waiting will not help
    amount: float = 0.0            # what the call asked of the bucket that refused it (buckets only)

    def describe(self) -> str:
        if self.never:
            return f"{self.target}: {self.reason}"
        return f"{self.target}: {self.reason} (retry in {max(self.retry_in_s, 0.0):.0f} s)"
