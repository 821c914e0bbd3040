"""/dashboard in headless Chromium over calls recorded through the real openai SDK against a fake
provider: the page loads, its charts draw the ledger's figures, its buttons store feedback through
the routing core, and a screenshot shows a drawn page; without a browser, who may read and who may
rate."""

import io
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import openai
import pytest
from PIL import Image, ImageStat

from routerd.ledger.reports import usage_report
from routerd.store.routing import all_feedback
from tests.browser import HEIGHT, WIDTH, open_page
from tests.e2e.harness import recorded_calls
from tests.fakes.upstream import FakeUpstream
from tests.ledger.test_reports import routerctl

pytestmark = pytest.mark.anyio
MODELS = ("openai/gpt-4.1", "openai/gpt-4.1-mini", "openai/gpt-4.1", "auto")
KEY_ENV = "ROUTERD_TEST_DASHBOARD_KEY"


@pytest.fixture
async def fake(anyio_backend: str) -> AsyncIterator[FakeUpstream]:
    async with anyio.create_task_group() as tg:
        yield await tg.start(FakeUpstream("Paris.").serve)
        tg.cancel_scope.cancel()


@pytest.fixture
def gateway_key_env() -> str:
    """The config's ``http.gateway_key_env`` (none unless a test parametrizes it)."""
    return ""


@pytest.fixture
def config_file(daemon_env: Path, fake: FakeUpstream, gateway_key_env: str) -> Path:
    key = f'gateway_key_env = "{gateway_key_env}"\n' if gateway_key_env else ""
    path = daemon_env / "config.toml"
    path.write_text(f'''[http]
listen = "127.0.0.1:0"
{key}[accounting]
baseline_model = "opus"
[providers.openai]
base_url = "{fake.url}/v1"
models = ["gpt-*"]
''')
    return path


async def _calls(daemon, key: str = "x") -> list[str]:
    """One call per model of ``MODELS`` through the openai SDK; their decision ids."""
    ids = []
    async with openai.AsyncOpenAI(base_url=f"http://{daemon.http_address}/v1", api_key=key,
                                  max_retries=0) as client:
        for model in MODELS:
            raw = await client.chat.completions.with_raw_response.create(
                model=model, messages=[{"role": "user", "content": "What is the capital of France?"}])
            ids.append(raw.headers["x-routerd-decision-id"])
    await recorded_calls(daemon)
    return ids


async def test_the_page_draws_the_ledgers_figures(daemon, tmp_path):
    """Spend bars sum to the usage report's cost, the model bars are its models, every decision is
    listed, and latency percentiles cover the calls."""
    ids = await _calls(daemon)
    report = await usage_report(daemon.store, period="month", group_by="model")
    async with open_page(tmp_path / "profile") as page:
        await page.goto(f"http://{daemon.http_address}/dashboard")
        await page.wait_for("document.body.dataset.loads")
        drawn = await page.evaluate("""({
            cost: [...document.querySelectorAll('#spend rect[data-series=cost]')].map(r => +r.dataset.value),
            baseline: [...document.querySelectorAll('#spend rect[data-series=baseline]')].map(r => +r.dataset.value),
            models: Object.fromEntries([...document.querySelectorAll('#models rect')].map(r => [r.dataset.key, +r.dataset.value])),
            tiers: document.querySelectorAll('#tiers rect').length,
            decisions: [...document.querySelectorAll('#decisions tr[data-decision]')].map(r => r.dataset.decision),
            latency_n: +document.querySelector('#latency tr:nth-child(2) td:nth-child(2)').textContent,
        })""")
    assert sum(drawn["cost"]) == pytest.approx(report.total["priced_cost_usd"]) and sum(drawn["cost"]) > 0
    assert sum(drawn["baseline"]) == pytest.approx(report.total["baseline_cost_usd"])
    assert sum(drawn["baseline"]) > sum(drawn["cost"])  # gpt-4.1-mini and auto against opus
    assert drawn["models"] == {g["model"]: g["calls"] for g in report.groups}
    assert drawn["tiers"] >= 1 and set(ids) <= set(drawn["decisions"])
    assert drawn["latency_n"] == len(MODELS)


async def test_a_model_nobody_prices_reads_unknown_not_zero(daemon, tmp_path):
    """A model with tokens and no known price is "unknown" beside its bar, not $0.00; the period's
    spend, which leaves its calls out, is marked *."""
    import time

    from routerd.store.ledger import CallRow, record_call

    for n, (model, cost) in enumerate([("gpt-4.1", 0.01), ("mystery-9", None)]):
        record_call(daemon.store, CallRow(id=f"c{n}", ts=time.time(), provider="openai", model=model, outcome="ok",
                                          input_tokens=1_000, output_tokens=100, cost_usd=cost))
    await daemon.store.flush()
    async with open_page(tmp_path / "profile") as page:
        await page.goto(f"http://{daemon.http_address}/dashboard")
        await page.wait_for("document.body.dataset.loads")
        shown = await page.evaluate("""({
            models: Object.fromEntries([...document.querySelectorAll('#models svg text[data-cost]')]
                .map(t => [t.previousSibling.dataset.key, t.dataset.cost])),
            spent: [...document.querySelectorAll('#totals .figure')]
                .find(f => f.textContent.includes('spent')).querySelector('b').textContent})""")
    assert shown == {"models": {"gpt-4.1": "$0.01", "mystery-9": "unknown"}, "spent": "$0.01*"}


