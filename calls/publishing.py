"""Tell the live pages what changed, once per change, after the change commits.

This is the core's one place for live pushes. `calls.events.announce` hands it each event
that pages hear (a call, an agent's status, a sign-out); after the transaction commits, the
push goes to `calls.publisher`, which sends it after the response under the ASGI server
(merging the ones for the same call or agent that pile up) or here and now elsewhere.

The core itself sends a call's change to `call.<id>`, for anyone watching that one call
(`calls.events` registers that as the first "page"). Each kind of live page registers how
it renders an event for its own viewers (`register_page`), from its app's ready(); a render
is done once per change and rides on the messages to that page's small groups (an agent's
desktops, the supervisors' wallboards), so consumers only forward it. Adding a kind of live
page is one module that registers: nothing here changes.

A page's render must not raise: when it cannot render, it sends its messages without the
HTML, and its consumers render or re-sync by themselves. Groups stay small on purpose
(channels_redis's cost grows with group size).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol, Self

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from calls import publisher
from calls.publisher import Message

logger = logging.getLogger(__name__)


class PushedEvent(Protocol):
    """What `calls.events` gives the publisher: a key to merge by, and the bare message."""

    type: str

    @property
    def key(self) -> Hashable: ...

    def merged(self, later: Self) -> Self: ...

    def message(self) -> dict: ...


# render(event, bare message) -> (group, message) pairs for that page's viewers.
PageRender = Callable[[PushedEvent, dict], list[Message]]
_pages: dict[type, dict[str, PageRender]] = defaultdict(dict)


def register_page(*, page: str, event_type: type, render: PageRender) -> None:
    """`page` renders `event_type` for its viewers from now on (once per name: an app's
    ready() may run again)."""
    _pages[event_type][page] = render


def call_group(call_id: int) -> str:
    return f"call.{call_id}"


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


def messages_for(event: PushedEvent) -> list[Message]:
    """Every (group, message) one event makes, each registered page's in turn, rendered now
    (sync: pages read the database)."""
    bare = event.message()
    found: list[Message] = []
    for page, render in list(_pages.get(type(event), {}).items()):
        try:
            found += render(event, bare)
        except Exception:
            # The page's own fallback failed too: its viewers re-sync when they reconnect.
            logger.exception("page %s could not render %s", page, event.type)
    return found


@dataclass(frozen=True)
class Push:
    """One event on its way to the pages (`calls.publisher.Push`)."""

    event: PushedEvent

    @property
    def key(self) -> Hashable:
        return self.event.key

    def merged(self, later: Push) -> Push:
        return Push(self.event.merged(later.event))

    def messages(self) -> list[Message]:
        return messages_for(self.event)


def _send_now(push: Push) -> None:
    for group, message in push.messages():
        _send([group], message)


def publish(event: PushedEvent) -> None:
    """After commit, push `event` to the live pages (see the module's docstring)."""
    push = Push(event)
    transaction.on_commit(lambda: publisher.publish(push, send_now=_send_now))
