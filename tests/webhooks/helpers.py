"""Sign and post callbacks the way the provider does, and build the calls they are about.

Fixture files in tests/fixtures/callbacks/ hold real-shaped callbacks, one file per scenario;
`build_call` creates the call and dialling members our services would have created before
asking PHLO, with the fixture's addresses.
"""

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from calls.addresses import normalize_address
from calls.models import Call, Member
from calls.signature import NONCE_HEADER, SIGNATURE_HEADER, compute_signature
from tests.factories import make_agent, make_customer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "callbacks"
WEBHOOK_PATH = "/webhooks/plivo/"
TOKEN = "test-auth-token"  # tests/conftest.py's PLIVO_AUTH_TOKEN


def load_scenario(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def callbacks(name: str) -> dict[str, dict]:
    return load_scenario(name)["callbacks"]


def sign(params: dict, *, url: str, nonce: str, token: str = TOKEN) -> str:
    return compute_signature(url=url, params=params, nonce=nonce, auth_token=token)


def post_callback(
    client,
    params: dict,
    *,
    as_json: bool = False,
    token: str = TOKEN,
    nonce: str | None = None,
    path: str = WEBHOOK_PATH,
    signed_url: str | None = None,
    signed_params: dict | None = None,
    signature: str | None = None,
    headers: dict | None = None,
    **extra,
):
    """POST `params` signed with V3 over PUBLIC_BASE_URL + path; each call a fresh nonce."""
    nonce = nonce or uuid.uuid4().hex
    url = signed_url or f"{settings.PUBLIC_BASE_URL}{path}"
    if signature is None:
        signature = sign(signed_params or params, url=url, nonce=nonce, token=token)
    all_headers = {SIGNATURE_HEADER: signature, NONCE_HEADER: nonce, **(headers or {})}
    if as_json:
        body, content_type = json.dumps(params), "application/json"
    else:
        body, content_type = urlencode(params, doseq=True), "application/x-www-form-urlencoded"
    return client.post(path, data=body, content_type=content_type, headers=all_headers, **extra)


@dataclass
class CallSetup:
    call: Call
    agent_leg: Member
    customer_leg: Member

    def refresh(self) -> "CallSetup":
        for obj in (self.call, self.agent_leg, self.customer_leg):
            obj.refresh_from_db()
        return self


def build_call(
    scenario: str | dict,
    *,
    agent=None,
    customer=None,
    status: str = Call.Status.DIALLING,
    created_at=None,
) -> CallSetup:
    """A call with a dialling agent leg and customer leg at the scenario's addresses."""
    data = load_scenario(scenario) if isinstance(scenario, str) else scenario
    addresses = data["addresses"]
    agent = agent or make_agent(endpoint=addresses["agent"], status="available")
    customer = customer or make_customer(phone=addresses["customer"])
    call = Call.objects.create(
        status=status,
        direction=data.get("direction", "outbound"),
        owner=agent,
        customer=customer,
        created_at=created_at or timezone.now(),
    )
    agent_leg = Member.objects.create(
        call=call, address=agent.endpoint, role=Member.Role.AGENT, agent=agent
    )
    outbound = call.direction == Call.Direction.OUTBOUND
    customer_leg = Member.objects.create(
        call=call,
        address=normalize_address(addresses["customer"]),
        role=Member.Role.CUSTOMER,
        customer=customer,
        # As our services make it: an outbound call's number rings once the agent is on.
        state=Member.State.PENDING if outbound else Member.State.DIALLING,
    )
    return CallSetup(call=call, agent_leg=agent_leg, customer_leg=customer_leg)