async def test_tokens_in_count_the_cache_reads_once(daemon, tmp_path):
    """A call's input tokens already include its cache reads: the page shows 16,890 in with 14,506 of
    them cached, not 31,396 (it added the cache reads again)."""
    import time

    from routerd.store.ledger import CallRow, record_call

    record_call(daemon.store, CallRow(id="c1", ts=time.time(), provider="anthropic", model="claude-haiku-4-5",
                                      outcome="ok", input_tokens=16_890, cache_read_tokens=14_506, output_tokens=245,
                                      cost_usd=0.01, baseline_cost_usd=0.05))
    await daemon.store.flush()
    async with open_page(tmp_path / "profile") as page:
        await page.goto(f"http://{daemon.http_address}/dashboard")
        await page.wait_for("document.body.dataset.loads")
        shown = await page.evaluate("""[...document.querySelectorAll('#totals .figure')]
            .find(f => f.textContent.includes('tokens in')).querySelector('b').textContent""")
    assert shown == "16890 (14506) / 245"


async def test_web_searches_show_beside_the_tokens(daemon, tmp_path):
    """Calls that ran hosted web searches add a figure with their sum (billed per search); the page
    has none while no call searched."""
    import time

    from routerd.store.ledger import CallRow, record_call

    def figures(page):
        return page.evaluate("""Object.fromEntries([...document.querySelectorAll('#totals .figure')]
            .map(f => [f.lastChild.textContent, f.querySelector('b').textContent]))""")

    async with open_page(tmp_path / "profile") as page:
        await page.goto(f"http://{daemon.http_address}/dashboard")
        await page.wait_for("document.body.dataset.loads")
        assert "web searches" not in await figures(page)
        for n, searches in enumerate((2, 3)):
            record_call(daemon.store, CallRow(id=f"c{n}", ts=time.time(), provider="anthropic",
                                              model="claude-sonnet-4-6", outcome="ok", input_tokens=900,
                                              output_tokens=120, cost_usd=0.03, web_searches=searches))
        await daemon.store.flush()
        await page.goto(f"http://{daemon.http_address}/dashboard")
        await page.wait_for("document.body.dataset.loads")
        assert (await figures(page))["web searches"] == "5"


async def test_days_folded_into_earlier_are_no_bar(daemon, tmp_path):
    """Over all time with more days than the chart lists, the "(N earlier)" sum of the older days
    is written under the chart, not drawn as one more day whose height sets the y-axis."""
    import time

    from routerd.store.ledger import CallRow, record_call

    now = time.time()
    for n in range(70):  # the 8 oldest days cost 100 times more than each of the 62 shown
        cost = 100.0 if n >= 62 else 1.0
        record_call(daemon.store, CallRow(id=f"d{n}", ts=now - n * 86_400, provider="openai", model="gpt-4.1",
                                          outcome="ok", cost_usd=cost, baseline_cost_usd=cost * 2))
    await daemon.store.flush()
    async with open_page(tmp_path / "profile") as page:
        await page.goto(f"http://{daemon.http_address}/dashboard")
        await page.wait_for("document.body.dataset.loads")
        await page.evaluate("""(() => { const p = document.getElementById('period');
            p.value = 'all'; p.dispatchEvent(new Event('change')); })()""")
        await page.wait_for("document.body.dataset.loads === '2'")
        drawn = await page.evaluate("""({
            cost: [...document.querySelectorAll('#spend rect[data-series=cost]')].map(r => +r.dataset.value),
            top: document.querySelector('#spend text[data-axis=top]').textContent,
            earlier: [...document.querySelectorAll('#spend .earlier')].map(p => [+p.dataset.cost, p.textContent]),
        })""")
    assert len(drawn["cost"]) == 62 and max(drawn["cost"]) == pytest.approx(1.0)
    assert drawn["top"] == "$2.00"  # the busiest real day's baseline, not the $1,600 of the folded ones
    assert drawn["earlier"] == [[pytest.approx(800.0), "8 earlier days: 8 calls, spent $800.00 against a "
                                                       "baseline of $1600.00"]]


