"""The routing brain end to end: real `routerctl` processes against a real daemon (both backends).

Transcript of what a user does: classify a prompt, route it with --explain, reroute a decision and
see a similar prompt follow, rate one, switch the profile; then a classifier model (a fake OpenAI
server on 127.0.0.1) giving its second opinion, cached, and time-boxed when it hangs.
"""

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from routerd.routing.core import RoutingCore
from tests.fakes.upstream import FakeUpstream
from tests.support import connect

pytestmark = pytest.mark.anyio

SIMILAR_A = "write a python function that merges overlapping date ranges in a list of bookings"
SIMILAR_B = "write a python function that merges overlapping date ranges in a list of hotel bookings"


async def routerctl(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """Run the real routerctl in a subprocess (the socket comes from ROUTERD_SOCKET)."""
    result = await anyio.run_process([sys.executable, "-m", "routerctl.main", *args], input=stdin, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def test_classify_prints_tier_type_confidence_and_what_moved_it_in_words(daemon):
    """`routerctl classify PROMPT` prints the tier, task type, confidence and, in words, what made the
    prompt harder or easier; --json keeps the raw signals for scripts, beside the explanation."""
    code, out, _ = await routerctl("classify", "implement a lock-free MPMC queue in C++ with hazard pointers "
                                   "and a multithreaded stress test")
    assert code == 0
    assert "complex" in out and "task type   code" in out
    harder = next(line for line in out.splitlines() if line.startswith("harder "))
    assert 'expert terms ("lock-free")' in harder and "(+" in harder
    assert "p_simple=" not in out and "kind:ask" not in out and "cue:" not in out  # no raw feature names
    code, out, _ = await routerctl("classify", "--json", "what does ACID stand for")
    data = json.loads(out)
    assert (data["tier"], data["task_type"], data["source"]) == ("simple", "query", "learned")
    assert 0.5 <= data["p_simple"] <= data["p_moderate"] <= 1.0
    assert data["signals"][0] == "kind:ask"
    said = {item["says"]: item for item in data["explanation"]}
    assert said['opens like a definition or how-to question ("what does")']["features"] == ["open:definition"]
    named = {s.rsplit(":", 1)[0] for s in data["signals"][3:]}
    assert named <= {f for item in data["explanation"] for f in item["features"]} | {"kind:ask", "turns:0"}


async def test_classify_reads_stdin_and_whole_conversations(daemon):
    """A prompt on stdin, or --messages - with a conversation, is classified in context."""
    code, out, _ = await routerctl("classify", "--json", stdin=b"regex for US zip codes")
    assert code == 0 and json.loads(out)["task_type"] == "code"
    convo = [{"role": "user", "content": "how do I amend the last commit message?"},
             {"role": "assistant", "content": "git commit --amend -m 'new message'"},
             {"role": "user", "content": "thanks, that worked"}]
    code, out, _ = await routerctl("classify", "--json", "--messages", "-", stdin=json.dumps(convo).encode())
    assert json.loads(out)["task_type"] == "chat"


async def test_route_explain_without_providers_advises_claude_models(daemon):
    """With no provider enabled, route --explain advises opus for a complex prompt and explains every model."""
    code, out, _ = await routerctl("route", "--explain", "design a lock-free MPMC queue in C++ and prove it "
                                   "linearizable under the C++ memory model")
    assert code == 0
    assert "opus (advisory)" in out
    assert "no provider enabled: advisory only" in out
    assert "p(enough): simple" in out and "p(simple enough)" in out and "bar 0.50" in out
    harder = next(line for line in out.splitlines() if line.startswith("  harder: "))
    assert 'expert terms ("lock-free")' in harder and "(+" in harder
    assert "signals" not in out and "kind:ask" not in out  # no raw feature names
    assert "provider anthropic not enabled" in out
    # The scenario and its evidence are one line (they were two, the scenario named in each).
    assert [line for line in out.splitlines() if "scenario" in line] == ["scenario    default (no scenario marker)"]


async def test_reroute_changes_similar_prompts_and_persists(daemon):
    """After `reroute D --to complex`, a similar prompt routes to complex, also after a state reload."""
    code, out, _ = await routerctl("route", "--json", SIMILAR_A)
    first = json.loads(out)
    assert first["tier"] != "complex"
    code, out, _ = await routerctl("reroute", first["decision_id"], "--to", "complex", "--reason", "missed edge cases")
    assert code == 0 and "similar prompts will route to complex" in out
    code, out, _ = await routerctl("route", "--json", SIMILAR_B)
    second = json.loads(out)
    assert second["tier"] == "complex" and second["model"] == "opus"
    assert any("feedback on similar prompts" in r for r in second["reasons"])

    await _fresh_routing_core(daemon)  # as after a restart: feedback reloads from the store
    code, out, _ = await routerctl("route", "--json", SIMILAR_B)
    assert json.loads(out)["tier"] == "complex"


async def test_a_bad_rating_says_how_far_it_moves_routing(daemon):
    """One `rate D bad` on a clearly simple prompt says it leans, not routes, one tier up (the
    same prompt still routes simple), and names the reroute that does route it there."""
    prompt = "what is the capital of Peru"
    code, out, _ = await routerctl("route", "--json", prompt)
    decision = json.loads(out)
    assert decision["tier"] == "simple" and decision["p_simple"] > 0.95
    code, out, _ = await routerctl("rate", decision["decision_id"], "bad")
    assert code == 0 and "will route to" not in out, out
    assert "similar prompts lean towards moderate" in out, out
    code, out, _ = await routerctl("route", "--json", prompt)
    assert json.loads(out)["tier"] == "simple"
    code, out, _ = await routerctl("reroute", decision["decision_id"], "--to", "moderate")
    assert code == 0 and "similar prompts will route to moderate" in out, out
    code, out, _ = await routerctl("route", "--json", prompt)
    assert json.loads(out)["tier"] == "moderate"


async def _fresh_routing_core(app) -> None:
    """Replace the app's routing core with a new one loaded from the store, as a restart would."""
    app.routing = RoutingCore(app.store, app.resilience, app.ids, brain=app.brain)
    await app.routing.load(app.runtime)


async def test_rate_and_unknown_decisions(daemon):
    """`rate D bad` is recorded; rating a decision that does not exist fails with exit code 1."""
    code, out, _ = await routerctl("route", "--json", "what is a mutex")
    decision = json.loads(out)["decision_id"]
    code, out, _ = await routerctl("rate", decision, "bad", "--reason", "too shallow")
    assert code == 0 and "moderate" in out
    code, _, err = await routerctl("rate", "no-such-decision", "good")
    assert code == 1 and "not_found" in err
    await daemon.store.flush()
    rows = await daemon.store.read(lambda c: c.execute("SELECT kind, value, reason FROM feedback").fetchall())
    assert ("rate", "bad", "too shallow") in [tuple(r) for r in rows]


async def test_profile_switches_at_once_and_is_persisted(daemon):
    """`routerctl profile budget` changes the next decision and is stored in settings."""
    prompt = "write a Dockerfile for a Django app with gunicorn, multi-stage build and a non-root user, with tests"
    code, out, _ = await routerctl("route", "--json", prompt)
    before = json.loads(out)
    code, out, _ = await routerctl("profile", "budget")
    assert code == 0 and "budget (config says balanced)" in out
    code, out, _ = await routerctl("route", "--json", prompt)
    after = json.loads(out)
    assert after["profile"] == "budget" and (before["bar"], after["bar"]) == (0.5, 0.35)
    assert ["simple", "moderate", "complex"].index(after["tier"]) <= ["simple", "moderate", "complex"].index(
        before["tier"])
    assert after["p_simple"] == before["p_simple"]
    row = await daemon.store.read(lambda c: c.execute(
        "SELECT value FROM settings WHERE key = 'routing.profile'").fetchone())
    assert row[0] == "budget"
    await _fresh_routing_core(daemon)
    code, out, _ = await routerctl("profile")
    assert "profile: budget" in out


# p_simple 0.47 by the shipped model: between the budget bar (0.35) and the balanced one (0.5).
BETWEEN_BARS = "write a rate limiter middleware for express with redis"


async def test_classify_picks_the_tier_at_the_active_profiles_bar_as_route_does(daemon):
    """After `profile budget`, classify and route give the same tier for a prompt whose p_simple
    lies between the two bars, and classify shows the profile and its bar (it used to read every
    prompt at the balanced bar: moderate here, where route said simple)."""
    code, out, _ = await routerctl("classify", "--json", BETWEEN_BARS)
    balanced = json.loads(out)
    assert 0.35 <= balanced["p_simple"] < 0.5 and balanced["tier"] == "moderate"
    assert (balanced["profile"], balanced["bar"]) == ("balanced", 0.5)
    code, out, _ = await routerctl("profile", "budget")
    assert code == 0
    code, out, _ = await routerctl("classify", "--json", BETWEEN_BARS)
    classified = json.loads(out)
    code, out, _ = await routerctl("route", "--json", BETWEEN_BARS)
    routed = json.loads(out)
    assert classified["tier"] == routed["tier"] == "simple"
    assert classified["confidence"] == routed["confidence"] == round(classified["p_simple"], 3)
    assert (classified["profile"], classified["bar"]) == (routed["profile"], routed["bar"]) == ("budget", 0.35)
    assert (classified["p_simple"], classified["p_moderate"]) == (balanced["p_simple"], balanced["p_moderate"])
    code, out, _ = await routerctl("classify", BETWEEN_BARS)
    assert "profile     budget  bar 0.35" in out.splitlines()


async def test_decisions_are_stored_without_prompt_text(daemon):
    """Every route is stored with an id, a hash and a length, and no prompt text by default."""
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "route", "prompt": "translate to Spanish: good morning",
                                   "session_id": "s1"})
    await daemon.store.flush()
    row = await daemon.store.read(lambda c: c.execute(
        "SELECT id, prompt, prompt_len, tier, session_id FROM decisions WHERE id = ?",
        (reply["decision_id"],)).fetchone())
    assert row[0] == reply["decision_id"] and row[1] is None and row[2] > 0 and row[4] == "s1"


