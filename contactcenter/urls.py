from django.urls import include, path

from contactcenter.admin import site as admin_site

urlpatterns = [
    path("admin/", admin_site.urls),
    path("wallboard/", include("calls.wallboard.urls")),
    path("", include("calls.urls")),
    path("", include("agents.urls")),
]
