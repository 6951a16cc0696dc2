from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"
    verbose_name = "Agents"

    def ready(self) -> None:
        # signals: live pages close with their credentials (logout, password, rights).
        from agents import pushes, signals  # noqa: F401
        from agents.presence import (
            agent_back_to_a_cut_off_call,
            agents_follow_call,
            agents_settle_again,
        )
        from agents.services.routing import (
            offer_again_when_declined,
            offer_queued_callers,
            offer_queued_callers_of_new_queues,
            offer_when_the_caller_waits_alone,
        )
        from calls.events import (
            AgentChanged,
            AgentQueuesChanged,
            CallChanged,
            CallEndRetold,
            CustomerCutOff,
            MemberChanged,
            listen,
        )

        listen(CallChanged, agents_follow_call)  # agents follow their calls, in the change
        # A late callback may retell how a call ended: its agents settle on it again.
        listen(CallEndRetold, agents_settle_again)
        # A customer cut off after their agent left: the agent is told, with time to call back.
        listen(CustomerCutOff, agent_back_to_a_cut_off_call)
        # No inbound caller is stranded, whichever of the decline and their join comes first.
        listen(MemberChanged, offer_again_when_declined)
        listen(MemberChanged, offer_when_the_caller_waits_alone)
        # A queue's callers reach the first of its agents to become free.
        listen(AgentChanged, offer_queued_callers)
        listen(AgentQueuesChanged, offer_queued_callers_of_new_queues)
        pushes.register()  # the desktop renders the core's events