async def test_route_names_top_features_only_when_explaining(daemon):
    """A plain route decides and stores as an explained one does; only --explain names the top
    features (stored without those that quote the prompt)."""
    prompt = "implement a lock-free ring buffer in C with a test for wrap-around"
    async with connect(daemon.socket_path) as client:
        plain = await client.call({"type": "route", "prompt": prompt})
        explained = await client.call({"type": "route", "prompt": prompt, "explain": True})
    same = ("tier", "task_type", "confidence", "score", "p_simple", "p_moderate", "candidates", "model")
    assert [plain.get(k) for k in same] == [explained.get(k) for k in same]
    head = len(plain["signals"])  # kind, both probabilities, and the neighbours' vote when it has one
    assert plain["signals"] == explained["signals"][:head] and plain["signals"][0] == "kind:ask"
    assert all(s.startswith("neighbours:") for s in plain["signals"][3:])
    assert any(s.rsplit(":", 1)[-1][:1] in "+-" for s in explained["signals"][head:])
    await daemon.store.flush()
    stored = await daemon.store.read(lambda c: c.execute(
        "SELECT id, detail FROM decisions WHERE id IN (?, ?)", (plain["decision_id"], explained["decision_id"])).fetchall())
    signals = {decision_id: json.loads(detail)["signals"] for decision_id, detail in stored}
    unquoted = [s for s in explained["signals"] if not s.startswith(("w:", "b:", "p:", "t:"))]
    assert unquoted != explained["signals"]  # the top features name some of the prompt's words
    assert signals == {plain["decision_id"]: plain["signals"], explained["decision_id"]: unquoted}


