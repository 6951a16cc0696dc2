"""Calls ringing on an agent's phone: the desktop can reject them."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from agents.models import Agent
from agents.profiles import agent_for_user
from calls.models import Member
from calls.services import buttons
from calls.services.errors import InvalidState, NotAllowed, NotFound


def ringing_leg_reject(
    *, actor: AbstractBaseUser, member_id: int, actor_agent: Agent | None = None
) -> Member:
    """Hang up the agent's own ringing leg (an incoming or transferred call they decline).
    `actor_agent`: the actor's agent, when the caller already fetched it in this request."""
    if actor_agent is None:
        agent = agent_for_user(user=actor)
    elif actor_agent.user_id != actor.pk:
        # Checked here too: it decides whose phone this leg must be ringing on.
        raise ValueError(f"agent {actor_agent.pk} is not user {actor.pk}'s")
    else:
        agent = actor_agent
    member = Member.objects.filter(pk=member_id).first()
    if member is None:
        raise NotFound("That call is no longer ringing.")
    if agent is None or member.agent_id != agent.pk:
        raise NotAllowed("You can only reject a call that is ringing on your own phone.")
    if member.state != Member.State.DIALLING:
        raise InvalidState(
            f"Your phone is not ringing for this call any more ({member.get_state_display()})."
        )
    # What this function already knows (the agent, the leg's call) is not looked up again.
    return buttons.member_decline(
        actor=actor, actor_agent=agent, member_id=member_id, call_id=member.call_id
    )
