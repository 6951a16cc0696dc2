"""Every route the project serves, read from its URLconf and its websocket routing, so that
tests that must cover them all cannot miss one added later."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

from contactcenter.converters import DatabaseId
from contactcenter.websockets import websocket_urlpatterns


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full text (as written, prefixes joined), its qualified name,
    its view, the converters of its `<...>` parts, and its parts as written, each marked
    a regular expression (re_path) or not (path)."""

    pattern: str
    name: str | None
    callback: Callable
    converters: dict
    parts: tuple[tuple[bool, str], ...] = ()

    @property
    def takes_ids(self) -> list[str]:
        """The names of its `<id:...>` parts."""
        return [name for name, c in self.converters.items() if isinstance(c, DatabaseId)]


def _walk(patterns, parts=(), namespace: str = "", converters=None) -> Iterator[Route]:
    for entry in patterns:
        here = (*parts, (isinstance(entry.pattern, RegexPattern), str(entry.pattern)))
        found = {**(converters or {}), **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from _walk(entry.url_patterns, here, inner, found)
        elif isinstance(entry, URLPattern):
            yield Route(
                pattern="".join(text for _, text in here),
                name=f"{namespace}{entry.name}" if entry.name else None,
                callback=entry.callback,
                converters=found,
                parts=here,
            )


def http_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def websocket_routes() -> list[str]:
    """The websocket routes' patterns, as written (the last one matches every other path)."""
    return [str(route.pattern) for route in websocket_urlpatterns]
