"""The product's URLs plus the baselines: a bare view and a bare group_send.

The wallboard is mounted here too when the project's URLconf does not (yet) mount it, so
its render cost can be measured either way.
"""

import contextlib

from django.urls import include, path
from django.urls.exceptions import Resolver404
from django.urls.resolvers import get_resolver

from bench import views
from contactcenter.env import env_bool
from contactcenter.urls import urlpatterns as product_urls


def _project_serves(path_: str) -> bool:
    try:
        get_resolver("contactcenter.urls").resolve(path_)
    except Resolver404:
        return False
    return True


urlpatterns = [
    path("bench/bare/", views.bare, name="bench-bare"),
    path("bench/echo/", views.echo_send, name="bench-echo"),
    *product_urls,
]
if env_bool("BENCH_MEMORY", False):
    urlpatterns.insert(0, path("bench/memory/", views.memory))
if not _project_serves("/wallboard/"):
    with contextlib.suppress(ImportError):  # no wallboard in this tree
        urlpatterns.append(path("wallboard/", include("calls.wallboard.urls")))
