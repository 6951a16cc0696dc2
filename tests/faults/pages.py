"""A page as the browser holds it, rebuilt from what its websocket sent, the way
static/desktop/desktop.js and static/wallboard/wallboard.js apply it: a full state replaces
everything; a call fragment replaces the call unless it is older than the one shown (its
version); a deleted call goes, and an older fragment cannot bring it back; a wallboard's
agent row is replaced by a newer render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ARTICLE = re.compile(r'<article id="((?:wb-)?call-\d+)"([^>]*)>(.*?)</article>', re.S)
_VERSION = re.compile(r'data-version="(\d+)"')
_MEMBER = re.compile(r'id="(?:wb-)?member-(\d+)" class="member member--([a-z_]+)')
_STATUS = re.compile(r'<section id="agent-status"[^>]*data-status="([a-z_]+)"')
_AGENT_ROW = re.compile(r'<li id="(wb-agent-\d+)"[^>]*data-status="([a-z_]+)"[^>]*>')
_RENDERED = re.compile(r'data-rendered="(\d+)"')
FULL_STATE = 'data-full-state="true"'


@dataclass(frozen=True)
class CallShown:
    version: int
    members: tuple[tuple[int, str], ...]


@dataclass
class Page:
    calls: dict[str, CallShown] = field(default_factory=dict)
    gone: dict[str, int] = field(default_factory=dict)  # call id -> version it ended at
    status: str | None = None  # the desktop's own status
    agents: dict[str, tuple[int, str]] = field(default_factory=dict)  # row -> (rendered, status)

    def apply(self, html: str) -> None:
        if FULL_STATE in html:
            self.calls, self.gone, self.agents = {}, {}, {}
        for match in _ARTICLE.finditer(html):
            element, attributes, body = match[1], match[2], match[3]
            version = int(_VERSION.search(attributes)[1])
            shown = self.calls.get(element)
            if shown is not None and version < shown.version:
                continue  # stale: the page keeps the newer one
            if version <= self.gone.get(element, -1):
                continue  # ended here already
            if "data-deleted" in attributes:
                self.calls.pop(element, None)
                self.gone[element] = version
                continue
            members = tuple(sorted((int(m), s) for m, s in _MEMBER.findall(body)))
            self.calls[element] = CallShown(version, members)
        if status := _STATUS.search(html):
            self.status = status[1]
        for match in _AGENT_ROW.finditer(html):
            rendered = int(_RENDERED.search(match[0])[1])
            if rendered >= self.agents.get(match[1], (-1, ""))[0]:
                self.agents[match[1]] = (rendered, match[2])

    def view(self) -> tuple:
        """What a person reads: the calls (version and legs), statuses; not render times."""
        return (
            dict(self.calls),
            self.status,
            {row: status for row, (_, status) in self.agents.items()},
        )


def page_from(html: str) -> Page:
    page = Page()
    page.apply(html)
    return page