async def test_an_explained_decision_stores_no_word_of_the_prompt(daemon):
    """With prompts not stored (the default), an explained route's stored signals quote none of the
    prompt's words, though its reply names them."""
    prompt = "rotate the leaked stripe key for acme-payroll in vault"
    async with connect(daemon.socket_path) as client:
        reply = await client.call({"type": "route", "prompt": prompt, "explain": True})
    assert any(s.startswith(("w:", "b:", "p:")) for s in reply["signals"])
    await daemon.store.flush()
    row = await daemon.store.read(lambda c: c.execute(
        "SELECT prompt, detail FROM decisions WHERE id = ?", (reply["decision_id"],)).fetchone())
    stored = " ".join(json.loads(row[1])["signals"])
    assert row[0] is None and not [word for word in prompt.split() if len(word) > 3 and word[:5] in stored]


async def test_feedback_right_after_route_finds_the_decision(daemon):
    """A reroute sent the instant after its route (decision still queued for the writer) is accepted."""
    async with connect(daemon.socket_path) as client:
        for _ in range(20):
            decision = await client.call({"type": "route", "prompt": SIMILAR_A})
            reply = await client.call({"type": "reroute", "decision_id": decision["decision_id"], "to": "opus"})
            assert reply["type"] == "data" and reply["data"]["wanted_tier"] == "complex"


