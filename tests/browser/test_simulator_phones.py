"""The simulator's phones page in a real browser (issue 18, item 6): a person who follows the
desktop's "Phones (demo)" link can still start a call and set a phone's behaviour there,
while another site's page open in the same browser (here the app's own page, another
origin) can neither post the page's forms nor drive the control API with a no-cors fetch."""

from __future__ import annotations

import pytest

from tests.browser_pages import expect, wait_until

pytestmark = pytest.mark.browser

DANA = "+14155550101"


def test_a_person_uses_the_phones_page_from_the_desktops_link(desktop, sim):
    alice = desktop("alice")
    with alice.context.expect_page() as opened:
        alice.get_by_role("link", name="Phones (demo)").click()
    phones = opened.value
    expect()(phones.get_by_role("heading", level=1)).to_have_text("Simulated phones")

    phones.get_by_label("From").fill(DANA)
    phones.get_by_role("button", name="Call in").click()
    expect()(phones.get_by_role("status")).to_contain_text("is being routed")
    wait_until(lambda: len(sim.snapshot()["inbound"]) == 1)

    phones.get_by_label("Address").fill("+14155550199")
    phones.get_by_label("Mode").select_option("busy")
    phones.get_by_role("button", name="Set").click()
    expect()(phones.get_by_role("status")).to_contain_text("is now busy")


def test_another_origins_page_cannot_drive_the_simulator(signed_in, sim):
    page = signed_in(None, "/login/")  # the app's origin: another one than the simulator's
    base = sim.base_url
    # A no-cors fetch: the browser sends it (text/plain, with this page's Origin) and hides
    # the answer; the simulator must not act on it.
    page.evaluate(
        """async (url) => {
            try {
                await fetch(url, {method: "POST", mode: "no-cors",
                                  body: JSON.stringify({from: "+14155550101", to: "+1415"})});
            } catch (e) {}
        }""",
        f"{base}/_sim/inbound",
    )
    # A form posted across origins, as a hostile page would.
    page.evaluate(
        """(url) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = url;
            for (const [name, value] of [["from", "+14155550101"], ["to", "+14155550000"]]) {
                const input = document.createElement("input");
                input.name = name;
                input.value = value;
                form.append(input);
            }
            document.body.append(form);
            form.submit();
        }""",
        f"{base}/phones/inbound",
    )
    page.wait_for_url(f"{base}/phones/inbound")
    expect()(page.locator("body")).to_contain_text("another site's pages are refused")
    assert sim.snapshot()["inbound"] == []
