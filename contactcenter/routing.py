"""Websocket routes of every app, gathered in one place for asgi.py."""

from agents.routing import websocket_urlpatterns as desktop_routes
from calls.wallboard.routing import websocket_urlpatterns as wallboard_routes

websocket_urlpatterns: list = [*desktop_routes, *wallboard_routes]
