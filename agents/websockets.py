"""Websocket routes of the agent desktop."""

from django.urls import path

from agents.consumers import DesktopConsumer

websocket_urlpatterns = [
    path("ws/desktop/", DesktopConsumer.as_asgi()),
]
