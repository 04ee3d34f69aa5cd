"""Hostile input against the running bot: `dstack-gov run` as a process, and the webhook route."""

from __future__ import annotations

import httpx

from bot.webhook import SECRET_HEADER, webhook_secret
from tests.helpers.bot import (
    CHAT,
    OWNER_1,
    PROPOSER,
    replies_to,
    run_process,
    running_webhook,
    stop_with_sigterm,
    warnings_to,
    write_run_config,
)
from tests.helpers.hostile_documents import DEEP_JSON, DEEP_YAML


async def test_run_refuses_hostile_documents_and_bodies_and_stays_responsive(anvil, gov, telegram, tmp_path):
    config = write_run_config(gov, anvil.url, telegram, tmp_path)
    async with run_process(config, telegram.token, log=tmp_path / "run.log") as (process, summary):
        # 200 KB each: the flow sequence took PyYAML minutes on the event loop; the JSON overflowed the C stack.
        _, deep_yaml = telegram.send_document(CHAT, PROPOSER, "deep.yaml", DEEP_YAML)
        _, deep_json = telegram.send_document(CHAT, PROPOSER, "deep.json", b'{"title":' + DEEP_JSON + b"}")
        for sent, name in ((deep_yaml, "deep.yaml"), (deep_json, "deep.json")):
            refusal = await telegram.wait_for(lambda m=sent: warnings_to(telegram, m), within=30, what="a refusal")
            assert refusal == [f"⚠️ {name}: nested deeper than 32 levels"]
        _, asked = telegram.say(CHAT, OWNER_1, "/pending")
        await telegram.wait_for(lambda: replies_to(telegram, asked), within=30, what="an answer afterwards")
        async with httpx.AsyncClient(base_url=summary["http"], timeout=30) as client:
            deep = await client.post(
                "/api/proposals/1/signatures", content=DEEP_JSON, headers={"content-type": "application/json"}
            )
            assert (deep.status_code, deep.json()) == (400, {"error": "body: nested deeper than 64 levels"})
            assert (await client.get("/healthz")).status_code == 200
        assert process.returncode is None
        code = await stop_with_sigterm(process)
    assert code == 0
    assert "Traceback" not in (tmp_path / "run.log").read_text()
    assert gov.store.list_proposals() == []


async def test_webhook_route_refuses_a_deep_update_and_keeps_serving(gov, telegram):
    secret = {SECRET_HEADER: webhook_secret(telegram.token)}
    async with running_webhook(gov, telegram) as (_, url), httpx.AsyncClient(base_url=url, timeout=30) as client:
        deep = await client.post("/telegram/hook", content=DEEP_JSON, headers=secret)
        assert deep.status_code == 400
        update = telegram.message_update(CHAT, OWNER_1, "/pending")
        assert (await client.post("/telegram/hook", json=update, headers=secret)).status_code == 200
        await telegram.wait_for(lambda: replies_to(telegram, update["message"]["message_id"]), what="a reply")
