"""The bench app, listed in bench/settings.py beside the product's apps. It has no models and
no start-up hooks: the benchmark runs the production settings as shipped, plus the baseline
routes in bench/urls.py and bench/asgi.py."""

from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "bench"
    label = "bench"
