from django.conf import settings
from django.db import models
from django.utils import timezone


# Agent.Status, at module level so that Agent.Meta can name it in a check constraint.
class AgentStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    AWAY = "away", "Away"
    ON_CALL = "on_call", "On a call"
    WRAP_UP = "wrap_up", "Wrap-up"
    OFFLINE = "offline", "Offline"


class Agent(models.Model):
    """A person who takes calls, linked to a Django user."""

    Status = AgentStatus

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent"
    )
    # Where this agent takes calls: a phone number or SIP URI, in calls.addresses' canonical form.
    endpoint = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OFFLINE)
    status_reason = models.CharField(max_length=120, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    wrap_up_until = models.DateTimeField(null=True, blank=True)
    # What the agent asked for while busy ("Away after this call"), applied when the call and
    # its wrap-up are over. Blank: back to Available.
    next_status = models.CharField(
        max_length=16,
        blank=True,
        choices=[(Status.AWAY, "Away"), (Status.OFFLINE, "Offline")],
    )
    next_status_reason = models.CharField(max_length=120, blank=True)
    # The queues whose callers this agent is offered (skills routing at its simplest).
    queues = models.ManyToManyField("calls.Queue", blank=True, related_name="agents")

    class Meta:
        ordering = ["user__username"]
        indexes = [models.Index(fields=["status", "status_changed_at"], name="agent_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AgentStatus.values),
                name="agent_status_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(endpoint=""), name="agent_endpoint_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()