# --- second opinion from a classifier model --------------------------------------------------------


@pytest.fixture
async def classifier(anyio_backend: str) -> AsyncIterator[FakeUpstream]:
    async with anyio.create_task_group() as tg:
        fake = await tg.start(FakeUpstream("complex code").serve)
        yield fake
        tg.cancel_scope.cancel()


@pytest.fixture
def config_file(daemon_env: Path, request: pytest.FixtureRequest) -> Path:
    """The default config, or with a classifier model when the test asks for the `classifier` fixture."""
    path = daemon_env / "config.toml"
    text = '[http]\nlisten = "127.0.0.1:0"\n'
    if "classifier" in request.fixturenames:
        fake = request.getfixturevalue("classifier")
        text += (f'[routing]\nclassifier_model = "local/tiny-classifier"\nclassifier_threshold = 1.0\n'
                 f'classifier_timeout_s = 0.5\n'
                 f'[providers.local]\nkind = "openai"\nbase_url = "{fake.url}/v1"\nmodels = ["tiny-*"]\n'
                 f'timeout_s = 5\n')
        if "downshift" in request.fixturenames:
            text += "[gateway]\ndownshift = true\n"
    path.write_text(text)
    return path


async def test_second_opinion_is_asked_cached_and_time_boxed(classifier, daemon):
    """Below the threshold the classifier model decides; its answer is cached; a hang falls back in time."""
    async with connect(daemon.socket_path) as client:
        first = await client.call({"type": "classify", "prompt": "what is a mutex"})
        assert (first["tier"], first["task_type"], first["source"]) == ("complex", "code", "model")
        assert first["level5"] == "hard"  # the model's tier, not the classifier's "super_easy"
        assert len(classifier.received) == 1
        body = classifier.received[0].json
        assert body["model"] == "tiny-classifier" and "what is a mutex" in body["messages"][0]["content"]

        await daemon.store.flush()
        cached = await daemon.store.read(lambda c: c.execute("SELECT result FROM classification_cache").fetchall())
        assert [json.loads(row[0])["signals"] for row in cached] == [[]]  # no word of the prompt kept
        again = await client.call({"type": "classify", "prompt": "what is a mutex"})
        assert again["source"] == "cache" and len(classifier.received) == 1
        assert again["signals"][:3] == ["second_opinion", "learned=simple/0.92", "kind:ask"]

        classifier.hang()
        with anyio.fail_after(5):
            fallback = await client.call({"type": "classify", "prompt": "what does ACID stand for"})
        assert fallback.get("source", "learned") == "learned" and fallback["tier"] == "simple"
    stats = daemon.routing.statistics()
    assert stats.cache_hits == 1 and stats.second_opinion_fallbacks == 1


