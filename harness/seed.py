"""Prepare and fill a cluster's database; run by `harness.cluster` in a child process.

    python -m harness.seed prepare migrate collectstatic
    python -m harness.seed people < {"agents": [{"username", "password", "endpoint"}],
                                   "customers": [{"name", "phone"}],
                                   "queues": [{"name", "number", "agents": [username]}]}
    python -m harness.seed load   < {"agents": 1000, "idle_agents": 0, "supervisor": true}
    python -m harness.seed history < {"calls": 5000, "hours": 8}
    python -m harness.seed wipe-calls < {}

`people` makes real accounts that log in through the login form (the tests). `load` makes
many agents, each on one live call with a customer, plus signed-in sessions, in bulk (the
benchmark: logging 5,000 agents in through the form would measure password hashing).
Every command prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import uuid
from datetime import timedelta


def _setup() -> None:
    import django

    django.setup()


def prepare(steps: list[str]) -> dict:
    from django.core.management import call_command

    if "migrate" in steps:
        call_command("migrate", verbosity=0, interactive=False)
    if "collectstatic" in steps:
        call_command("collectstatic", verbosity=0, interactive=False)
    return {"done": steps}


def people(spec: dict) -> dict:
    from django.contrib.auth import get_user_model

    from agents.models import Agent
    from calls.addresses import normalize_address
    from calls.models import Customer

    user_model = get_user_model()
    agents = {}
    for item in spec.get("agents", []):
        user = user_model.objects.create_user(username=item["username"], password=item["password"])
        agent = Agent.objects.create(
            user=user,
            endpoint=normalize_address(item["endpoint"]),
            status=item.get("status", Agent.Status.AVAILABLE),
        )
        agents[item["username"]] = agent.pk
    customers = {}
    for item in spec.get("customers", []):
        customer = Customer.objects.create(
            name=item["name"], phone=normalize_address(item["phone"]), notes=item.get("notes", "")
        )
        customers[item["phone"]] = customer.pk
    queues = {}
    for item in spec.get("queues", []):
        from calls.models import Queue

        queue = Queue.objects.create(name=item["name"], number=normalize_address(item["number"]))
        queue.agents.set([agents[u] for u in item.get("agents", [])])
        queues[item["name"]] = queue.pk
    return {"agents": agents, "customers": customers, "queues": queues}


def _session_data(user) -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    return SessionStore().encode(
        {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
    )


def load(spec: dict) -> dict:
    """`agents` agents each talking to a customer on a live call; `idle_agents` more agents
    with no call (status `away`, so they are not transfer targets); a session per agent."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, Permission
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from agents.models import Agent
    from calls.models import Call, Customer, Member

    on_call = int(spec.get("agents", 0))
    idle = int(spec.get("idle_agents", 0))
    tag = spec.get("tag") or uuid.uuid4().hex[:6]
    now = timezone.now()
    user_model = get_user_model()
    unusable = make_password(None)
    with transaction.atomic():
        users = user_model.objects.bulk_create(
            [
                user_model(username=f"b{tag}-{i}", password=unusable, first_name=f"Agent {i}")
                for i in range(on_call + idle)
            ]
        )
        agents = Agent.objects.bulk_create(
            [
                Agent(
                    user=user,
                    endpoint=f"sip:{user.username}@bench.test",
                    status=Agent.Status.ON_CALL if i < on_call else Agent.Status.AWAY,
                    status_reason="" if i < on_call else "Break",
                    status_changed_at=now,
                )
                for i, user in enumerate(users)
            ]
        )
        customers = Customer.objects.bulk_create(
            [
                Customer(name=f"Customer {tag} {i}", phone=f"1999{int(tag, 16) % 10**4:04d}{i:06d}")
                for i in range(on_call)
            ]
        )
        calls = Call.objects.bulk_create(
            [
                Call(
                    status=Call.Status.ACTIVE,
                    owner=agents[i],
                    customer=customers[i],
                    conference_uuid=str(uuid.uuid4()),
                    conference_name=f"bench-{tag}-{i}",
                    answered_at=now,
                    created_at=now,
                    version=1,
                )
                for i in range(on_call)
            ]
        )
        members = []
        for i, call in enumerate(calls):
            for role, address, agent, customer in (
                (Member.Role.AGENT, agents[i].endpoint, agents[i], None),
                (Member.Role.CUSTOMER, customers[i].phone, None, customers[i]),
            ):
                members.append(
                    Member(
                        call=call,
                        address=address,
                        role=role,
                        agent=agent,
                        customer=customer,
                        call_uuid=str(uuid.uuid4()),
                        member_id=str(len(members) + 1),
                        state=Member.State.TALKING,
                        answered_at=now,
                        created_at=now,
                        state_changed_at=now,
                    )
                )
        Member.objects.bulk_create(members)
        expire = now + timedelta(days=1)
        sessions = [
            Session(
                session_key=get_random_string(32), session_data=_session_data(u), expire_date=expire
            )
            for u in users
        ]
        Session.objects.bulk_create(sessions)
        supervisor = None
        if spec.get("supervisor"):
            boss = user_model.objects.create(
                username=f"b{tag}-supervisor", password=unusable, is_staff=True
            )
            group, _ = Group.objects.get_or_create(name="Supervisors")
            group.permissions.add(
                Permission.objects.get(codename="supervise", content_type__app_label="calls")
            )
            boss.groups.add(group)
            key = get_random_string(32)
            Session.objects.create(
                session_key=key, session_data=_session_data(boss), expire_date=expire
            )
            supervisor = {"user_id": boss.pk, "session_key": key}
    _analyze("agents_agent", "calls_customer", "calls_call", "calls_member", "django_session")
    by_call = {m.call_id: m for m in members if m.role == Member.Role.CUSTOMER}
    rows = []
    for i, agent in enumerate(agents):
        row = {"agent_id": agent.pk, "session_key": sessions[i].session_key}
        if i < on_call:
            leg = by_call[calls[i].pk]
            row |= {
                "call_id": calls[i].pk,
                "conference_uuid": calls[i].conference_uuid,
                "conference_name": calls[i].conference_name,
                "customer_member_id": leg.pk,
                "customer_call_uuid": leg.call_uuid,
                "customer_phone": leg.address,
                "provider_member_id": leg.member_id,
            }
        rows.append(row)
    return {"agents": rows, "supervisor": supervisor}


