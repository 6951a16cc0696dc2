"""The behaviour of a PHLO Multiparty Call node: its API, a person's phones, and the legs.

The rules are kept by family: when a call starts and ends (`lifecycle`), transfers
(`transfers`) and calls coming in (`inbound`); this module is their entry points, the legs
they dial and the lookups. All state lives here behind one lock. Actions validate, change
state and schedule what happens next (a phone answering, a ring timeout); they never wait
on the network. What happened is told to `listener` (the callbacks listen, and only queue
them for delivery): the engine knows nothing of vocabularies, HTTP or the pages.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from calls.simulator import modes as ph
from calls.simulator.clock import Clock
from calls.simulator.config import SimulatorConfig
from calls.simulator.errors import SimulatorError
from calls.simulator.inbound import InboundRules
from calls.simulator.lifecycle import LifecycleRules
from calls.simulator.model import (
    AGENT,
    BUSY,
    COLD,
    FAILED,
    HISTORY,
    INITIALIZED,
    MEMBER_ACTIONS,
    NO_ANSWER,
    NODE_ACTIONS,
    ON_HOLD,
    RINGING,
    ROLES,
    VOICEMAIL,
    WARM,
    Conference,
    InboundCall,
    Member,
    canonical,
)
from calls.simulator.model import who as _who
from calls.simulator.modes import PhoneModes
from calls.simulator.scheduler import Scheduler
from calls.simulator.transfers import TransferRules

# Listens to what happens: (event, conference, member or None, exit cause).
Listener = Callable[[str, Conference, Member | None, str], None]


def _text(body: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise SimulatorError(f"{key} is a mandatory param.")
        return ""
    if not isinstance(value, str):
        raise SimulatorError(f"Invalid value provided for {key}: it must be a string.")
    return value.strip()


def _role(body: Mapping[str, Any], *, required: bool) -> str:
    raw = body.get("role")
    if raw is None or raw == "":
        if required:
            raise SimulatorError("role is a mandatory param.")
        return AGENT
    if not isinstance(raw, str) or raw.strip().lower() not in ROLES:
        raise SimulatorError("Invalid value provided for role.")
    return raw.strip().lower()


class Engine(LifecycleRules, TransferRules, InboundRules):
    def __init__(
        self,
        *,
        config: SimulatorConfig,
        clock: Clock,
        scheduler: Scheduler,
        listener: Listener,
        route: Callable[[InboundCall], None],
        modes: PhoneModes | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.scheduler = scheduler
        self.modes = modes if modes is not None else PhoneModes()
        self.lock = threading.RLock()
        self._listener = listener
        self._route = route
        self._conferences: dict[str, Conference] = {}
        self._inbound: dict[str, InboundCall] = {}
        self._names = itertools.count(1)

    # --- the PHLO API --------------------------------------------------------------------

    def node_action(self, *, body: Mapping[str, Any]) -> None:
        """POST .../multi_party_call/{node_id}: call, warm_transfer or cold_transfer."""
        action = _text(body, "action")
        if action not in NODE_ACTIONS:
            raise SimulatorError(
                f"Invalid value provided for action: {action!r}."
                f" Use one of {', '.join(NODE_ACTIONS)}."
            )
        source = canonical(_text(body, "trigger_source"), field="trigger_source")
        target = canonical(_text(body, "to"), field="to")
        role = _role(body, required=action == "call")
        if source == target:
            raise SimulatorError("to and trigger_source must be different addresses.")
        with self.lock:
            if action == "call":
                self._call(source=source, target=target, role=role)
            else:
                kind = WARM if action == "warm_transfer" else COLD
                self._transfer(kind=kind, source=source, target=target, role=role)

    def member_action(self, *, address: str, body: Mapping[str, Any]) -> None:
        """POST .../members/{address}: hold, unhold, hangup, resume_call, abort_transfer,
        voicemail_drop."""
        action = _text(body, "action")
        if action not in MEMBER_ACTIONS:
            raise SimulatorError(
                f"Invalid value provided for action: {action!r}."
                f" Use one of {', '.join(MEMBER_ACTIONS)}."
            )
        key = canonical(address, field="member address")
        with self.lock:
            queued = self._find_queued(key) if self._find_live(key) is None else None
            if queued is not None:
                self._queued_action(queued, address=key, action=action)
                return
            conf, member = self._require_live(key)
            getattr(self, f"_member_{action}")(conf, member)

    def _queued_action(self, conf: Conference, *, address: str, action: str) -> None:
        """An action on a number that rings only once the agent answers: hanging it up
        cancels that dial; anything else has nobody to act on yet."""
        if action != "hangup":
            raise SimulatorError(
                f"{_who(address)} has not been dialled yet: it rings once the agent answers."
            )
        conf.queued = [(a, r) for a, r in conf.queued if a != address]
        self._take_out_the_lonely(conf)

    # --- a person's phone ----------------------------------------------------------------

    def phone_answer(self, *, address: str, call_uuid: str = "") -> None:
        with self.lock:
            conf, member = self._require_ringing(address, call_uuid)
            self._answer(conf, member, machine=False)

    def phone_reject(self, *, address: str, call_uuid: str = "") -> None:
        with self.lock:
            conf, member = self._require_ringing(address, call_uuid)
            self._finish(conf, member, BUSY)

    def phone_hangup(self, *, address: str, call_uuid: str = "") -> None:
        with self.lock:
            found = self._find_leg(address, call_uuid)
            if found is None:
                waiting = self._waiting_inbound(address, call_uuid)
                if waiting is None:
                    raise SimulatorError(f"{_who(address)} is not on a call.")
                self._end_inbound(waiting.call_uuid)
                return
            conf, member = found
            if member.state == RINGING:
                raise SimulatorError(f"{_who(address)} is ringing: answer or reject it.")
            self._leave(conf, member)

    # --- reading -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "now": self.clock.now(),
                "time": self.clock.utcnow().isoformat(),
                "phlo_id": self.config.phlo_id,
                "node_id": self.config.node_id,
                "conferences": [c.as_dict() for c in self._conferences.values()],
                "inbound": [c.as_dict() for c in self._inbound.values()],
                "modes": self.modes.modes(),
            }

    def live_member(self, address: str) -> dict[str, Any] | None:
        with self.lock:
            found = self._find_live(canonical(address))
            return found[1].as_dict() if found else None

    # --- node actions --------------------------------------------------------------------

    def _call(self, *, source: str, target: str, role: str) -> None:
        found = self._find_live(source)
        if found:
            # The trigger source is already on a call: add `to` to it (a supervisor barging in).
            conf, _ = found
            if conf.live_member(target):
                raise SimulatorError(f"{_who(target)} is already in this call.")
            self._check_room(conf)
            self._dial(conf, address=target, role=role)
            return
        # The agent's phone rings first; `to` rings once the agent is on the bridge.
        conf = self._new_conference(origin="call")
        self._dial(conf, address=source, role=AGENT)
        conf.queued.append((target, role))

    # --- member actions ------------------------------------------------------------------

    def _member_hold(self, conf: Conference, member: Member) -> None:
        if member.state == RINGING:
            raise SimulatorError(f"{_who(member.address)} is still ringing and cannot be held.")
        if member.state == ON_HOLD:
            raise SimulatorError(f"{_who(member.address)} is already on hold.")
        if member.state == VOICEMAIL:
            raise SimulatorError(
                f"{_who(member.address)} was answered by a voicemail machine;"
                " use voicemail_drop or hangup."
            )
        self._set_hold(conf, member, on_hold=True)

    def _member_unhold(self, conf: Conference, member: Member) -> None:
        if member.state != ON_HOLD:
            raise SimulatorError(f"{_who(member.address)} is not on hold.")
        self._set_hold(conf, member, on_hold=False)

    def _member_hangup(self, conf: Conference, member: Member) -> None:
        self._leave(conf, member)

    def _member_voicemail_drop(self, conf: Conference, member: Member) -> None:
        if member.state != VOICEMAIL:
            raise SimulatorError(f"{_who(member.address)} was not answered by a voicemail machine.")
        if member.playing_message:
            raise SimulatorError(
                f"The voicemail message is already playing to {_who(member.address)}."
            )
        member.playing_message = True
        member.tasks.append(
            self.scheduler.schedule(
                self.config.voicemail_drop_seconds,
                lambda: self._task_leave(conf.uuid, member.call_uuid),
                label="voicemail message played",
            )
        )

    # --- legs ----------------------------------------------------------------------------

    def _new_conference(self, *, origin: str) -> Conference:
        conf = Conference(
            uuid=str(uuid.uuid4()),
            name=f"{self.config.node_name}-{next(self._names)}",
            origin=origin,
            created_at=self.clock.now(),
        )
        self._conferences[conf.uuid] = conf
        self._prune()
        self._emit(INITIALIZED, conf)
        return conf

    def _check_room(self, conf: Conference) -> None:
        if len(conf.live_members()) >= self.config.max_members:
            raise SimulatorError(
                f"A multiparty call can have at most {self.config.max_members} members."
            )

    def _dial(self, conf: Conference, *, address: str, role: str) -> Member:
        member = Member(
            member_id=conf.new_member_id(),
            address=address,
            role=role,
            call_uuid=str(uuid.uuid4()),
            direction="outbound",
            caller=self.config.caller_id,
            callee=address,
            created_at=self.clock.now(),
            settings=self._settings_for(role),
        )
        conf.members.append(member)
        outcome, delay = self._ring_plan(self.modes.mode_of(address))
        member.tasks.append(
            self.scheduler.schedule(
                delay,
                lambda: self._task_ring_outcome(conf.uuid, member.call_uuid, outcome),
                label=f"{address} {outcome}",
            )
        )
        return member

    def _ring_plan(self, mode: str) -> tuple[str, float]:
        answer, timeout = self.config.answer_delay, self.config.ring_timeout
        plans = {
            ph.AUTO: ("answer", answer),
            ph.VOICEMAIL: ("machine", answer),
            ph.BUSY: (BUSY, answer),
            ph.FAIL: (FAILED, answer),
            ph.MANUAL: (NO_ANSWER, timeout),
            ph.NO_ANSWER: (NO_ANSWER, timeout),
            ph.MESSAGE_BOX: (ph.MESSAGE_BOX, answer),
            ph.VOICEMAIL_BOX: (ph.VOICEMAIL_BOX, answer),
        }
        outcome, delay = plans[mode]
        if delay >= timeout and outcome != NO_ANSWER:
            return NO_ANSWER, timeout
        return outcome, delay

    def _task_ring_outcome(self, conf_uuid: str, call_uuid: str, outcome: str) -> None:
        with self.lock:
            found = self._leg_by_uuid(conf_uuid, call_uuid)
            if not found or found[1].state != RINGING:
                return
            conf, member = found
            if outcome in ("answer", "machine"):
                self._answer(conf, member, machine=outcome == "machine")
            elif outcome in (ph.MESSAGE_BOX, ph.VOICEMAIL_BOX):
                self._answer_as_box(conf, member, box=outcome)
            else:
                self._finish(conf, member, outcome)

    def _answer_as_box(self, conf: Conference, member: Member, *, box: str) -> None:
        """A no-agent stand-in answers: it plays the message and hangs up, or records a
        voicemail until the caller hangs up (at most `voicemail_max_seconds`)."""
        message = box == ph.MESSAGE_BOX
        self._answer(conf, member, machine=False)
        member.box = "message" if message else "voicemail"
        member.playing_message = message
        seconds = (
            self.config.inbound_message_seconds if message else self.config.voicemail_max_seconds
        )
        member.tasks.append(
            self.scheduler.schedule(
                seconds,
                lambda: self._task_leave(conf.uuid, member.call_uuid),
                label=f"{member.box} ends",
            )
        )

    def _task_leave(self, conf_uuid: str, call_uuid: str) -> None:
        with self.lock:
            found = self._leg_by_uuid(conf_uuid, call_uuid)
            if found and found[1].live:
                self._leave(*found)

    # --- lookups -------------------------------------------------------------------------

    def _find_live(self, address: str) -> tuple[Conference, Member] | None:
        """The newest live conference with a live member at `address`."""
        for conf in reversed(self._conferences.values()):
            if conf.live and (member := conf.live_member(address)):
                return conf, member
        return None

    def _find_queued(self, address: str) -> Conference | None:
        """The newest live conference that will dial `address` once its agent answers."""
        for conf in reversed(self._conferences.values()):
            if conf.live and any(a == address for a, _ in conf.queued):
                return conf
        return None

    def _require_live(self, address: str) -> tuple[Conference, Member]:
        found = self._find_live(address)
        if found is None:
            raise SimulatorError(f"No member {_who(address)} is in a live call on this node.")
        return found

    def _find_leg(self, address: str, call_uuid: str) -> tuple[Conference, Member] | None:
        for conf in reversed(self._conferences.values()):
            for member in conf.members:
                if (
                    member.live
                    and member.address == address
                    and call_uuid in ("", member.call_uuid)
                ):
                    return conf, member
        return None

    def _require_ringing(self, address: str, call_uuid: str) -> tuple[Conference, Member]:
        """The oldest ringing leg for `address` (the one a person's phone shows first)."""
        for conf in self._conferences.values():
            for member in conf.members:
                ringing = member.state == RINGING and member.address == address
                if ringing and call_uuid in ("", member.call_uuid):
                    return conf, member
        raise SimulatorError(f"{_who(address)} is not ringing.")

    def _leg_by_uuid(self, conf_uuid: str, call_uuid: str) -> tuple[Conference, Member] | None:
        conf = self._conferences.get(conf_uuid)
        if conf is None:
            return None
        member = next((m for m in conf.members if m.call_uuid == call_uuid), None)
        return (conf, member) if member else None

    def _emit(
        self, kind: str, conf: Conference, member: Member | None = None, *, cause: str = ""
    ) -> None:
        self._listener(kind, conf, member, cause)

    def _prune(self) -> None:
        ended = [k for k, c in self._conferences.items() if not c.live]
        for key in ended[: max(0, len(ended) - HISTORY)]:
            del self._conferences[key]
        done = [k for k, c in self._inbound.items() if c.state in ("ended", "connected", "queued")]
        for key in done[: max(0, len(done) - HISTORY)]:
            del self._inbound[key]
