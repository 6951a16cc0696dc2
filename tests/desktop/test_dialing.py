"""What the dial box and a transfer field accept (agents/services/dialing.py).

A refusal dials nothing: no call, no action and no request to the PHLO simulator.
"""

import pytest

from agents.services.dialing import desktop_call_place, transfer_target_resolve
from calls.models import Action, Call
from calls.services import InvalidInput
from tests.factories import make_agent, make_customer
from tests.services.helpers import phlo_requests

pytestmark = pytest.mark.django_db


@pytest.fixture
def gus(db):
    return make_customer(name="Gus Garcia", phone="+14155550111")


def dial(agent, text: str, customer_id: int | None = None) -> Call:
    return desktop_call_place(actor=agent.user, text=text, customer_id=customer_id)


def refusal(sim, agent, text: str) -> str:
    with phlo_requests(sim) as sent, pytest.raises(InvalidInput) as info:
        dial(agent, text)
    assert sent == []
    assert not Call.objects.exists() and not Action.objects.exists()
    return info.value.message


def callee(call: Call) -> str:
    return call.members.get(role="customer").address


class TestDialBox:
    def test_a_truncated_number_is_not_dialled(self, phlo_sim, alice):
        assert refusal(phlo_sim, alice, "+1 415 55") == (
            "'+1 415 55' is not a valid phone number: it is too short for +1. Check the digits."
        )

    def test_part_of_a_name_is_not_dialled_and_the_name_is_offered(self, phlo_sim, alice, gus):
        assert refusal(phlo_sim, alice, "Gus Garci") == (
            "No customer is called 'Gus Garci'. Did you mean Gus Garcia? Pick them from the"
            " list, or type the whole name."
        )
        # One letter off finds the name too.
        assert "Did you mean Gus Garcia?" in refusal(phlo_sim, alice, "gus garcai")

    def test_several_close_names_are_listed_closest_first(self, phlo_sim, alice, gus):
        for name in ("Augusta Gray", "Gus Green", "Ida Garcia", "Gustav Holm"):
            make_customer(name=name)
        assert refusal(phlo_sim, alice, "Gus Garci") == (
            "Several customers match 'Gus Garci' (Gus Garcia, Gus Green, Ida Garcia, …):"
            " pick one from the list."
        )

    def test_a_whole_name_in_any_case_is_dialled(self, phlo_sim, alice, gus):
        call = dial(alice, "  gus   GARCIA ")
        assert (call.customer, callee(call)) == (gus, "14155550111")

    def test_one_name_of_two_customers_must_be_picked(self, phlo_sim, alice, gus):
        twin = make_customer(name="Gus Garcia", phone="+14155550112")
        assert refusal(phlo_sim, alice, "Gus Garcia") == (
            "Several customers are called 'Gus Garcia': pick one from the list."
        )
        assert dial(alice, "Gus Garcia", customer_id=twin.pk).customer == twin

    def test_a_picked_customer_is_dialled_whatever_the_text(self, phlo_sim, alice, gus):
        assert dial(alice, "Gus Garci", customer_id=gus.pk).customer == gus

    def test_nothing_like_a_customer(self, phlo_sim, alice, gus):
        assert refusal(phlo_sim, alice, "Zed") == (
            "No customer is called 'Zed', and it is not a phone number or SIP address."
        )

    def test_a_local_number_is_read_in_the_default_region(self, phlo_sim, settings, alice, dana):
        settings.PHONE_DEFAULT_REGION = "US"
        call = dial(alice, "415 555 0101")
        assert (call.customer, callee(call)) == (dana, "14155550101")

    def test_a_local_number_of_another_region(self, phlo_sim, settings, alice):
        settings.PHONE_DEFAULT_REGION = "GB"
        assert callee(dial(alice, "020 7946 0999")) == "442079460999"

    def test_sip_addresses_still_work(self, phlo_sim, alice):
        assert callee(dial(alice, "sip:Someone@Example.COM")) == "sip:Someone@example.com"
        Call.objects.all().delete()
        Action.objects.all().delete()
        assert "not a valid SIP address" in refusal(phlo_sim, alice, "sip:nohost")


class TestTransferField:
    def test_a_truncated_number_is_refused(self):
        with pytest.raises(InvalidInput, match="'\\+1 415 55' is not a valid phone number"):
            transfer_target_resolve(text="+1 415 55")

    def test_an_agent_picked_from_the_list(self, bob):
        assert transfer_target_resolve(text="bob") == (bob.endpoint, bob)

    def test_an_agent_typed_by_the_full_name_the_pages_show(self, bob):
        bob.user.first_name, bob.user.last_name = "Bob", "Baker"
        bob.user.save()
        assert transfer_target_resolve(text="  bob   BAKER ") == (bob.endpoint, bob)
        namesake = make_agent(username="bob2", endpoint="sip:bob2@phones.test")
        namesake.user.first_name, namesake.user.last_name = "Bob", "Baker"
        namesake.user.save()
        with pytest.raises(InvalidInput, match="No agent is called 'bob baker'"):
            transfer_target_resolve(text="bob baker")  # two of them: pick from the list

    def test_a_local_number_reads_the_same_in_the_service(self, settings):
        settings.PHONE_DEFAULT_REGION = "GB"
        # With its "+", so that the transfer service reads the very same number.
        assert transfer_target_resolve(text="020 7946 0999") == ("+442079460999", None)
        assert transfer_target_resolve(text="sip:Desk@PBX.test") == ("sip:Desk@pbx.test", None)
