"""The bench's figures per set (routerd.classify.train.evaluate): each held-out folder pooled, and
every held-out folder in one figure."""

from types import SimpleNamespace

from routerd.classify.train.data import HELD_OUT_DIRS, Case
from routerd.classify.train.evaluate import evaluate

TIERS = ("simple", "moderate", "complex")


def _case(folder: str, n: int, level: int) -> Case:
    return Case(id=f"{folder}-{n}", source=f"{folder}/set_a", style="routerd", split=folder,
                messages=[{"role": "user", "content": f"ask {n} at level {level}"}], level=level)


def test_every_held_out_folder_is_pooled_as_one_figure_beside_each_folder():
    first, second = HELD_OUT_DIRS[:2]
    cases = [_case(first, n, n % 3) for n in range(6)] + [_case(second, n, 2) for n in range(4)]
    # Right on the first folder's cases, "simple" for every case of the second.
    answers = {id(c.messages): TIERS[c.level] if c.split == first else "simple" for c in cases}

    def classify(messages, tools):
        return SimpleNamespace(tier=answers[id(messages)], task_type="code", score=0.0, confidence=0.9)

    out = evaluate(cases, classify)
    assert out[f"routerd-style:{first} (pooled)"]["tier_accuracy"] == 1.0
    assert out[f"routerd-style:{second} (pooled)"]["tier_accuracy"] == 0.0
    every = out["routerd-style:every held-out folder (pooled)"]
    assert every["n"] == 10
    assert every["tier_accuracy"] == 0.6
    # Complex sent to simple: the second folder's four of the six complex cases.
    assert every["complex_to_simple"] == 4 / 6
