"""`{% live_url %}`: the live fragments' URLs, reversed once and then reused, must stay exactly
what `{% url %}` gives, under any script prefix."""

import pytest
from django.template import engines
from django.urls import reverse, set_script_prefix

from agents.templatetags.desktop import live_url

ROUTES = [
    ("desktop-member-action", (7, "hold")),
    ("desktop-call-action", (12, "warm_transfer")),
    ("desktop-reject", (3,)),
    ("desktop-notes", (12,)),
    ("wallboard:member-action", (7, "hangup")),
    ("wallboard:agent-status", (4,)),
]


@pytest.mark.parametrize(("name", "args"), ROUTES)
def test_live_url_is_what_url_gives(name, args):
    assert live_url(name, *args) == reverse(name, args=args)
    assert live_url(name, *args) == reverse(name, args=args)  # the cached answer too


def test_live_url_follows_the_script_prefix():
    before = live_url("desktop-notes", 12)
    set_script_prefix("/cc/")
    try:
        assert (
            live_url("desktop-notes", 12) == "/cc" + before == reverse("desktop-notes", args=[12])
        )
    finally:
        set_script_prefix("/")
    assert live_url("desktop-notes", 12) == before


def test_the_tag_renders_as_the_url_tag():
    template = engines["django"].from_string(
        "{% load desktop %}{% live_url 'desktop-call-action' pk kind %}"
        "|{% url 'desktop-call-action' pk kind %}"
    )
    ours, django_s = template.render({"pk": 5, "kind": "hangup"}).split("|")
    assert ours == django_s
