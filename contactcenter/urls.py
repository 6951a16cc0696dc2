from django.urls import include, path

from contactcenter.admin import site as admin_site

urlpatterns = [
    path("admin/", admin_site.urls),
    path("wallboard/", include("calls.wallboard.urls")),
    path("", include("calls.urls")),
    path("", include("agents.urls")),
]

# A database that went away outside a view is a 503 with a reason too.
handler500 = "agents.views.errors.server_error"
