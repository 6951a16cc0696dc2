from django.urls import path, re_path

from agents.views import auth, calls, desktop, inbound_routing
from contactcenter import converters  # noqa: F401  (registers <id:...>)

urlpatterns = [
    path("", desktop.desktop, name="desktop"),
    path("login/", auth.DesktopLoginView.as_view(), name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("desktop/session/", desktop.session_check, name="desktop-session"),
    path("desktop/status/", desktop.status_change, name="desktop-status"),
    path("desktop/dial/", desktop.dial, name="desktop-dial"),
    path("desktop/customers/search/", desktop.customers_search, name="desktop-customer-search"),
    path("desktop/transfer-targets/", desktop.transfer_picker, name="desktop-transfer-targets"),
    path(
        "desktop/members/<id:member_id>/actions/<slug:kind>/",
        calls.member_action,
        name="desktop-member-action",
    ),
    path("desktop/members/<id:member_id>/reject/", calls.member_reject, name="desktop-reject"),
    path(
        "desktop/calls/<id:call_id>/actions/<slug:kind>/",
        calls.call_action,
        name="desktop-call-action",
    ),
    path("desktop/calls/<id:call_id>/wrap-up/", calls.wrap_up, name="desktop-wrap-up"),
    path("desktop/calls/<id:call_id>/notes/", calls.notes, name="desktop-notes"),
    path("desktop/calls/<id:call_id>/dismiss/", calls.dismiss, name="desktop-dismiss"),
    path(
        "desktop/calls/<id:call_id>/customer/",
        calls.customer_create,
        name="desktop-customer-create",
    ),
    # With or without the trailing slash: a POST cannot be redirected to add it.
    re_path(r"^routing/inbound/?$", inbound_routing.inbound, name="routing-inbound"),
]
