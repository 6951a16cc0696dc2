import os

from contactcenter.asgi_handler import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
# Django must be set up before anything imports models (the websocket routes do).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from calls.publisher import bind_to_server  # noqa: E402
from contactcenter.gc_tuning import tune_for_serving  # noqa: E402
from contactcenter.health import HealthChecks  # noqa: E402
from contactcenter.origins import ExactOriginValidator  # noqa: E402
from contactcenter.request_threads import RequestThreads  # noqa: E402
from contactcenter.server_limits import answer_overlong_lines  # noqa: E402
from contactcenter.websocket_sessions import SessionKeyMiddleware  # noqa: E402
from contactcenter.websockets import websocket_urlpatterns  # noqa: E402

# Under daphne, a request line or header too long to read gets a 4xx instead of a hang-up.
answer_overlong_lines()

# Each request's sync code in a thread of its own, reused by later requests; the health
# checks answered before Django (contactcenter/health.py).
request_threads = RequestThreads(django_asgi_app)
http_application = HealthChecks(request_threads)

application = bind_to_server(
    ProtocolTypeRouter(
        {
            "http": http_application,
            "websocket": ExactOriginValidator(
                SessionKeyMiddleware(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)

if settings.GC_TUNED_FOR_SERVING:
    # Last: everything the application loaded is frozen (contactcenter/gc_tuning.py).
    tune_for_serving()
