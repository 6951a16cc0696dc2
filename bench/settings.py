"""The production settings plus the benchmark's baseline routes (bench/urls.py, bench/asgi.py).

The product's code paths are untouched; only two bare endpoints are added, so each figure
can be compared with what the same server and channel layer do with no application work.
`BENCH_QUERY_STATS=1` adds a header with each response's query count and time (the
render-cost scenario only: it is not free).
"""

from contactcenter.env import env_bool
from contactcenter.settings_production import *  # noqa: F403
from contactcenter.settings_production import INSTALLED_APPS, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.BenchConfig"]
ROOT_URLCONF = "bench.urls"
ASGI_APPLICATION = "bench.asgi.application"
MIDDLEWARE = ["bench.middleware.request_started", *MIDDLEWARE]
if env_bool("BENCH_QUERY_STATS", False):
    MIDDLEWARE = ["bench.middleware.query_stats", *MIDDLEWARE]
