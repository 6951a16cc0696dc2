"""Websocket routes of the wallboard, for contactcenter/websockets.py."""

from django.urls import path

from calls.wallboard.consumers import WallboardConsumer

WALLBOARD_WS_PATH = "ws/wallboard/"

websocket_urlpatterns = [
    path(WALLBOARD_WS_PATH, WallboardConsumer.as_asgi()),
]
