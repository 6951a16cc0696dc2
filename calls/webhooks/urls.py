from django.urls import re_path

from calls.webhooks import views

urlpatterns = [
    # With or without the trailing slash: a POST cannot be redirected to add it.
    re_path(r"^webhooks/plivo/?$", views.plivo_callback, name="plivo-webhook"),
]
