"""Warm and cold transfers: the PHLO Multiparty Call's transfer triggers.

- Warm: the customer is held (hold music) while the target rings and talks privately with
  the agent who started it; that agent then resumes (everyone together) or aborts (the target
  is dropped, the customer comes off hold).
- Cold: the customer is held while the target rings; when the target answers, the customer
  comes off hold talking to them and the first agent is disconnected.
- A target that fails or leaves ends the transfer with the customer back with the first
  agent; the first agent leaving a warm transfer leaves the customer with the target: at
  once if they have answered, else on hold until they do (as a cold transfer would).

Mixed into `engine.Engine`, which provides `_dial`, `_emit`, `_leave` and the lookups.
"""

from __future__ import annotations

from calls.simulator.errors import SimulatorError
from calls.simulator.model import (
    AGENT,
    COLD,
    CUSTOMER,
    HOLD,
    ON_HOLD,
    RINGING,
    TALKING,
    UNHOLD,
    WARM,
    Conference,
    Member,
    Transfer,
)
from calls.simulator.model import who as _who


class TransferRules:
    def _transfer(self, *, kind: str, source: str, target: str, role: str) -> None:
        found = self._find_live(source)
        if not found or found[1].role != AGENT or found[1].state != TALKING:
            raise SimulatorError(
                f"trigger_source {_who(source)} is not a talking agent in a live call on this node."
            )
        conf, agent = found
        if conf.transfer:
            raise SimulatorError(
                f"A {conf.transfer.kind} transfer is already in progress on this call."
            )
        if conf.live_member(target):
            raise SimulatorError(f"{_who(target)} is already in this call.")
        customers = [
            m for m in conf.members if m.role == CUSTOMER and m.state in (TALKING, ON_HOLD)
        ]
        if not customers:
            raise SimulatorError("There is no connected customer on this call to transfer.")
        self._check_room(conf)
        for customer in customers:
            if customer.state == TALKING:
                self._set_hold(conf, customer, on_hold=True)
        leg = self._dial(conf, address=target, role=role)
        conf.transfer = Transfer(kind, agent.member_id, leg.member_id, self.clock.now())

    def _member_resume_call(self, conf: Conference, member: Member) -> None:
        transfer = self._warm_transfer_started_by(conf, member)
        target = conf.member_by_id(transfer.to_member_id)
        if target is None or target.state != TALKING:
            raise SimulatorError(
                f"The transfer target {_who(target.address) if target else ''} has not answered"
                " yet; wait for it or abort the transfer."
            )
        conf.transfer = None
        self._customers_off_hold(conf)

    def _member_abort_transfer(self, conf: Conference, member: Member) -> None:
        transfer = self._warm_transfer_started_by(conf, member)
        conf.transfer = None
        target = conf.member_by_id(transfer.to_member_id)
        if target and target.live:
            self._leave(conf, target)
        self._customers_off_hold(conf)

    def _warm_transfer_started_by(self, conf: Conference, member: Member) -> Transfer:
        transfer = conf.transfer
        if transfer is None or transfer.kind != WARM:
            raise SimulatorError("There is no warm transfer in progress on this call.")
        if transfer.from_member_id != member.member_id:
            starter = conf.member_by_id(transfer.from_member_id)
            raise SimulatorError(
                "Only the agent who started the warm transfer"
                f" ({_who(starter.address) if starter else 'unknown'}) can resume or abort it."
            )
        return transfer

    def _set_hold(self, conf: Conference, member: Member, *, on_hold: bool) -> None:
        member.state = ON_HOLD if on_hold else TALKING
        self._emit(HOLD if on_hold else UNHOLD, conf, member)

    def _customers_off_hold(self, conf: Conference) -> None:
        for member in conf.members:
            if member.role == CUSTOMER and member.state == ON_HOLD:
                self._set_hold(conf, member, on_hold=False)

    # --- hooks of the lifecycle (lifecycle.LifecycleRules) ---------------------------------

    def _after_answer_transfer(self, conf: Conference, member: Member) -> None:
        transfer = conf.transfer
        if not transfer or transfer.to_member_id != member.member_id:
            return
        source = conf.member_by_id(transfer.from_member_id)
        if transfer.kind == COLD:
            # Cold transfer done: the customers talk to the target, the first agent is dropped.
            conf.transfer = None
            self._customers_off_hold(conf)
            if source and source.live:
                self._leave(conf, source)
        elif source is None or not source.live:
            # A warm transfer whose first agent left while the target rang: done now.
            conf.transfer = None
            self._customers_off_hold(conf)

    def _after_gone_transfer(self, conf: Conference, member: Member) -> None:
        transfer = conf.transfer
        if not transfer:
            return
        if transfer.kind == WARM and transfer.from_member_id == member.member_id:
            target = conf.member_by_id(transfer.to_member_id)
            if target and target.state == RINGING:
                return  # the customers stay on hold until the target answers, or not
        elif transfer.to_member_id != member.member_id:
            return
        # A failed target ends the transfer; so does the first agent leaving a warm transfer
        # the target has answered (the customers then talk to the target).
        conf.transfer = None
        self._customers_off_hold(conf)
