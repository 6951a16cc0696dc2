import pytest

from calls.services import buttons
from tests.factories import make_user
from tests.services.helpers import settle


@pytest.fixture
def plain_user(db):
    return make_user(username="nobody")


@pytest.fixture
def talking_call(phlo_sim, alice, dana):
    """Alice and Dana connected: both legs talking, in the simulator and in our models."""
    call = buttons.call_start(actor=alice.user, to="+1 415 555 0101")
    return settle(phlo_sim, call)
