"""contactcenter.asgi_handler: under ASGI, a request's middleware chain and its view run in
one thread hop, not three."""

from __future__ import annotations

import pytest
from asgiref import sync
from channels.testing import HttpCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.utils.deprecation import MiddlewareMixin

from contactcenter.asgi_handler import SyncChainASGIHandler
from contactcenter.request_threads import RequestThreads

built: list[Probe] = []


class Probe(MiddlewareMixin):
    """Capable of both modes, like Django's own; records the mode Django gave it."""

    def __init__(self, get_response):
        super().__init__(get_response)
        built.append(self)


def _outermost_mode(settings, handler_class) -> bool:
    built.clear()
    settings.MIDDLEWARE = [f"{__name__}.Probe", *settings.MIDDLEWARE]
    handler_class()  # builds the chain as daphne's handler does
    (probe,) = built
    return probe.async_mode


def test_the_chain_is_built_sync_so_a_request_enters_a_thread_once(settings):
    assert _outermost_mode(settings, SyncChainASGIHandler) is False


def test_djangos_own_handler_would_build_it_async(settings):
    # The control: the same chain under Django's handler runs each hook of an async-capable
    # middleware on the loop and hops into a thread for the sync ones and for the view.
    assert _outermost_mode(settings, ASGIHandler) is True


async def _hops(app, monkeypatch) -> dict[str, int]:
    """How often one GET of the login page entered a thread and came back to the loop."""
    hops = {"into_threads": 0, "back_to_loop": 0}
    into, back = sync.SyncToAsync.__call__, sync.AsyncToSync.__call__

    async def counted_into(self, *args, **kwargs):
        hops["into_threads"] += 1
        return await into(self, *args, **kwargs)

    def counted_back(self, *args, **kwargs):
        hops["back_to_loop"] += 1
        return back(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(sync.SyncToAsync, "__call__", counted_into)
        patch.setattr(sync.AsyncToSync, "__call__", counted_back)
        communicator = HttpCommunicator(app, "GET", "/login/", headers=[(b"host", b"localhost")])
        response = await communicator.get_response()
        await communicator.wait(10)
    assert response["status"] == 200
    return hops


@pytest.mark.django_db(transaction=True)
async def test_a_request_through_the_product_never_comes_back_to_the_loop(monkeypatch):
    from contactcenter import asgi

    # Django's request_started signal, the chain with the view, the response's close.
    assert await _hops(asgi.application, monkeypatch) == {"into_threads": 3, "back_to_loop": 0}
    # The control: Django's own handler, same middleware, same thread reuse.
    stock = await _hops(RequestThreads(ASGIHandler()), monkeypatch)
    assert stock["into_threads"] > 3
