"""Tell live pages that something changed, once per change, after the change commits.

Groups are small on purpose (channels_redis's cost grows with group size):
`call.<id>` for everyone watching one call, `agent.<id>` for each agent's open desktops,
and `supervisors` for the wallboards. Messages are sent only after the transaction that
made the change commits, so a page never renders state that was rolled back.
"""

import logging
from collections.abc import Iterable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SUPERVISORS_GROUP = "supervisors"


def call_group(call_id: int) -> str:
    return f"call.{call_id}"


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


def _send(groups: Iterable[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:
            # A push that fails must not undo a committed change; pages resync on reconnect.
            logger.exception("could not publish %s to %s", message.get("type"), group)


def publish_call_changed(*, call_id: int, version: int, agent_ids: Iterable[int]) -> None:
    """After commit, send one `call.changed` to the call, each agent on it, and supervisors."""
    groups = [
        call_group(call_id),
        *(agent_group(a) for a in sorted(set(agent_ids))),
        SUPERVISORS_GROUP,
    ]
    message = {"type": "call.changed", "call_id": call_id, "version": version}
    transaction.on_commit(lambda: _send(groups, message))


def publish_agent_changed(*, agent_id: int, status: str) -> None:
    """After commit, tell the agent's own desktops and the supervisors of a status change."""
    message = {"type": "agent.changed", "agent_id": agent_id, "status": status}
    transaction.on_commit(lambda: _send([agent_group(agent_id), SUPERVISORS_GROUP], message))
