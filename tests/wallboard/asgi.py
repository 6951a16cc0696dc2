"""contactcenter/asgi.py plus the wallboard's route and publisher wiring, for the browser
test's app server (see browser_settings.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.wallboard.browser_settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from calls import publishing  # noqa: E402
from tests.wallboard.wiring import websocket_application, wired_send  # noqa: E402

publishing._send = wired_send(publishing._send)

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application()})
