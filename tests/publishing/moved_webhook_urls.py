"""A URL conf with PHLO's webhook mounted somewhere else than the product mounts it."""

from django.urls import path

from calls.webhooks import views

urlpatterns = [path("provider/plivo/", views.plivo_callback, name="plivo-webhook")]
