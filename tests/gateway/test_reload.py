"""Whole reloads: a new runtime (config, secrets, catalogue, rules, providers) is built whole and
swapped in, or nothing changes and status says why; requests in flight keep the runtime they
started with."""

import json

import anyio
import httpx
import pytest

from tests.gateway.conftest import GATEWAY_KEY
from tests.support import connect

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
RULE = '[[routing.rules]]\nname = "db"\nkeywords = ["postgres"]\ntier = "complex"\n'
PROMPT = "how do I list tables in postgres"

# What each broken reload changes (part -> the new text the test writes). Every one also carries a
# change that would be visible if the reload half-applied.
BROKEN = {
    "config": '[daemon]\nlog_levl = "info"\n',                                      # an unknown key
    "secrets": "",                                                                   # key env unset
    "catalogue": '[routing]\nquality_floor = "no-such-model"\n',
    "rules": '[[routing.rules]]\nname = "db"\npattern = "postgres("\ntier = "simple"\n',
    "providers": "",                                                                 # points at routerd
}


async def _post(base_url: str, body: dict, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(base_url + "/v1/chat/completions", json=body, **kwargs)


async def _route(daemon, prompt: str) -> dict:
    async with connect(daemon.socket_path) as client:
        return await client.call({"type": "route", "prompt": prompt, "explain": True})


def _changed(text: str, part: str, fakes, daemon) -> str:
    """``text`` (the running config) with changes to every part, and ``part`` broken."""
    new = text.replace('api_key = "sk-openai-secret-1234"', 'api_key = "sk-openai-rotated-7777"')
    new = new.replace(RULE, RULE.replace('tier = "complex"', 'tier = "moderate"'))
    new += '\n[gateway.aliases]\nquick = "backup/gpt-4.1"\n'
    new += '\n[[routing.models]]\nid = "my-own-model"\nprovider = "openai"\ntier = "simple"\n'
    if part == "rules":
        new = new.replace(RULE.replace('tier = "complex"', 'tier = "moderate"'), BROKEN["rules"])
    elif part == "secrets":
        new = new.replace('gateway_key_env = "ROUTERD_TEST_KEY"', 'gateway_key_env = "ROUTERD_UNSET_KEY"')
    elif part == "providers":
        new = new.replace(f'base_url = "{fakes["backup"].url}/v1"', f'base_url = "http://{daemon.http_address}/v1"')
    elif part in BROKEN:
        new = BROKEN[part] + new
    return new


@pytest.fixture
def config_file(config_file, monkeypatch):
    """The gateway daemon's config, with a rule, a gateway key, and HTTP on every interface (so that
    a gateway key is required: its variable going missing fails the secrets part)."""
    monkeypatch.setenv("ROUTERD_TEST_KEY", GATEWAY_KEY)
    text = config_file.read_text().replace(
        '[http]\nlisten = "127.0.0.1:0"\n', '[http]\nlisten = "0.0.0.0:0"\ngateway_key_env = "ROUTERD_TEST_KEY"\n')
    config_file.write_text(text + "\n" + RULE)
    return config_file


@pytest.mark.parametrize("part", list(BROKEN))
async def test_a_failed_reload_leaves_everything_as_it_was(daemon, fakes, config_file, part):
    """A reload that fails in one part (a bad key, a missing gateway key, an unknown quality floor, a
    bad rule, a provider pointing back at routerd) changes no part, and status says it failed."""
    before = daemon.runtime
    base_url = f"http://127.0.0.1:{daemon.http_address.rsplit(':', 1)[1]}"
    config_file.write_text(_changed(config_file.read_text(), part, fakes, daemon))
    result = await daemon.reload("test")
    assert not result.ok, part
    assert daemon.runtime is before
    async with connect(daemon.socket_path) as client:
        status = await client.call({"type": "status"})
    assert status["last_reload"]["ok"] is False and status["last_reload"]["message"] == result.message
    assert status["config_loaded_at"] == before.loaded_at
    assert status["parts"]["gateway"]["providers"]["backup"]["base_url"] == f"{fakes['backup'].url}/v1"
    # secrets: the old key is still sent upstream and still scrubbed; the old gateway key still opens
    auth = {"authorization": f"Bearer {GATEWAY_KEY}"}
    assert (await _post(base_url, CHAT, headers=auth)).status_code == 200
    assert fakes["openai"].received[-1].headers["authorization"] == "Bearer sk-openai-secret-1234"
    assert "sk-openai-secret-1234" in daemon.scrubber.secrets
    # config: the alias the new file adds is unknown; providers: backup is the old one
    assert (await _post(base_url, {**CHAT, "model": "quick"}, headers=auth)).status_code == 404
    # rules and catalogue: the old rule decides, the new model is unknown
    decision = await _route(daemon, PROMPT)
    assert decision["tier"] == "complex" and any("rule db" in r for r in decision["reasons"])
    assert not any(v["model"].endswith("my-own-model") for v in decision["verdicts"])


async def test_a_good_reload_changes_every_part(daemon, fakes, config_file):
    """The same changes without a broken part all apply at once."""
    base_url = f"http://127.0.0.1:{daemon.http_address.rsplit(':', 1)[1]}"
    config_file.write_text(_changed(config_file.read_text(), "none", fakes, daemon))
    assert (await daemon.reload("test")).ok
    auth = {"authorization": f"Bearer {GATEWAY_KEY}"}
    assert (await _post(base_url, CHAT, headers=auth)).status_code == 200
    assert fakes["openai"].received[-1].headers["authorization"] == "Bearer sk-openai-rotated-7777"
    quick = await _post(base_url, {**CHAT, "model": "quick"}, headers=auth)
    assert quick.status_code == 200 and quick.headers["x-routerd-provider"] == "backup"
    decision = await _route(daemon, PROMPT)
    assert decision["tier"] == "moderate" and any("rule db" in r for r in decision["reasons"])
    assert any(v["model"] == "openai/my-own-model" for v in decision["verdicts"])


async def test_a_request_in_flight_keeps_the_runtime_it_started_with(daemon, fakes, config_file):
    """A stream that started before a reload moved its provider elsewhere finishes from where it
    started; the next request goes to the new place."""
    base_url = f"http://127.0.0.1:{daemon.http_address.rsplit(':', 1)[1]}"
    auth = {"authorization": f"Bearer {GATEWAY_KEY}"}
    fakes["openai"].hold()
    text = []
    async with anyio.create_task_group() as tg:
        async def stream() -> None:
            async with httpx.AsyncClient(timeout=10) as client:
                async with client.stream("POST", base_url + "/v1/chat/completions", headers=auth,
                                         json={**CHAT, "stream": True}) as response:
                    text.append(response.headers["x-routerd-provider"])
                    text.append((await response.aread()).decode())

        tg.start_soon(stream)
        with anyio.fail_after(5):
            await fakes["openai"].holding.wait()
        config_file.write_text(config_file.read_text().replace(
            f'base_url = "{fakes["openai"].url}/v1"', f'base_url = "{fakes["gemini"].url}/v1"'))
        assert (await daemon.reload("test")).ok
        fakes["openai"].release.set()
    assert text[0] == "openai" and "Hello from openai." in "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        for line in text[1].splitlines() if line.startswith("data: {") and '"choices": [{' in line)
    before = len(fakes["gemini"].received)
    assert (await _post(base_url, CHAT, headers=auth)).headers["x-routerd-provider"] == "openai"
    assert len(fakes["gemini"].received) == before + 1
