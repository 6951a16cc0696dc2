"""Customers, multiparty calls, their members, and the audit trail of each call.

The audit trail has two halves: every callback the provider sent (`CallbackEvent`) and every
action we sent to PHLO (`Action`). Together, ordered by time, they are a call's timeline.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from calls.addresses import display_address


class Customer(models.Model):
    name = models.CharField(max_length=200)
    # Canonical form from calls.addresses, so "+1 415-555-0100" and "14155550100" collide.
    phone = models.CharField(max_length=64, unique=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=~Q(phone=""), name="customer_phone_set")]

    def __str__(self) -> str:
        return f"{self.name} ({display_address(self.phone)})"


# Call.Status, Member.Role and Member.State live at module level so that the models' Meta can
# name them in check constraints (a class body cannot see its enclosing class's names).
class CallStatus(models.TextChoices):
    DIALLING = "dialling", "Dialling"
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class MemberRole(models.TextChoices):
    AGENT = "agent", "Agent"
    CUSTOMER = "customer", "Customer"
    SUPERVISOR = "supervisor", "Supervisor"
    # A caller nobody could take is put through to the no-agent message or voicemail.
    NO_AGENT = "no_agent", "Voicemail or message"


class MemberState(models.TextChoices):
    # Rings only once the agent is on the call (a `call` rings the agent first).
    PENDING = "pending", "Not dialled yet"
    DIALLING = "dialling", "Ringing"
    # On the call before any agent: hears wait music until an agent enters.
    WAITING = "waiting", "Waiting"
    TALKING = "talking", "Talking"
    ON_HOLD = "on_hold", "On hold"
    LEFT = "left", "Left"
    BUSY = "busy", "Busy"
    NO_ANSWER = "no_answer", "No answer"
    VOICEMAIL = "voicemail", "Voicemail"
    FAILED = "failed", "Failed"


# Member.LIVE_STATES: a leg still on the call or on its way there.
LIVE_MEMBER_STATES = (
    MemberState.PENDING,
    MemberState.DIALLING,
    MemberState.WAITING,
    MemberState.TALKING,
    MemberState.ON_HOLD,
    MemberState.VOICEMAIL,
)


class CallQuerySet(models.QuerySet):
    def live(self) -> CallQuerySet:
        """Calls in progress: dialling or active."""
        return self.filter(status__in=Call.LIVE_STATUSES)


def arrival_order(member: Member) -> tuple:
    """A member's place in its call: who came first (as `Member.Meta.ordering`)."""
    return (member.created_at, member.pk)


class MemberQuerySet(models.QuerySet):
    def in_arrival_order(self) -> list[Member]:
        """The members in arrival order, sorted here rather than by ORDER BY. Django 5.2
        compiles an ORDER BY by hashing every selected column (`_order_by_pairs`), which
        cost 1-2 ms per query on the button and callback paths; a call has a handful of
        members. Rows already fetched (a prefetch) are sorted without another query."""
        rows = self if self._result_cache is not None else self.order_by()
        return sorted(rows, key=arrival_order)

    def live_legs(self) -> MemberQuerySet:
        """Legs still on (or ringing into) a call in progress: what "an agent is on a live
        call" means everywhere, whatever the agent's status says."""
        # "Not ended" rather than "in progress" (the same, statuses being checked): its call is
        # then found by its key. A burst's live rows are newer than PostgreSQL's statistics,
        # and "in progress" had the planner scan every live call for each live leg.
        return self.filter(state__in=Member.LIVE_STATES).exclude(
            call__status__in=Call.ENDED_STATUSES
        )


# A queue's waits are bounded so that the routing's time arithmetic always holds; a day is
# longer than any caller waits.
LONGEST_WAIT = 86_400
_LONGEST_WAIT_MESSAGE = "At most 86,400 seconds (24 hours)."


