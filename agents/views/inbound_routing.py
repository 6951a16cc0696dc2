"""POST /routing/inbound/: the PHLO "HTTP Request" node asks which agent takes a call.

Request: `Authorization: Bearer <ROUTING_API_TOKEN>`, body JSON or form with `call_uuid`,
`from`, `to`, `direction`. Answer (always 200 once the request is valid):
`{"result": "agent", "agent_endpoint": "...", "agent": "<username>", "call_id": N}` or
`{"result": "no_agent", "agent_endpoint": ""}`: the PHLO branches on `result`.
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from agents.services.routing import inbound_request_parse, inbound_route
from calls.services.errors import InvalidInput
from calls.untrusted_json import UnreadableJSON, load_json

logger = logging.getLogger(__name__)

MAX_BODY = 16 * 1024


def _error(message: str, *, status: int) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="routing"'
    return response


def _authorized(request: HttpRequest) -> JsonResponse | None:
    """None when the bearer token matches; else the refusal to send."""
    expected = settings.ROUTING_API_TOKEN
    if not expected:
        return _error("Inbound routing is not configured (ROUTING_API_TOKEN is empty).", status=503)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _error("Send the routing token as 'Authorization: Bearer <token>'.", status=401)
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        return _error("The routing token is not valid.", status=403)
    return None


def _body(request: HttpRequest) -> dict:
    try:
        body = request.body
    except RequestDataTooBig as exc:
        raise InvalidInput("The request body is too large.") from exc
    if len(body) > MAX_BODY:
        raise InvalidInput("The request body is too large.")
    content_type = request.content_type or ""
    if content_type == "application/json":
        return _json_body(body)
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _form_body(request)
    raise InvalidInput(
        "Send JSON (application/json) or a form (application/x-www-form-urlencoded)."
    )


def _json_body(body: bytes) -> dict:
    try:
        # Depth-checked before parsing: a deeply nested body is refused, not a RecursionError.
        data = load_json(body or b"{}", what="The body")
    except UnreadableJSON as exc:
        raise InvalidInput(str(exc)) from exc
    if not isinstance(data, dict):
        raise InvalidInput("The JSON body must be an object.")
    return data


def _form_body(request: HttpRequest) -> dict:
    try:
        return {key: request.POST.get(key) for key in request.POST}
    except (BadRequest, SuspiciousOperation, MultiPartParserError, ValueError, LookupError) as exc:
        # A charset other than UTF-8, a broken multipart body, too many fields: say which,
        # as JSON like every other refusal here, rather than Django's bare 400 page.
        raise InvalidInput(f"The form cannot be read: {exc}") from exc


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> JsonResponse:
    refusal = _authorized(request)
    if refusal is not None:
        return refusal
    try:
        parsed = inbound_request_parse(data=_body(request))
    except InvalidInput as exc:
        return _error(exc.message, status=400)
    decision = inbound_route(request=parsed)
    logger.info(
        "inbound call %s from %s routed: %s",
        parsed.call_uuid,
        parsed.from_,
        decision.as_json().get("agent") or decision.result,
    )
    return JsonResponse(decision.as_json())
