"""Settings for the browser test's app server: the project's, with the wallboard mounted
(tests/wallboard/urls.py) and its websocket and publisher wiring (tests/wallboard/asgi.py).
Both step aside once the project wires the wallboard itself."""

from contactcenter.settings import *  # noqa: F403

ROOT_URLCONF = "tests.wallboard.urls"
ASGI_APPLICATION = "tests.wallboard.asgi.application"
