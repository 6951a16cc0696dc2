import pytest

from calls.services import actions
from tests.factories import make_agent, make_customer, make_user
from tests.services.helpers import settle, supervisor


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Factories create users; the default hasher costs ~0.2 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _named(agent, first: str):
    agent.user.first_name = first
    agent.user.save(update_fields=["first_name"])
    return agent


@pytest.fixture
def alice(db):
    return _named(make_agent(username="alice", endpoint="sip:alice@phones.test"), "Alice")


@pytest.fixture
def bob(db):
    return _named(make_agent(username="bob", endpoint="sip:bob@phones.test"), "Bob")


@pytest.fixture
def carol(db):
    return _named(make_agent(username="carol", endpoint="sip:carol@phones.test"), "Carol")


@pytest.fixture
def sam(db):
    """A supervisor with a phone of their own."""
    user = supervisor(username="sam", with_agent=True)
    user.first_name = "Sam"
    user.save(update_fields=["first_name"])
    return user


@pytest.fixture
def plain_user(db):
    return make_user(username="nobody")


@pytest.fixture
def dana(db):
    return make_customer(name="Dana Diaz", phone="+14155550101")


@pytest.fixture
def talking_call(phlo_sim, alice, dana):
    """Alice and Dana connected: both legs talking, in the simulator and in our models."""
    call = actions.call_start(actor=alice.user, to="+1 415 555 0101")
    return settle(phlo_sim, call)
