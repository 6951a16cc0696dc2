"""The project's URLs plus the wallboard's, for tests run before the project mounts them
(see docs/wallboard.md, "Wiring"). Once contactcenter/urls.py includes the wallboard this is
the project's URLconf unchanged."""

from django.urls import URLResolver, include, path

from contactcenter.urls import urlpatterns as project_urlpatterns


def _mounted(patterns) -> bool:
    return any(isinstance(p, URLResolver) and p.app_name == "wallboard" for p in patterns)


urlpatterns = list(project_urlpatterns)
if not _mounted(urlpatterns):
    urlpatterns.append(path("wallboard/", include("calls.wallboard.urls")))
