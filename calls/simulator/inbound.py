"""Customers calling in: the PHLO flow's Start (incoming call) and HTTP Request nodes.

The caller waits while the app's routing endpoint is asked which agent takes the call. An
agent: the caller enters a new multiparty call (waiting with music, as a customer does not
start the call) and the agent is dialled; the call starts when the agent enters. No agent:
the flow's other branch plays the no-agent message and hangs up, or takes a voicemail when
the routing answer says `"outcome": "voicemail"` (until the caller hangs up, at most
`voicemail_max_seconds`). Queued (`"result": "queue"`): the caller enters a multiparty call
with nobody else and hears its wait music until the app offers them to an agent (the
`call` trigger from their leg, as for any re-offer).

Mixed into `engine.Engine`.
"""

from __future__ import annotations

import uuid

from calls.simulator.errors import SimulatorError
from calls.simulator.model import AGENT, CUSTOMER, InboundCall, Member, canonical

MESSAGE = "message"
VOICEMAIL_OUTCOME = "voicemail"
QUEUE_OUTCOME = "queue"
# Inbound calls not in a multiparty call, hearing the flow's message or leaving a voicemail.
WAITING_STATES = ("routing", MESSAGE, VOICEMAIL_OUTCOME)


class InboundRules:
    def inbound_start(self, *, caller: str, callee: str) -> InboundCall:
        call = InboundCall(
            call_uuid=str(uuid.uuid4()),
            caller=canonical(caller, field="from"),
            callee=canonical(callee, field="to"),
            created_at=self.clock.now(),
        )
        if call.caller == call.callee:
            raise SimulatorError("from and to must be different addresses.")
        with self.lock:
            self._inbound[call.call_uuid] = call
            self._prune()
        self._route(call)
        return call

    def inbound_routed(
        self,
        *,
        call_uuid: str,
        agent_endpoint: str,
        reason: str = "",
        outcome: str = "",
        wait_music_url: str = "",
    ) -> None:
        """The routing answer arrived: connect to `agent_endpoint`, or ("" + reason) give the
        no-agent outcome: the message and a hang-up, or a voicemail, or (outcome "queue") put
        the caller on a call of their own with `wait_music_url` playing ("" for the default)."""
        with self.lock:
            call = self._inbound.get(call_uuid)
            if call is None or call.state != "routing":
                return  # the caller hung up while we waited
            if not agent_endpoint and outcome != QUEUE_OUTCOME:
                voicemail = outcome == VOICEMAIL_OUTCOME
                call.state = VOICEMAIL_OUTCOME if voicemail else MESSAGE
                call.reason = reason
                seconds = (
                    self.config.voicemail_max_seconds
                    if voicemail
                    else self.config.inbound_message_seconds
                )
                self.scheduler.schedule(
                    seconds,
                    lambda: self._end_inbound(call_uuid),
                    label=f"inbound {call.state} ends",
                )
                return
            conf = self._new_conference(origin="inbound")
            conf.wait_music_url = wait_music_url
            customer = Member(
                member_id=conf.new_member_id(),
                address=call.caller,
                role=CUSTOMER,
                call_uuid=call.call_uuid,
                direction="inbound",
                caller=call.caller,
                callee=call.callee,
                created_at=self.clock.now(),
                settings=self._settings_for(CUSTOMER),
            )
            conf.members.append(customer)
            call.state = "queued" if outcome == QUEUE_OUTCOME else "connected"
            call.agent_endpoint = agent_endpoint
            call.conference_uuid = conf.uuid
            self._answer(conf, customer, machine=False)  # waits with music for the agent
            if agent_endpoint:
                self._dial(conf, address=agent_endpoint, role=AGENT)

    def _end_inbound(self, call_uuid: str) -> None:
        with self.lock:
            call = self._inbound.get(call_uuid)
            if call and call.state in WAITING_STATES:
                call.state = "ended"

    def _waiting_inbound(self, address: str, call_uuid: str) -> InboundCall | None:
        for call in reversed(self._inbound.values()):
            waiting = call.state in WAITING_STATES and call.caller == address
            if waiting and call_uuid in ("", call.call_uuid):
                return call
        return None
