"""When a multiparty call starts, who is on the bridge, and when it ends.

Plivo's Multiparty Call decides this per participant (see docs/simulator.md, "Call
lifecycle", and `config.ParticipantSettings`); PHLO's usual node sets agents to start the call
on enter and the customer to end it on exit, and nobody stays alone:

- A participant who answers before the call has started waits on the bridge hearing wait
  music; the call starts when one whose `start_on_enter` holds (an agent) enters.
- A `call` rings the agent first; the number they called rings only once the agent is on
  the bridge (`Conference.queued`).
- A participant whose `end_on_exit` holds (the customer) leaving ends the call: everyone
  else is taken out (ringing legs are cancelled).
- Once started, a participant left alone on the bridge, with nobody else ringing, is taken
  out unless their `stay_alone` holds, and the call ends.

Mixed into `engine.Engine`, which provides the clock, the scheduler, `_emit` and `_dial`.
"""

from __future__ import annotations

from calls.simulator.config import ParticipantSettings
from calls.simulator.model import (
    CANCELED,
    COMPLETED,
    CUSTOMER,
    END,
    EXIT,
    GONE,
    JOIN,
    RINGING,
    START,
    TALKING,
    VOICEMAIL,
    Conference,
    Member,
)


class LifecycleRules:
    def _settings_for(self, role: str) -> ParticipantSettings:
        return self.config.customer if role == CUSTOMER else self.config.agent

    # --- entering ------------------------------------------------------------------------

    def _answer(self, conf: Conference, member: Member, *, machine: bool) -> None:
        member.cancel_tasks()
        member.state = VOICEMAIL if machine else TALKING
        member.is_machine = machine
        member.answered_at = self.clock.now()
        starts = not conf.started and member.settings.start_on_enter and not machine
        if starts:
            conf.started = True
            self._emit(START, conf)
        self._emit(JOIN, conf, member)
        self._after_answer_transfer(conf, member)
        if conf.started and conf.queued:
            # The agent is on the bridge: now ring the number they called.
            queued, conf.queued = conf.queued, []
            for address, role in queued:
                self._dial(conf, address=address, role=role)
        if conf.started and conf.live:
            self._take_out_the_lonely(conf)  # e.g. the number was hung up before it rang

    # --- leaving -------------------------------------------------------------------------

    def _mark_gone(self, conf: Conference, member: Member, cause: str) -> None:
        member.cancel_tasks()
        member.state = GONE
        member.exit_cause = cause
        member.playing_message = False
        member.ended_at = self.clock.now()
        self._emit(EXIT, conf, member, cause=cause)

    def _finish(self, conf: Conference, member: Member, cause: str) -> None:
        """A dial that was never answered ends: busy, no-answer, failed or canceled."""
        self._mark_gone(conf, member, cause)
        self._after_gone(conf, member)

    def _leave(self, conf: Conference, member: Member) -> None:
        """A member leaves; a ringing one is cancelled."""
        if member.state == RINGING:
            self._finish(conf, member, CANCELED)
            return
        self._mark_gone(conf, member, COMPLETED)
        self._after_gone(conf, member)

    def _after_gone(self, conf: Conference, member: Member) -> None:
        self._after_gone_transfer(conf, member)
        if not conf.live:
            return
        if member.settings.end_on_exit and member.answered_at is not None:
            self._end(conf)  # the customer has gone: the call is over for everyone
            return
        self._take_out_the_lonely(conf)

    def _take_out_the_lonely(self, conf: Conference) -> None:
        live = conf.live_members()
        ringing = [m for m in live if m.state == RINGING]
        answered = [m for m in live if m.answered]
        if not live and not conf.queued:
            self._end(conf)
        elif not conf.started:
            if not answered and not ringing:
                self._end(conf)  # the agent never came: the queued number is never rung
            # Else someone waits with music for an agent to enter (an inbound caller
            # between two offers): the call has not started, so nobody is alone yet.
        elif not answered:
            self._end(conf)  # everyone who answered has gone: stop ringing the rest
        elif len(answered) == 1 and not ringing and not answered[0].settings.stay_alone:
            self._end(conf)  # alone on the bridge, nobody on the way

    def _end(self, conf: Conference) -> None:
        """The call ends: everyone still on it is taken out, ringing legs cancelled."""
        for member in conf.live_members():
            self._mark_gone(conf, member, CANCELED if member.state == RINGING else COMPLETED)
        conf.queued = []
        conf.status = "completed"
        conf.ended_at = self.clock.now()
        conf.transfer = None
        self._emit(END, conf)