class Queue(models.Model):
    """Where inbound callers wait, with music, for the next free agent of the queue. Callers
    reach the queue that serves the number they dialled, else the default queue; with no
    queue at all, a caller nobody is free for gets the no-agent outcome at once."""

    class AtMaxWait(models.TextChoices):
        VOICEMAIL = "voicemail", "Voicemail"
        MESSAGE = "message", "A message, then hang up"

    name = models.CharField(max_length=80, unique=True)
    number = models.CharField(
        max_length=255,
        blank=True,
        help_text="The number callers dial to reach this queue (blank: none of its own).",
    )
    is_default = models.BooleanField(
        default=False, help_text="Also takes callers of numbers that no queue serves."
    )
    wait_music_url = models.URLField(
        blank=True, help_text="What callers hear while they wait (blank: the flow's own)."
    )
    max_wait_seconds = models.PositiveIntegerField(
        default=300,
        validators=[MaxValueValidator(LONGEST_WAIT, message=_LONGEST_WAIT_MESSAGE)],
        help_text=(
            "The longest a caller waits before the exit below (at most 86,400: 24 hours; 0:"
            " callers nobody is free for take the exit at once). A call ringing for an agent"
            " at that moment rings on; if it is not answered, the caller goes to an agent free"
            " then, else takes the exit."
        ),
    )
    at_max_wait = models.CharField(
        max_length=16, choices=AtMaxWait.choices, default=AtMaxWait.VOICEMAIL
    )
    service_level_seconds = models.PositiveIntegerField(
        default=20,
        validators=[
            MinValueValidator(
                1,
                message="At 0 seconds every caller would count as missed: use 1 or more.",
            ),
            MaxValueValidator(LONGEST_WAIT, message=_LONGEST_WAIT_MESSAGE),
        ],
        help_text="A caller answered within this many seconds counts as served.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~Q(number=""), name="queue_number_unique"
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="queue_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Call(models.Model):
    """One PHLO multiparty call (one conference)."""

    Status = CallStatus

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class TransferKind(models.TextChoices):
        NONE = "", "None"
        WARM = "warm", "Warm"
        COLD = "cold", "Cold"

    class Outcome(models.TextChoices):
        """How a call that has ended ended, as people say it (`calls.outcomes`)."""

        CUSTOMER_HUNG_UP = "customer_hung_up", "Customer hung up"
        # An agent or a supervisor hung up (from a desktop, the wallboard or a handset).
        AGENT_HUNG_UP = "agent_hung_up", "Ended on our side"
        # A cold transfer handed the customer to a number outside the contact center, and
        # that party ended the call.
        OUTSIDE_HUNG_UP = "outside_hung_up", "Outside number hung up"
        # Our side had handed the customer on and left (a cold transfer, or a warm one left
        # while it rang); the ring was not taken, and the provider ended the call with the
        # customer alone on it.
        TRANSFER_NOT_TAKEN = "transfer_not_taken", "Cut off, transfer not taken"
        # A voicemail machine answered: a message was dropped on it, or it was hung up on.
        VOICEMAIL_LEFT = "voicemail_left", "Voicemail, message left"
        VOICEMAIL = "voicemail", "Voicemail, no message"
        BUSY = "busy", "Busy"
        NO_ANSWER = "no_answer", "No answer"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        AGENT_UNREACHABLE = "agent_unreachable", "Agent's phone did not answer"
        ABANDONED = "abandoned", "Abandoned"
        NO_AGENT = "no_agent", "No agent"
        # An inbound caller whose call was ended from a desktop or the wallboard before any
        # agent answered (a supervisor took them out of the queue).
        ENDED_WHILE_WAITING = "ended_waiting", "Ended while waiting"
        ENDED = "ended", "Ended"

    LIVE_STATUSES = (Status.DIALLING, Status.ACTIVE)
    ENDED_STATUSES = (Status.COMPLETED, Status.FAILED)
    # Outcomes where the other party was never reached: nothing to wrap up, only to see.
    REACHED_NOBODY = (
        Outcome.BUSY,
        Outcome.NO_ANSWER,
        Outcome.FAILED,
        Outcome.CANCELLED,
        Outcome.AGENT_UNREACHABLE,
        Outcome.ABANDONED,
        Outcome.NO_AGENT,
        Outcome.ENDED_WHILE_WAITING,
    )

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DIALLING)
    # Set when the call ends, and refined if a late callback tells more (never while live).
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    direction = models.CharField(
        max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    conference_name = models.CharField(max_length=200, blank=True)
    # The provider's conference uuid, learnt from the first callback that names it.
    conference_uuid = models.CharField(max_length=64, blank=True)
    owner = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_calls"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    transfer_kind = models.CharField(
        max_length=4, choices=TransferKind.choices, default=TransferKind.NONE, blank=True
    )
    transfer_from = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transfer_to_address = models.CharField(max_length=255, blank=True)
    transfer_to_agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    transfer_started_at = models.DateTimeField(null=True, blank=True)

    # The action in flight on this call. Set with a conditional UPDATE so that two users
    # acting at once cannot both proceed; cleared when the action's outcome is known.
    pending_action = models.ForeignKey(
        "Action", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Bumped on every change, so a client can tell a stale push from a fresh one.
    version = models.PositiveIntegerField(default=0)

    disposition = models.CharField(max_length=64, blank=True)
    wrap_up_notes = models.TextField(blank=True)

    # An inbound call's queue, and how long its caller waited: until an agent answered, or
    # until the call ended unanswered (the queue's figures are summed from these).
    queue = models.ForeignKey(
        Queue, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    waited_seconds = models.PositiveIntegerField(null=True, blank=True)  # as people see it
    # The same in milliseconds, for the figures: in whole seconds a caller answered after
    # 20.4 s counted as answered within a 20 s service level.
    waited_ms = models.PositiveIntegerField(null=True, blank=True, editable=False)

    objects = CallQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [("supervise", "Can supervise calls: act on any call, see the wallboard")]
        indexes = [
            models.Index(fields=["status", "created_at"], name="call_status_created_idx"),
            models.Index(fields=["owner", "status"], name="call_owner_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["conference_uuid"],
                condition=~Q(conference_uuid=""),
                name="call_conference_uuid_unique",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CallStatus.values),
                name="call_status_valid",
            ),
            # A transfer is either fully described or absent.
            models.CheckConstraint(
                condition=(
                    Q(transfer_kind="", transfer_to_address="", transfer_started_at__isnull=True)
                    | (
                        Q(transfer_kind__in=["warm", "cold"])
                        & ~Q(transfer_to_address="")
                        & Q(transfer_started_at__isnull=False)
                    )
                ),
                name="call_transfer_consistent",
            ),
        ]

    def __str__(self) -> str:
        # As the admin's list reads it: "live" (its phase needs the members), else how it
        # ended; the stored status alone contradicts that ("Failed" for an abandoned call).
        if self.is_live:
            return f"Call #{self.pk} (live)"
        how = self.get_outcome_display() if self.outcome else self.get_status_display()
        return f"Call #{self.pk} ({how})"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES

    @property
    def reached_nobody(self) -> bool:
        """An ended call that never reached the other party (busy, no answer, abandoned...)."""
        return self.outcome in self.REACHED_NOBODY

    @property
    def taken_by_no_agent(self) -> bool:
        """An inbound call that ended before any agent took it: the caller hung up, was
        given the no-agent message or the queue's exit, or was ended while waiting. Its
        owner, if any, is only the agent it was last offered to."""
        return self.direction == self.Direction.INBOUND and self.outcome in (
            self.Outcome.ABANDONED,
            self.Outcome.NO_AGENT,
            self.Outcome.ENDED_WHILE_WAITING,
        )


class Member(models.Model):
    """One leg of a multiparty call: an agent, a customer or a supervisor."""

    Role = MemberRole

    State = MemberState

    class EndCause(models.TextChoices):
        """Why a leg ended, when its state alone does not say (a "left" leg)."""

        NONE = "", "—"
        HUNG_UP = "hung_up", "Hung up from the desktop"
        DECLINED = "declined", "Declined"
        FAR_END = "far_end", "Hung up"
        TAKEN_OUT = "taken_out", "Taken out as the call ended"
        NOT_DIALLED = "not_dialled", "Never dialled"
        TRANSFERRED = "transferred", "Handed over by a cold transfer"
        VOICEMAIL_DROPPED = "voicemail_dropped", "Voicemail message left"

    LIVE_STATES = LIVE_MEMBER_STATES
    # On the bridge: answered and not gone.
    ON_CALL_STATES = (State.WAITING, State.TALKING, State.ON_HOLD, State.VOICEMAIL)
    # Terminal: no later callback can bring the member back.
    TERMINAL_STATES = (State.LEFT, State.BUSY, State.NO_ANSWER, State.FAILED)

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="members")
    address = models.CharField(max_length=255)
    role = models.CharField(max_length=16, choices=Role.choices)
    agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="legs"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="legs"
    )
    member_id = models.CharField(max_length=64, blank=True)
    call_uuid = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DIALLING)
    end_cause = models.CharField(max_length=20, choices=EndCause.choices, blank=True)
    is_machine = models.BooleanField(default=False)

    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    hold_started_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    # The provider's own timestamp of the newest event applied, to drop older ones.
    last_event_at = models.DateTimeField(null=True, blank=True)
    # The provider's order (Multiparty Call SequenceNumber, per conference): of the newest
    # event applied to this leg, and of its leaving the bridge, even when that arrived after
    # we had taken the leg out. Who left first decides how the call ended.
    last_sequence = models.PositiveBigIntegerField(null=True, blank=True)
    exit_sequence = models.PositiveBigIntegerField(null=True, blank=True)

    objects = MemberQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["call", "state"], name="member_call_state_idx"),
            # Is this address live in another call? (calls.services.addressing)
            models.Index(
                fields=["address"],
                condition=Q(state__in=list(LIVE_MEMBER_STATES)),
                name="member_live_address_idx",
            ),
        ]
        constraints = [
            # One live leg per address in a call: a second dial of the same address waits
            # until the first has gone.
            models.UniqueConstraint(
                fields=["call", "address"],
                condition=Q(state__in=list(LIVE_MEMBER_STATES)),
                name="member_one_live_leg_per_address",
            ),
            models.UniqueConstraint(
                fields=["call_uuid"], condition=~Q(call_uuid=""), name="member_call_uuid_unique"
            ),
            models.CheckConstraint(
                condition=Q(role__in=MemberRole.values),
                name="member_role_valid",
            ),
            models.CheckConstraint(
                condition=Q(state__in=MemberState.values),
                name="member_state_valid",
            ),
        ]

    def __str__(self) -> str:
        who = display_address(self.address)
        return f"{self.get_role_display()} {who} ({self.get_state_display()})"

    @property
    def is_live(self) -> bool:
        return self.state in self.LIVE_STATES

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL_STATES

    @property
    def is_on_call(self) -> bool:
        """On the bridge (answered and not gone), not merely ringing or queued."""
        return self.state in self.ON_CALL_STATES


