"""Two app processes on PostgreSQL + Redis behave as one: what happens on one is pushed to
desktops held on the other, and a process that crashes mid-call loses nothing."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime

import pytest

from harness.wsclient import ABNORMAL_CLOSE, HandshakeRefused
from tests.deploy.deployment import AGENTS, CUSTOMERS, PASSWORD, Deployment, place_call
from tests.deploy.helpers import (
    TIMEOUT,
    call_versions,
    customer_state,
    is_full_state,
    members,
    post_callback,
)

pytestmark = pytest.mark.redis


def _login(deployment: Deployment, name: str, **kwargs):
    assert name in AGENTS
    browser = deployment.browser(**kwargs)
    browser.login(username=name, password=PASSWORD)
    return browser


def _event_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def test_static_files_are_served_by_every_process_with_far_future_caching(deployment):
    browser = _login(deployment, "dave", via=deployment.a)
    page = browser.http.get(browser.url("/"), timeout=TIMEOUT).text
    scripts = re.findall(r'<script src="(/static/[^"]+)"', page)
    assert scripts and all(re.search(r"\.[0-9a-f]{12}\.", s) for s in scripts), scripts
    for server in (deployment.a, deployment.b):
        other = deployment.browser(via=server)
        answer = other.http.get(
            other.url(scripts[0]), headers={"Accept-Encoding": "gzip"}, timeout=TIMEOUT
        )
        assert answer.status_code == 200
        assert "immutable" in answer.headers["Cache-Control"]
        assert answer.headers.get("Content-Encoding") == "gzip"
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


def test_plain_http_is_redirected_to_https(deployment):
    import requests

    answer = requests.get(
        f"http://{deployment.a.address}/login/",
        headers={"Host": "cc.example.test"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 301
    assert answer.headers["Location"] == "https://cc.example.test/login/"


def test_each_process_answers_its_health_checks_on_its_own_port(deployment):
    import requests

    # As systemd or a load balancer probes: the process's own address as Host, plain HTTP,
    # no session (no allowed host, no HTTPS redirect, no cookie).
    for server in (deployment.a, deployment.b):
        for path, status in (("/health/live/", "live"), ("/health/ready/", "ready")):
            answer = requests.get(f"http://{server.address}{path}", timeout=TIMEOUT)
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == status
            assert "Set-Cookie" not in answer.headers
        checks = answer.json()["checks"]
        assert checks["database"]["ok"] and checks["channel_layer"]["ok"]


async def test_a_session_from_one_process_is_valid_on_the_other(deployment):
    browser = await asyncio.to_thread(_login, deployment, "dave", via=deployment.a)
    browser.route_to([deployment.b.address])
    page = await asyncio.to_thread(browser.http.get, browser.url("/"), timeout=TIMEOUT)
    assert page.status_code == 200 and "Agent desktop" in page.text
    desktop = await browser.open_desktop(deployment.b)
    try:
        assert is_full_state(await desktop.receive(timeout=TIMEOUT))
    finally:
        await desktop.close()


async def test_a_signed_callback_posted_to_one_process_reaches_a_desktop_held_on_the_other(
    deployment,
):
    browser = await asyncio.to_thread(_login, deployment, "carol", via=deployment.a)
    desktop = await browser.open_desktop(deployment.b)
    try:
        await desktop.receive(timeout=TIMEOUT)  # the full state on connect
        call_id = await place_call(deployment, browser, agent="carol", desktop=desktop)
        conference = deployment.cluster.sql(
            "select conference_uuid from calls_call where id = %s", call_id
        )[0][0]
        customer = deployment.sim.member(CUSTOMERS["carol"])
        params = {
            "EventName": "ParticipantHold",
            "EventTimestamp": _event_time(),
            "MPCUUID": conference,
            "MPCName": "Multiparty Call-x",
            "MemberID": customer["member_id"],
            "ParticipantRole": "Customer",
            "ParticipantCallUUID": customer["call_uuid"],
            "ParticipantCallTo": CUSTOMERS["carol"].lstrip("+"),
            "ParticipantCallFrom": "14155550000",
            "ParticipantCallDirection": "outbound",
            "SequenceNumber": "99",
        }
        answer = await asyncio.to_thread(post_callback, deployment.cluster, deployment.a, params)
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == "applied"
        pushed = await desktop.receive_until(
            lambda text: customer_state(text) == "on_hold", timeout=TIMEOUT
        )
        assert call_id in call_versions(pushed)
    finally:
        await desktop.close()


async def test_a_forged_callback_is_refused_by_every_process(deployment):
    params = {"EventName": "MPCEnd", "MPCUUID": str(uuid.uuid4())}
    for server in (deployment.a, deployment.b):
        answer = await asyncio.to_thread(post_callback, deployment.cluster, server, params)
        assert answer.status_code == 200  # correctly signed: kept (unmatched)
    from tests.deploy.helpers import sign

    headers = sign(deployment.cluster, params)
    headers["X-Plivo-Signature-V3"] = "forged" + headers["X-Plivo-Signature-V3"][6:]
    session = deployment.browser(via=deployment.b).http
    answer = await asyncio.to_thread(
        session.post,
        deployment.cluster.public_base_url + "/webhooks/plivo/",
        data=params,
        headers=headers,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 403


async def test_an_action_through_one_process_is_seen_on_a_desktop_served_by_the_other(
    deployment,
):
    browser = await asyncio.to_thread(_login, deployment, "alice", via=deployment.a)
    on_b = await browser.open_desktop(deployment.b)
    on_a = await browser.open_desktop(deployment.a)  # a second tab, on the acting process
    try:
        for tab in (on_a, on_b):
            await tab.receive(timeout=TIMEOUT)
        call_id = await place_call(deployment, browser, agent="alice", desktop=on_b)
        customer = next(m for m in members(await _latest(on_a, call_id)) if m.role == "customer")
        answer = await asyncio.to_thread(
            browser.click, f"/desktop/members/{customer.pk}/actions/hold/"
        )
        assert answer.status_code == 200, answer.text
        assert customer_state(answer.text) == "on_hold"
        for tab in (on_b, on_a):
            await tab.receive_until(lambda t: customer_state(t) == "on_hold", timeout=TIMEOUT)
        assert deployment.sim.member(CUSTOMERS["alice"])["state"] == "on_hold"
    finally:
        await on_a.close()
        await on_b.close()


async def _latest(desktop, call_id: int) -> str:
    """The next push that shows this call with a talking customer."""
    return await desktop.receive_until(
        lambda t: call_id in call_versions(t) and customer_state(t) == "talking", timeout=TIMEOUT
    )


_DEACTIVATE = (
    "from django.contrib.auth import get_user_model;"
    "user = get_user_model().objects.get(username='{name}');"
    "user.is_active = False; user.save()"
)


async def test_deactivating_a_user_anywhere_closes_their_desktops_in_every_process(deployment):
    """An admin's change in any process (here a third one, `manage.py shell`) reaches the
    sockets held by both app processes through Redis, at once (issue 18, item 3)."""
    name = f"erin{uuid.uuid4().hex[:6]}"
    agent = {"username": name, "password": PASSWORD, "endpoint": f"sip:{name}@phones.test"}
    await asyncio.to_thread(deployment.cluster.seed, "people", {"agents": [agent]})
    browser = deployment.browser(via=deployment.a)
    await asyncio.to_thread(browser.login, username=name, password=PASSWORD)
    desktops = [await browser.open_desktop(deployment.a), await browser.open_desktop(deployment.b)]
    for desktop in desktops:
        assert is_full_state(await desktop.receive(timeout=TIMEOUT))

    code = _DEACTIVATE.format(name=name)
    await asyncio.to_thread(deployment.cluster.run_python, "manage.py", "shell", "-c", code)
    # No heartbeat was sent: the change itself closed them, as signed out.
    assert [await d.wait_closed(timeout=TIMEOUT) for d in desktops] == [4401, 4401]
    with pytest.raises(HandshakeRefused):
        await browser.open_desktop(deployment.b)


async def test_a_process_killed_mid_call_loses_nothing_and_its_desktops_resync(deployment):
    cluster, a, b = deployment.cluster, deployment.a, deployment.b
    browser = await asyncio.to_thread(_login, deployment, "bob")  # via the proxy: either process
    on_b = await browser.open_desktop(b)
    on_a = await browser.open_desktop(a)
    try:
        for tab in (on_a, on_b):
            await tab.receive(timeout=TIMEOUT)
        call_id = await place_call(deployment, browser, agent="bob", desktop=on_a)
        customer = next(m for m in members(await _latest(on_b, call_id)) if m.role == "customer")
        callbacks_before = len(deployment.sim.callbacks)

        b.kill()  # a crash: no close frames, nothing flushed
        assert await on_b.wait_closed(timeout=TIMEOUT) == ABNORMAL_CLOSE

        # While it is down, the agent keeps working through the proxy, and the provider keeps
        # sending callbacks (each hold produces a ParticipantHold/Unhold); every request
        # that would have reached the dead process goes to the live one.
        for action in ("hold", "unhold", "hold"):
            answer = await asyncio.to_thread(
                browser.click, f"/desktop/members/{customer.pk}/actions/{action}/"
            )
            assert answer.status_code == 200, answer.text
            await deployment.advance(0)
        last = await on_a.receive_until(
            lambda t: customer_state(t) == "on_hold" and call_id in call_versions(t),
            timeout=TIMEOUT,
        )
        produced = deployment.sim.callbacks[callbacks_before:]
        assert [c["EventName"] for c in produced] == [
            "ParticipantHold",
            "ParticipantUnhold",
            "ParticipantHold",
        ]

        b.restart()
        # The page reconnects and gets the whole truth at once: the hold it missed included.
        on_b.abort()
        on_b = await browser.open_desktop(b)
        resync = await on_b.receive(timeout=TIMEOUT)
        assert is_full_state(resync)
        assert customer_state(resync) == "on_hold"
        assert call_versions(resync)[call_id] >= call_versions(last)[call_id]

        # The restarted process is back in the channel layer: a change made through the other
        # process reaches the desktop held on it.
        answer = await asyncio.to_thread(
            browser.click, f"/desktop/members/{customer.pk}/actions/unhold/"
        )
        assert answer.status_code == 200, answer.text
        await on_b.receive_until(lambda t: customer_state(t) == "talking", timeout=TIMEOUT)
        await deployment.advance(0)  # its ParticipantUnhold callback
    finally:
        await on_a.close()
        await on_b.close()

    # Nothing was lost: every callback the provider produced was delivered, stored once and
    # applied; every action reached PHLO and succeeded.
    assert deployment.failed_deliveries() == []
    conference = cluster.sql("select conference_uuid from calls_call where id = %s", call_id)[0][0]
    produced = {
        tuple(sorted(c.items())) for c in deployment.sim.callbacks if c.get("MPCUUID") == conference
    }
    stored = dict(
        cluster.sql(
            "select outcome, count(*) from calls_callbackevent where params->>'MPCUUID' = %s"
            " group by outcome",
            conference,
        )
    )
    assert sum(stored.values()) == len(produced), (stored, len(produced))
    assert "failed" not in stored and "received" not in stored, stored
    actions = dict(
        cluster.sql(
            "select outcome, count(*) from calls_action where call_id = %s group by outcome",
            call_id,
        )
    )
    assert actions == {"succeeded": 5}, actions  # call + hold, unhold, hold + unhold
