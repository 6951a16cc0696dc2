"""contactcenter.middleware.OneThreadChain: under ASGI, Django builds the chain sync."""

from django.core.handlers.asgi import ASGIHandler
from django.utils.deprecation import MiddlewareMixin

built: list["Probe"] = []


class Probe(MiddlewareMixin):
    """Capable of both modes, like Django's own; records the mode Django gave it."""

    def __init__(self, get_response):
        super().__init__(get_response)
        built.append(self)


def _outermost_mode(settings, middleware: list[str]) -> bool:
    built.clear()
    settings.MIDDLEWARE = [f"{__name__}.Probe", *middleware]
    ASGIHandler()  # builds the chain as daphne's handler does
    (probe,) = built
    return probe.async_mode


def test_the_chain_is_sync_so_a_request_enters_a_thread_once(settings):
    assert settings.MIDDLEWARE[-1] == "contactcenter.middleware.OneThreadChain"
    assert _outermost_mode(settings, settings.MIDDLEWARE) is False


def test_without_it_every_middleware_hook_would_hop_threads(settings):
    # The control: the same chain without it runs each hook through sync_to_async.
    assert _outermost_mode(settings, settings.MIDDLEWARE[:-1]) is True


def test_production_keeps_it_last(monkeypatch):
    from tests.deploy.production_env import load

    s = load(monkeypatch, DJANGO_STATIC_ROOT="/srv/cc/static")
    assert s.MIDDLEWARE[-1] == "contactcenter.middleware.OneThreadChain"