class CallbackEvent(models.Model):
    """A callback exactly as the provider sent it, stored before it is applied."""

    class Vocabulary(models.TextChoices):
        PHLO = "phlo", "PHLO node variables"
        MPC = "mpc", "Multiparty Call status"
        UNKNOWN = "unknown", "Unknown"

    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored"
        UNMATCHED = "unmatched", "No matching call"
        FAILED = "failed", "Failed"

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    # sha256 of the canonical parameters: a redelivery has the same key and no second effect.
    dedupe_key = models.CharField(max_length=64, unique=True)
    vocabulary = models.CharField(max_length=8, choices=Vocabulary.choices)
    event = models.CharField(max_length=64, blank=True)
    params = models.JSONField()
    content_type = models.CharField(max_length=100, blank=True)
    # The provider's SequenceNumber (Multiparty Call callbacks; none in PHLO's vocabulary).
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks"
    )
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="callbacks"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED)
    note = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    deliveries = models.PositiveIntegerField(default=1)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["received_at", "pk"]
        indexes = [models.Index(fields=["call", "received_at"], name="callback_call_time_idx")]

    def __str__(self) -> str:
        return f"{self.event or 'callback'} at {self.received_at:%H:%M:%S} ({self.outcome})"


class Action(models.Model):
    """A request we sent to PHLO on someone's behalf, with its outcome."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        HOLD = "hold", "Hold"
        UNHOLD = "unhold", "Unhold"
        WARM_TRANSFER = "warm_transfer", "Warm transfer"
        RESUME_CALL = "resume_call", "Resume call"
        ABORT_TRANSFER = "abort_transfer", "Abort transfer"
        COLD_TRANSFER = "cold_transfer", "Cold transfer"
        HANGUP = "hangup", "Hang up"
        VOICEMAIL_DROP = "voicemail_drop", "Voicemail drop"

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    call = models.ForeignKey(
        Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target = models.CharField(max_length=255, blank=True)
    # What was sent: method, path and JSON body. Never credentials.
    request = models.JSONField(default=dict)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    api_id = models.CharField(max_length=64, blank=True)
    error_kind = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["call", "created_at"], name="action_call_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.outcome})"


class CallTransfer(models.Model):
    """One warm or cold transfer started on a call, and how it ended: what "transfers today"
    counts (completed ones), apart from consults that were aborted or failed."""

    class Outcome(models.TextChoices):
        IN_PROGRESS = "", "In progress"
        COMPLETED = "completed", "Completed"
        ABORTED = "aborted", "Aborted"
        FAILED = "failed", "Failed"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transfers")
    kind = models.CharField(max_length=4, choices=Call.TransferKind.choices[1:])
    from_agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_address = models.CharField(max_length=255)
    to_agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        indexes = [models.Index(fields=["started_at", "outcome"], name="transfer_time_outcome_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} transfer ({self.get_outcome_display().lower()})"


class WrapUp(models.Model):
    """What an agent owes after their part of a call: a disposition, when they handled the
    customer conversation (`disposition_required`), else only the call's outcome to see and
    dismiss. Created by the call's rules when the agent's part ends (`calls.state`): one
    per part, so a call that came back to an agent keeps the disposition of their earlier
    part; at most one pending per agent and call."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="wrap_ups")
    agent = models.ForeignKey("agents.Agent", on_delete=models.CASCADE, related_name="wrap_ups")
    disposition_required = models.BooleanField(default=True)
    disposition = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["call", "agent"],
                condition=Q(done_at__isnull=True),
                name="wrap_up_one_pending_per_agent_call",
            )
        ]
        indexes = [models.Index(fields=["agent", "done_at"], name="wrap_up_agent_pending_idx")]

    def __str__(self) -> str:
        return f"Wrap-up of call #{self.call_id} for agent #{self.agent_id}"

    @property
    def is_pending(self) -> bool:
        return self.done_at is None
