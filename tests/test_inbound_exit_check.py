"""With inbound routing on, a caller nobody can take has somewhere to go: the start-up check
says when the endpoint of INBOUND_NO_AGENT_OUTCOME is missing (the queue form refuses an exit
that is not set up: tests/admin/test_queues.py)."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from calls.checks import inbound_exit


def test_routing_on_without_the_no_agent_endpoint_is_a_warning(settings):
    settings.ROUTING_API_TOKEN = "token"
    settings.INBOUND_NO_AGENT_OUTCOME = "voicemail"
    settings.INBOUND_VOICEMAIL_ENDPOINT = ""
    settings.INBOUND_MESSAGE_ENDPOINT = "15005550006"
    [warning] = inbound_exit(None)
    assert warning.id == "calls.W001"
    assert "INBOUND_VOICEMAIL_ENDPOINT is empty" in warning.msg
    settings.INBOUND_VOICEMAIL_ENDPOINT = "15005550007"
    assert inbound_exit(None) == []
    settings.ROUTING_API_TOKEN = ""
    settings.INBOUND_VOICEMAIL_ENDPOINT = ""
    assert inbound_exit(None) == []  # no inbound calls: nothing to send anywhere


def test_an_unknown_no_agent_outcome_stops_the_start(settings):
    settings.ROUTING_API_TOKEN = "token"
    settings.INBOUND_NO_AGENT_OUTCOME = "Voice-mail"
    with pytest.raises(SystemCheckError, match=r"calls\.E003"):
        call_command("check")
