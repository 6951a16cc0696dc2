"""`POST /webhooks/plivo/`: the URL pasted into the PHLO console as the callback URL.

Answers: 200 for every callback we keep (applied, ignored, unmatched, or a duplicate);
400 for a body we cannot read as a callback; 403 for a missing or wrong V3 signature;
405 for other methods; 413 for an oversized body; 503 when our own configuration makes the
check impossible; 503 with Retry-After when the database is not answering, whether the
callback could not be stored (nothing kept) or was kept but not applied (the retry applies
it); 500 when applying a kept callback raised for another reason (the provider retries it,
or an operator replays it with `calls.services.callbacks.callback_replay`). Any non-200
makes the provider send the callback again, and a redelivery applies a kept callback that
has had no effect yet, exactly once.
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from calls.publisher import yield_to_people
from calls.services.callbacks import CallbackApplyFailed, CallbackNotStored, callback_receive
from calls.services.errors import DatabaseUnavailable
from calls.webhooks.bodies import MalformedCallback, parse_body
from calls.webhooks.verification import (
    SignatureRejected,
    WebhookNotConfigured,
    signature_headers,
    verify_request,
)

logger = logging.getLogger(__name__)


def _error(status: int, reason: str, **extra) -> JsonResponse:
    return JsonResponse({"error": reason, **extra}, status=status)


def _unavailable(reason: str, **extra) -> JsonResponse:
    """503 with Retry-After: the provider retries, and by then the database may be back."""
    response = _error(503, reason, **extra)
    response["Retry-After"] = str(DatabaseUnavailable.retry_after_seconds)
    return response


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
        # An agent's press in this process goes first (at most 50 ms): PHLO waits seconds.
        yield_to_people()
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
    except CallbackNotStored as exc:
        return _unavailable(exc.message)
    except CallbackApplyFailed as exc:
        if exc.database_unavailable:
            return _unavailable(
                f"Callback #{exc.event_id} was kept but the database stopped answering before"
                " it could be applied; it is applied when the callback is sent again.",
                callback_id=exc.event_id,
            )
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