async def test_rate_and_reroute_buttons_store_feedback(daemon, tmp_path):
    """Clicking "good" and a reroute to 'complex' on a decision records both through the routing core;
    the store holds them, the page and `routerctl dashboard --json` show the latest."""
    decision = (await _calls(daemon))[-1]
    row = f'#decisions tr[data-decision="{decision}"]'
    async with open_page(tmp_path / "profile") as page:
        await page.goto(f"http://{daemon.http_address}/dashboard")
        await page.wait_for("document.body.dataset.loads")
        await page.click(f'{row} button[data-rate="good"]')
        await page.wait_for(f"document.querySelector('{row} .feedback').textContent === 'rate:good'")
        await page.evaluate(f"document.querySelector('{row} select').value = 'complex'")
        await page.click(f"{row} button[data-reroute]")
        await page.wait_for(f"document.querySelector('{row} .feedback').textContent === 'reroute:complex'")
        message = await page.evaluate("document.getElementById('message').textContent")
    stored = await daemon.store.read(all_feedback)
    assert [(f.decision_id, f.kind, f.value) for f in stored] == [
        (decision, "rate", "good"), (decision, "reroute", "complex")]
    assert message
    listed = json.loads(await routerctl(daemon, "dashboard", "--json", "--period", "today"))["decisions"]
    assert {d["id"]: d["feedback"] for d in listed}[decision] == "reroute:complex"
    assert (await routerctl(daemon, "dashboard")).strip() == f"http://{daemon.http_address}/dashboard"


async def test_a_screenshot_shows_a_drawn_page(daemon, tmp_path):
    """The screenshot is a viewport-sized PNG with varied content (charts and text), not a blank page."""
    await _calls(daemon)
    async with open_page(tmp_path / "profile") as page:
        await page.goto(f"http://{daemon.http_address}/dashboard")
        await page.wait_for("document.body.dataset.loads")
        drawn_png = await page.screenshot()
        await page.evaluate("document.body.replaceChildren()")
        emptied_png = await page.screenshot()
    (tmp_path / "dashboard.png").write_bytes(drawn_png)
    drawn, empty = (Image.open(io.BytesIO(png)).convert("RGB") for png in (drawn_png, emptied_png))
    assert drawn.size == (WIDTH, HEIGHT)
    assert max(ImageStat.Stat(drawn).stddev) > 20 and len(drawn.getcolors(1 << 20) or ()) > 50
    assert max(ImageStat.Stat(empty).stddev) < 1  # the same check finds nothing on an emptied page


@pytest.mark.parametrize("gateway_key_env", [KEY_ENV])
async def test_without_the_key_the_dashboard_is_read_only(daemon, monkeypatch):
    """With a gateway key configured: the page and its data need no key, feedback does; a foreign
    Host or Origin and a non-JSON post are refused as on the API."""
    monkeypatch.setenv(KEY_ENV, "s3cret")
    decision = (await _calls(daemon, key="s3cret"))[0]
    base = f"http://{daemon.http_address}"
    rate = {"type": "rate", "decision_id": decision, "rating": "bad"}
    async with httpx.AsyncClient(base_url=base) as client:
        page = await client.get("/dashboard")
        data = await client.get("/dashboard/data", params={"period": "today"})
        refused = await client.post("/dashboard/feedback", json=rate)
        foreign_host = await client.get("/dashboard/data", headers={"host": "attacker.example"})
        foreign_origin = await client.post("/dashboard/feedback", json=rate, headers={
            "origin": "http://attacker.example", "authorization": "Bearer s3cret"})
        plain = await client.post("/dashboard/feedback", content=b"{}", headers={
            "content-type": "text/plain", "authorization": "Bearer s3cret"})
        accepted = await client.post("/dashboard/feedback", json=rate, headers={
            "origin": base, "authorization": "Bearer s3cret"})
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert data.status_code == 200 and decision in [d["id"] for d in data.json()["decisions"]]
    assert (refused.status_code, foreign_host.status_code, foreign_origin.status_code, plain.status_code) == (
        401, 403, 403, 415)
    assert accepted.status_code == 200 and accepted.json()["kind"] == "rate"
    assert [(f.kind, f.value) for f in await daemon.store.read(all_feedback)] == [("rate", "bad")]
    assert "s3cret" not in data.text and os.environ[KEY_ENV] == "s3cret"


async def test_the_page_opens_on_the_period_its_url_names(daemon, tmp_path):
    """/dashboard?period=today opens on today (its select and its data request); a period chosen
    on the page goes into the URL; an unknown period leaves the default, this month."""
    async with open_page(tmp_path / "profile") as page:
        base = f"http://{daemon.http_address}/dashboard"
        await page.goto(base + "?period=today")
        await page.wait_for("document.body.dataset.loads")
        opened = await page.evaluate("""({period: document.getElementById('period').value,
            asked: performance.getEntriesByType('resource').map(e => new URL(e.name))
                .filter(u => u.pathname === '/dashboard/data').map(u => u.searchParams.get('period'))})""")
        assert opened == {"period": "today", "asked": ["today"]}
        await page.evaluate("""(() => { const p = document.getElementById('period');
            p.value = 'week'; p.dispatchEvent(new Event('change')); })()""")
        await page.wait_for("document.body.dataset.loads === '2'")
        assert await page.evaluate("location.search") == "?period=week"
        await page.goto(base + "?period=fortnight")
        await page.wait_for("document.body.dataset.loads")
        assert await page.evaluate("document.getElementById('period').value") == "month"
