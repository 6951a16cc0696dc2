"""No credential is rendered: not from settings, not from stored requests or callbacks."""

import pytest
from django.conf import settings
from django.urls import reverse

from calls.admin import REDACTED, redact
from calls.models import Action, CallbackEvent
from tests.admin.builders import add_action, add_callback, full_call

pytestmark = pytest.mark.django_db

SIGNATURE = "c2lnbmF0dXJlLXZhbHVlLXNob3VsZC1uZXZlci1zaG93"
BASIC = "Basic TUFURVNUVEVTVFRFU1RURVNUMDA6dGVzdC1hdXRoLXRva2Vu"


@pytest.fixture
def leaky_records(settings):
    settings.ROUTING_API_TOKEN = "routing-token-for-tests-1234"
    call = full_call(index=1)
    # Records as a careless writer might have stored them: headers and secrets included.
    add_callback(
        call=call,
        event="ConferenceEnter",
        params={
            "event": "ConferenceEnter",
            "X-Plivo-Signature-V3": SIGNATURE,
            "X-Plivo-Signature-V3-Nonce": "98765432101234",
            "HTTP_AUTHORIZATION": BASIC,
            "caller_name": f"echo {settings.PLIVO_AUTH_TOKEN}",
        },
        error=f"bad token {settings.PLIVO_AUTH_TOKEN}",
    )
    add_action(
        call=call,
        kind=Action.Kind.HANGUP,
        request={
            "method": "POST",
            "path": "/v1/phlo/p/multi_party_call/n/members/14155550100",
            "headers": {"Authorization": BASIC},
            "auth": [settings.PLIVO_AUTH_ID, settings.PLIVO_AUTH_TOKEN],
            "body": {"action": "hangup"},
        },
        error=f"401 for {settings.PLIVO_AUTH_ID}",
    )
    return call


def _secrets() -> list[str]:
    return [
        settings.PLIVO_AUTH_TOKEN,
        settings.PLIVO_AUTH_ID,
        settings.ROUTING_API_TOKEN,
        settings.SECRET_KEY,
        SIGNATURE,
        BASIC,
        "98765432101234",
    ]


def test_no_page_renders_a_secret(login, superuser, leaky_records):
    client = login(superuser)
    urls = [
        reverse("admin:index"),
        reverse("admin:calls_call_changelist"),
        reverse("admin:calls_call_change", args=[leaky_records.pk]),
        reverse("admin:calls_action_changelist"),
        reverse("admin:calls_callbackevent_changelist"),
        reverse("admin:agents_agent_changelist"),
        reverse("admin:calls_customer_changelist"),
        reverse("admin:calls_call_export"),
    ]
    urls += [reverse("admin:calls_action_change", args=[a.pk]) for a in Action.objects.all()]
    urls += [
        reverse("admin:calls_callbackevent_change", args=[c.pk])
        for c in CallbackEvent.objects.all()
    ]
    leaks = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        found = [s for s in _secrets() if s in body]
        if found:
            leaks[url] = found
    assert leaks == {}


def test_redacted_values_are_marked_not_dropped(login, superuser, leaky_records):
    callback = CallbackEvent.objects.get(params__has_key="X-Plivo-Signature-V3")
    html = (
        login(superuser)
        .get(reverse("admin:calls_callbackevent_change", args=[callback.pk]))
        .content.decode()
    )
    assert f"<th>X-Plivo-Signature-V3</th><td>{REDACTED}</td>" in html
    assert f"<th>caller_name</th><td>echo {REDACTED}</td>" in html
    assert "<th>event</th><td>ConferenceEnter</td>" in html


def test_redact_keeps_call_data():
    params = {
        "event": "ConferenceEnter",
        "from": "sip:alice@phones.test",
        "member_id": "17",
        "nested": {"Signature": "x", "to": ["1", "2"]},
    }
    assert redact(params, secrets=[]) == {
        "event": "ConferenceEnter",
        "from": "sip:alice@phones.test",
        "member_id": "17",
        "nested": {"Signature": REDACTED, "to": ["1", "2"]},
    }
