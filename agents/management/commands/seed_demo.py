"""Seed the demo contact center. Demo mode only: every password is `demo`."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agents.models import Agent
from calls.addresses import normalize_address
from calls.models import Customer, Queue

DEMO_PASSWORD = "demo"
# With --queues: one queue for every number, which every demo agent serves.
DEMO_QUEUE = {
    "name": "Support",
    "number": "+1 415 555 0000",
    "max_wait_seconds": 180,
    "at_max_wait": Queue.AtMaxWait.VOICEMAIL,
}
SUPERVISORS_GROUP = "Supervisors"

AGENTS = [
    # username, first name, last name, endpoint where the agent's (simulated) phone rings
    ("alice", "Alice", "Archer", "sip:alice@phones.demo"),
    ("bob", "Bob", "Baker", "sip:bob@phones.demo"),
    ("carol", "Carol", "Chen", "sip:carol@phones.demo"),
]
SUPERVISOR = ("sam", "Sam", "Supervisor", "sip:sam@phones.demo")

CUSTOMERS = [
    ("Dana Diaz", "+1 415 555 0101", "Gold plan. Prefers email follow-ups."),
    ("Eli Evans", "+1 415 555 0102", "Reported a billing issue last week."),
    ("Fatima Farouk", "+44 20 7946 0103", "Calls from London; mornings UTC are best."),
    ("Gus Garcia", "+1 415 555 0104", ""),
    ("Hana Hoshino", "+81 3 5555 0105", "Speaks Japanese and English."),
]


class Command(BaseCommand):
    help = "Create the demo agents (alice, bob, carol), supervisor (sam) and customers."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even when the PHLO simulator is off (real Plivo). Not recommended.",
        )
        parser.add_argument(
            "--queues",
            action="store_true",
            help="Also a Support queue (the default queue) that every demo agent serves, so a"
            " caller nobody is free for waits with music instead of hearing the no-agent"
            " message.",
        )

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if not settings.PHLO_SIMULATOR and not options["force"]:
            raise CommandError(
                "seed_demo creates users with the password 'demo'; it only runs in demo mode"
                " (PHLO_SIMULATOR=1). Use --force if you really mean it."
            )
        user_model = get_user_model()
        supervisors, _ = Group.objects.get_or_create(name=SUPERVISORS_GROUP)
        # Supervisors manage the whole domain in the admin and act on any call.
        supervisors.permissions.set(
            Permission.objects.filter(content_type__app_label__in=["agents", "calls"])
        )
        for username, first, last, endpoint in [*AGENTS, SUPERVISOR]:
            user, created = user_model.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
            if username == SUPERVISOR[0]:
                user.is_staff = True
                user.groups.add(supervisors)
            user.save()
            Agent.objects.update_or_create(
                user=user,
                defaults={"endpoint": normalize_address(endpoint)},
                create_defaults={
                    "endpoint": normalize_address(endpoint),
                    "status": Agent.Status.OFFLINE,
                },
            )
        if options["queues"]:
            queue, _ = Queue.objects.update_or_create(
                name=DEMO_QUEUE["name"],
                defaults=DEMO_QUEUE
                | {"number": normalize_address(DEMO_QUEUE["number"]), "is_default": True},
            )
            queue.agents.add(*Agent.objects.filter(user__username__in=[a[0] for a in AGENTS]))
        for name, phone, notes in CUSTOMERS:
            Customer.objects.get_or_create(
                phone=normalize_address(phone), defaults={"name": name, "notes": notes}
            )
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready: agents alice, bob, carol and supervisor sam"
                f" (password '{DEMO_PASSWORD}', demo mode only); {len(CUSTOMERS)} customers."
            )
        )
