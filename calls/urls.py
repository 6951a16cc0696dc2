from django.urls import include, path

# A plain list: other parts of the app append their own routes.
urlpatterns: list = [
    path("", include("calls.webhooks.urls")),
]
