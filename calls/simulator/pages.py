"""The phones page (/phones/): a person answers, rejects and hangs up simulated phones.

Plain HTML forms, no JavaScript. Every value shown is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode

from calls.addresses import display_address
from calls.simulator.control import Simulator, phone_action
from calls.simulator.errors import SimulatorError
from calls.simulator.modes import MESSAGE_BOX, MODE_HELP, MODES, SPECIAL_NUMBERS, VOICEMAIL_BOX
from calls.simulator.responses import Response

_ACTIONS = {"answer", "reject", "hangup", "mode", "inbound"}

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
.msg{padding:.5rem;background:#e7f6e7}.err{padding:.5rem;background:#fde8e8}
form{display:inline}button{margin-right:.2rem}.ringing{background:#fff6d6}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _button(action: str, label: str, member: dict[str, Any]) -> str:
    return (
        f'<form method="post" action="/phones/{action}">'
        f'<input type="hidden" name="address" value="{_e(member["address"])}">'
        f'<input type="hidden" name="call_uuid" value="{_e(member["call_uuid"])}">'
        f'<button type="submit">{_e(label)}</button></form>'
    )


def render(sim: Simulator, *, message: str = "", error: str = "") -> str:
    state = sim.snapshot()
    rows = []
    for conf in state["conferences"]:
        if conf["status"] != "live":
            continue
        for m in conf["members"]:
            if m["state"] == "gone":
                continue
            if m["state"] == "ringing":
                buttons = _button("answer", "Answer", m) + _button("reject", "Reject", m)
            else:
                buttons = _button("hangup", "Hang up", m)
            state_text = m["state"].replace("_", " ") + (" (machine)" if m["is_machine"] else "")
            if m["wait_music"]:
                # On the bridge ("talking" to the provider) with nobody to talk to yet.
                state_text = f"waiting, hearing {m['wait_music_url'] or 'the default wait music'}"
            role = m["role"]
            box = sim.phones.mode_of(m["address"])
            if box in (MESSAGE_BOX, VOICEMAIL_BOX):
                # Dialled into the call as an agent would be; the phone is the box.
                role = f"{role} ({'no-agent message' if box == MESSAGE_BOX else 'voicemail box'})"
            rows.append(
                f'<tr class="{_e(m["state"])}"><td>{_e(display_address(m["address"]))}</td>'
                f"<td>{_e(role)}</td><td>{_e(m['direction'])}</td><td>{_e(state_text)}</td>"
                f"<td>{_e(conf['name'])}</td><td>{buttons}</td></tr>"
            )
    for call in state["inbound"]:
        if call["state"] in ("routing", "message"):
            member = {"address": call["from"], "call_uuid": call["call_uuid"]}
            what = "being routed" if call["state"] == "routing" else "hearing the no-agent message"
            rows.append(
                f"<tr><td>{_e(display_address(call['from']))}</td><td>customer</td><td>inbound</td>"
                f"<td>{_e(what)}</td><td></td><td>{_button('hangup', 'Hang up', member)}</td></tr>"
            )
    legs = (
        "<table><tr><th>Phone</th><th>Role</th><th>Direction</th><th>State</th><th>Call</th>"
        "<th>Actions</th></tr>" + "".join(rows) + "</table>"
        if rows
        else "<p>No phone is ringing or on a call.</p>"
    )
    options = "".join(f'<option value="{m}">{m}: {_e(MODE_HELP[m])}</option>' for m in MODES)
    modes = "".join(
        f"<tr><td>{_e(display_address(a))}</td><td>{_e(m)}</td></tr>"
        for a, m in sorted(state["modes"].items())
    )
    specials = "".join(
        f"<tr><td>+{_e(n)}</td><td>{_e(MODE_HELP[m])}</td></tr>" for n, m in SPECIAL_NUMBERS.items()
    )
    banner = ""
    if error:
        banner = f'<p class="err" role="alert">{_e(error)}</p>'
    elif message:
        banner = f'<p class="msg" role="status">{_e(message)}</p>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Simulated phones</title>
<link rel="icon" href="data:,">
<style>{_STYLE}</style></head><body><main>
<h1>Simulated phones</h1>
<p>PHLO simulator at {_e(sim.api_url if sim.running else "")} &middot;
<a href="/phones/">Refresh</a> &middot; <a href="/_sim/state">State (JSON)</a></p>
{banner}
<h2>Calls</h2>
{legs}
<h2>Start an inbound call</h2>
<form method="post" action="/phones/inbound">
<label>From <input name="from" value="+14155550101" required></label>
<label>To <input name="to" value="+{_e(sim.config.caller_id)}" required></label>
<label>Callers <input name="count" type="number" min="1" max="500" value="1" required></label>
<button type="submit">Call in</button>
<p class="hint">More than one caller: they call from the number above and the ones after it,
all at once, to watch a queue fill and drain.</p></form>
<h2>How a phone behaves</h2>
<form method="post" action="/phones/mode">
<label>Address <input name="address" placeholder="sip:alice@phones.example or +1415..." required>
</label> <label>Mode <select name="mode">{options}</select></label>
<button type="submit">Set</button></form>
<table><tr><th>Address</th><th>Mode</th></tr>{
        modes or '<tr><td colspan="2">Every address answers by itself (auto)</td></tr>'
    }</table>
<h3>Special numbers</h3>
<table><tr><th>Number</th><th>Behaviour</th></tr>{specials}</table>
</main></body></html>"""


def handle(sim: Simulator, *, method: str, path: str, query: str, body: bytes) -> Response:
    action = path.strip("/").removeprefix("phones").strip("/")
    if not action:
        if method != "GET":
            return Response(405, b"Use GET.", "text/plain", {"Allow": "GET"})
        params = parse_qs(query)
        page = render(sim, message=params.get("msg", [""])[0], error=params.get("err", [""])[0])
        return Response(200, page.encode(), "text/html; charset=utf-8")
    if action not in _ACTIONS:
        return Response(404, b"Not found.", "text/plain")
    if method != "POST":
        return Response(405, b"Use POST.", "text/plain", {"Allow": "POST"})
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        message = phone_action(sim, action, form)
    except SimulatorError as exc:
        page = render(sim, error=str(exc))
        return Response(400, page.encode(), "text/html; charset=utf-8")
    return Response(303, b"", "text/plain", {"Location": "/phones/?" + urlencode({"msg": message})})