async def test_a_cached_second_opinion_shows_this_requests_signals(classifier, daemon):
    """A verdict cached by a plain route still lets a later classify name the top features and say
    them in words (the cache keeps no explanation), and routerctl says the tier was the model's."""
    prompt = "what is a mutex"
    async with connect(daemon.socket_path) as client:
        routed = await client.call({"type": "route", "prompt": prompt})
        head = len(routed["signals"])  # no top features on a plain route
        assert routed["signals"][0] == "second_opinion" and routed["signals"][2] == "kind:ask"
        assert all(s.startswith("neighbours:") for s in routed["signals"][5:])
        await daemon.store.flush()
        classified = await client.call({"type": "classify", "prompt": prompt})
    assert classified["source"] == "cache" and len(classifier.received) == 1
    assert classified["signals"][:head] == routed["signals"]
    assert any(s.rsplit(":", 1)[-1][:1] in "+-" for s in classified["signals"][head:])
    assert 'concurrency terms ("mutex")' in {item["says"] for item in classified["explanation"]}
    cached = await daemon.store.read(lambda c: c.execute("SELECT result FROM classification_cache").fetchall())
    assert [json.loads(row[0])["explanation"] for row in cached] == [[]]  # each request explains itself
    code, out, _ = await routerctl("classify", prompt)
    assert "confidence  1.00 (cache)" in out
    assert "note        the classifier model gave the tier (a second opinion); the brain read:" in out
    assert 'concurrency terms ("mutex")' in out


@pytest.fixture
def downshift() -> bool:
    """Asked for by a test: the daemon's config turns the gateway's downshift on."""
    return True


async def test_second_opinion_is_not_asked_again_when_the_gateway_routes_it(classifier, downshift, daemon):
    """With gateway downshift on, the classifier call goes through the brain without recursing."""
    async with connect(daemon.socket_path) as client:
        with anyio.fail_after(5):
            reply = await client.call({"type": "classify", "prompt": "what is a mutex"})
    assert reply["source"] == "model" and len(classifier.received) == 1


@pytest.fixture
def anthropic_enabled(config_file: Path) -> None:
    """A provider named ``anthropic`` (never called: ``route`` only decides), so that decisions name
    models and sessions remember theirs (request it before ``daemon``)."""
    config_file.write_text(config_file.read_text() + '\n[providers.anthropic]\nbase_url = "http://127.0.0.1:9"\n'
                           'api_key = "sk-never-used"\n')


async def test_an_agent_step_keeps_the_tier_its_session_escalated_to(anthropic_enabled, daemon):
    """A coding agent's steps through one session: a test run that deadlocks escalates it; the next
    step's harmless output (a file listing) keeps that tier (it fell back to simple
    mid-investigation); the user's new ask is weighed on its own words."""
    ask = {"role": "user", "content": "the pool tests hang sometimes, run them"}

    def step(n: int, output: str) -> list[dict]:
        call = {"id": f"c{n}", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
        return [{"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": f"c{n}", "content": output}]

    deadlock = ("fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [semacquire]:\n"
                "sync.runtime_Semacquire(0xc000012098)\nmain.(*Pool).Drain(0xc000012080)\n\t/src/pool.go:88 +0x6a\n"
                "goroutine 7 [chan send]:\nmain.worker(0xc000012080)\n\t/src/pool.go:41\nexit status 2\n") * 10
    first = [ask, *step(1, deadlock)]
    second = [*first, *step(2, "pool.go\npool_test.go\n")]
    async with connect(daemon.socket_path) as client:
        escalated = await client.call({"type": "route", "messages": first, "session_id": "agent-1"})
        harmless = await client.call({"type": "route", "messages": second, "session_id": "agent-1"})
        alone = await client.call({"type": "route", "messages": second, "session_id": "agent-2"})
        new_ask = await client.call({"type": "route", "session_id": "agent-1", "messages": [
            *second, {"role": "assistant", "content": "Fixed: Drain no longer waits while holding the lock."},
            {"role": "user", "content": "thanks! now rename pool.go to workers.go"}]})
    assert escalated["tier"] != "simple" and alone["tier"] == "simple"
    assert harmless["tier"] == escalated["tier"] and harmless["model"] == escalated["model"]
    assert any("agent step" in r for r in harmless["reasons"])
    assert not any("agent step" in r for r in new_ask["reasons"])
