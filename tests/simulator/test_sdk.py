"""The provider's official Python SDK, pointed at the simulator, works unchanged.

The SDK builds every URL from `client.phlo_base_uri` (default https://phlorunner.plivo.com/v1),
adds a trailing slash, sends JSON with Basic auth, and puts member addresses raw in the path.
"""

import plivo
import pytest
from plivo import exceptions

from tests.simulator.helpers import AGENT, AGENT2, CUSTOMER, states


@pytest.fixture
def sdk(phlo_sim, settings):
    client = plivo.phlo.RestClient(
        auth_id=settings.PLIVO_AUTH_ID, auth_token=settings.PLIVO_AUTH_TOKEN
    )
    client.phlo_base_uri = phlo_sim.api_url
    yield client
    client.session.close()


@pytest.fixture
def mpc(sdk, settings):
    return sdk.phlo.get(settings.PHLO_ID).multi_party_call(settings.PHLO_MPC_NODE_ID)


def test_sdk_gets_the_phlo_and_node(sdk, settings):
    phlo = sdk.phlo.get(settings.PHLO_ID)
    assert phlo.phlo_id == settings.PHLO_ID
    node = phlo.multi_party_call(settings.PHLO_MPC_NODE_ID)
    assert (node.node_id, node.node_type) == (settings.PHLO_MPC_NODE_ID, "multi_party_call")


def test_sdk_call_hold_transfer_and_hangup(mpc, phlo_sim, callback_sink):
    response = mpc.call(AGENT, "+14155550100", "customer")
    assert response.error == ""
    phlo_sim.advance(4)  # the agent, then the customer
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "talking"}
    mpc.member("+14155550100").hold()
    assert phlo_sim.member(CUSTOMER)["state"] == "on_hold"
    mpc.member("+14155550100").unhold()
    mpc.warm_transfer(AGENT, AGENT2)
    phlo_sim.advance(2)
    mpc.member(AGENT).resume_call()
    assert states(phlo_sim) == {AGENT: "talking", CUSTOMER: "talking", AGENT2: "talking"}
    mpc.member(AGENT2).hangup()
    mpc.cold_transfer(AGENT, "sip:carol@phones.test")
    phlo_sim.advance(2)
    assert phlo_sim.member(AGENT) is None
    assert phlo_sim.member(CUSTOMER)["state"] == "talking"
    mpc.warm_transfer("sip:carol@phones.test", "15005550003")
    phlo_sim.advance(2)
    mpc.member("15005550003").voicemail_drop()
    mpc.member("sip:carol@phones.test").abort_transfer()
    phlo_sim.run_pending()
    assert phlo_sim.member("15005550003") is None


def test_sdk_raises_the_simulators_errors(mpc, sdk, settings, phlo_sim):
    with pytest.raises(exceptions.ValidationError, match="is in a live call"):
        mpc.member(CUSTOMER).hold()
    with pytest.raises(exceptions.ValidationError, match=r"Invalid value provided for role\."):
        mpc.call(AGENT, CUSTOMER, "boss")
    with pytest.raises(exceptions.ResourceNotFoundError):
        sdk.phlo.get("00000000-0000-4000-8000-000000000000")
    bad = plivo.phlo.RestClient(auth_id=settings.PLIVO_AUTH_ID, auth_token="wrong")
    bad.phlo_base_uri = phlo_sim.api_url
    with pytest.raises(exceptions.AuthenticationError):
        bad.phlo.get(settings.PHLO_ID)
    phlo_sim.inject_fault(status=500)
    with pytest.raises(exceptions.PlivoServerError):
        mpc.call(AGENT, CUSTOMER, "customer")