def history(spec: dict) -> dict:
    """`calls` ended inbound calls spread over the last `hours` hours, each a caller and an
    agent who talked, with the callers as customers: the day behind a contact center's
    database, whose statistics PostgreSQL's planner works from (analyzed, as autovacuum
    keeps them). On an empty, unanalyzed database the planner takes a few rows for the whole
    table, and a burst of callers is planned as scans of every leg."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from agents.models import Agent
    from calls.models import Call, Customer, Member

    count = int(spec.get("calls", 0))
    hours = float(spec.get("hours", 8))
    tag = spec.get("tag") or uuid.uuid4().hex[:6]
    now = timezone.now()
    with transaction.atomic():
        user = get_user_model().objects.create(
            username=f"h{tag}-agent", password=make_password(None), first_name="Earlier"
        )
        agent = Agent.objects.create(
            user=user, endpoint=f"sip:h{tag}@bench.test", status=Agent.Status.OFFLINE
        )
        customers = Customer.objects.bulk_create(
            [
                Customer(name=f"Caller {tag} {i}", phone=f"1998{int(tag, 16) % 10**4:04d}{i:06d}")
                for i in range(count)
            ]
        )
        starts = [now - timedelta(hours=hours) * (1 - i / max(count, 1)) for i in range(count)]
        calls = Call.objects.bulk_create(
            [
                Call(
                    direction=Call.Direction.INBOUND,
                    status=Call.Status.COMPLETED,
                    outcome=Call.Outcome.CUSTOMER_HUNG_UP,
                    owner=agent,
                    customer=customers[i],
                    created_at=start,
                    answered_at=start + timedelta(seconds=20),
                    ended_at=start + timedelta(seconds=200),
                    waited_seconds=20,
                )
                for i, start in enumerate(starts)
            ]
        )
        members = []
        for call in calls:
            for role, address, leg_agent, customer in (
                (Member.Role.CUSTOMER, call.customer.phone, None, call.customer),
                (Member.Role.AGENT, agent.endpoint, agent, None),
            ):
                members.append(
                    Member(
                        call=call,
                        address=address,
                        role=role,
                        agent=leg_agent,
                        customer=customer,
                        state=Member.State.LEFT,
                        created_at=call.created_at,
                        answered_at=call.answered_at,
                        left_at=call.ended_at,
                        state_changed_at=call.ended_at,
                    )
                )
        Member.objects.bulk_create(members)
    _analyze("agents_agent", "calls_customer", "calls_call", "calls_member")
    return {"calls": len(calls)}


def _analyze(*tables: str) -> None:
    """Give PostgreSQL's planner the loaded rows' statistics, as autovacuum would within a
    minute of a bulk load: planned on an empty table's, a wallboard joined every live call
    before keeping the 50 it shows."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(tables)}")


def wipe_calls(spec: dict) -> dict:
    """Delete every call, callback and action (between benchmark rounds)."""
    from django.contrib.sessions.models import Session

    from agents.models import Agent
    from calls.models import Action, Call, CallbackEvent, Customer

    counts = {
        "callbacks": CallbackEvent.objects.all().delete()[0],
        "actions": Action.objects.all().delete()[0],
        "calls": Call.objects.all().delete()[0],
    }
    if spec.get("people"):
        Customer.objects.all().delete()
        Agent.objects.all().delete()
        Session.objects.all().delete()
        from django.contrib.auth import get_user_model

        get_user_model().objects.all().delete()
    return counts


def main(argv: list[str]) -> int:
    _setup()
    command, *rest = argv or ["help"]
    if command == "prepare":
        result = prepare(rest)
    elif command in ("people", "load", "history", "wipe-calls"):
        spec = json.loads(sys.stdin.read() or "{}")
        commands = {"people": people, "load": load, "history": history, "wipe-calls": wipe_calls}
        result = commands[command](spec)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
