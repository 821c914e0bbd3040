"""``routerctl route --explain`` (the real command, against a real daemon) on a conversation given
with no session: its later turn keeps the model its opening got, and says so."""

import json
import sys
from pathlib import Path

import anyio
import pytest

pytestmark = pytest.mark.anyio

SYSTEM = "You are a senior engineer. Answer precisely.\n" + "\n".join(
    f"- Guideline {i}: keep functions small, name things for what they do, and test the edge cases you find."
    for i in range(60))  # over 1,024 tokens: a context worth caching
OPENING = [{"role": "system", "content": SYSTEM},
           {"role": "user", "content": "Explain how Python's GIL affects a thread pool doing HTTP requests."}]


@pytest.fixture
def anthropic_config(config_file: Path) -> Path:
    """The Anthropic provider configured (never called: ``route`` only decides)."""
    config_file.write_text(config_file.read_text() + '\n[providers.anthropic]\nkind = "anthropic"\napi_key = "k"\n')
    return config_file


async def route(path: Path, messages: list[dict]) -> str:
    path.write_text(json.dumps(messages))
    done = await anyio.run_process([sys.executable, "-m", "routerctl.main", "route", "--explain", "--messages",
                                    str(path)], check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def model(out: str) -> str:
    """The ``model`` field of route's output."""
    return next(line.split()[1] for line in out.splitlines() if line.startswith("model "))


async def test_route_explain_says_the_conversation_kept_its_model(anthropic_config, daemon, tmp_path):
    """The opening goes to sonnet; the user's thanks after the answer reads simple alone but stays
    on sonnet, and --explain says it was kept by the conversation's opening (no session id)."""
    first = await route(tmp_path / "first.json", OPENING)
    later = await route(tmp_path / "later.json", [*OPENING, {"role": "assistant", "content": "It releases the GIL."},
                                                  {"role": "user", "content": "thanks!"}])
    assert model(first) == model(later) == "anthropic/claude-sonnet-4-6", (first, later)
    assert "no session id" not in first  # its opening starts the conversation: nothing to keep yet
    why = [line.strip() for line in later.splitlines() if line.startswith("  - ")]
    assert any(line.startswith("- no session id: conversation") and "kept its model anthropic/claude-sonnet-4-6"
               in line for line in why), later
