"""contactcenter.asgi's application with the echo baseline's websocket route added, behind
the same origin check and session middleware."""

import os

from contactcenter.asgi_handler import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import path  # noqa: E402

from bench.consumers import EchoConsumer  # noqa: E402
from calls.publisher import bind_to_server  # noqa: E402
from contactcenter.gc_tuning import tune_for_serving  # noqa: E402
from contactcenter.origins import ExactOriginValidator  # noqa: E402
from contactcenter.request_threads import RequestThreads  # noqa: E402
from contactcenter.websocket_sessions import SessionKeyMiddleware  # noqa: E402
from contactcenter.websockets import websocket_urlpatterns  # noqa: E402

application = bind_to_server(
    ProtocolTypeRouter(
        {
            "http": RequestThreads(django_asgi_app),
            "websocket": ExactOriginValidator(
                SessionKeyMiddleware(
                    URLRouter(
                        [
                            path("bench/ws/echo/<int:group>/", EchoConsumer.as_asgi()),
                            *websocket_urlpatterns,
                        ]
                    )
                )
            ),
        }
    )
)

if settings.GC_TUNED_FOR_SERVING:
    tune_for_serving()  # as contactcenter.asgi does: last
