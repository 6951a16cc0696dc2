"""`POST /webhooks/plivo/`: the URL pasted into the PHLO console as the callback URL.

Answers: 200 for every callback we keep (applied, ignored, unmatched, or a duplicate);
400 for a body we cannot read as a callback; 403 for a missing or wrong V3 signature;
405 for other methods; 413 for an oversized body; 503 when our own configuration makes the
check impossible; 500 when applying a kept callback raised (the provider retries it, or an
operator replays it with `calls.services.callbacks.callback_replay`).
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from calls.services.callbacks import CallbackApplyFailed, callback_receive
from calls.webhooks.parsing import MalformedCallback, parse_body
from calls.webhooks.verification import (
    SignatureRejected,
    WebhookNotConfigured,
    signature_headers,
    verify_request,
)

logger = logging.getLogger(__name__)


def _error(status: int, reason: str, **extra) -> JsonResponse:
    return JsonResponse({"error": reason, **extra}, status=status)


@csrf_exempt  # the provider has no CSRF token; the V3 signature authenticates it
@transaction.non_atomic_requests  # storing must commit on its own, before applying
def plivo_callback(request: HttpRequest):
    if request.method != "POST":
        return HttpResponseNotAllowed(
            ["POST"],
            content=b'{"error": "Use POST: this URL receives Plivo callbacks."}',
            content_type="application/json",
        )
    try:
        signature_headers(request)
        try:
            body = request.body
        except RequestDataTooBig:
            return _error(413, "The body is too large for a callback.")
        params, stored_params = parse_body(
            content_type=request.content_type or "",
            charset=request.content_params.get("charset"),
            body=body,
        )
        verify_request(request=request, params=params)
        received = callback_receive(
            params=params, stored_params=stored_params, content_type=request.content_type or ""
        )
    except SignatureRejected as exc:
        logger.warning("callback rejected: %s", exc)
        return _error(403, str(exc))
    except MalformedCallback as exc:
        logger.warning("malformed callback: %s", exc)
        return _error(400, str(exc))
    except WebhookNotConfigured as exc:
        logger.error("callback not checked: %s", exc)
        return _error(503, str(exc))
    except CallbackApplyFailed as exc:
        return _error(
            500,
            f"Callback #{exc.event_id} was kept but could not be applied; it will be applied"
            " again when redelivered or replayed.",
            callback_id=exc.event_id,
        )
    event = received.event
    return JsonResponse(
        {
            "callback_id": event.pk,
            "outcome": event.outcome,
            "note": event.note,
            "duplicate": received.duplicate,
        }
    )
