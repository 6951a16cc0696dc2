"""The one place that talks HTTP to the PHLO runner (Plivo's, or the bundled simulator).

Every request uses Basic auth, a JSON body and the configured connect/read timeouts. Every
failure becomes one `PhloError` whose `kind` says what went wrong and whose `message` tells
a person what to do about it. Actions (POST) are not idempotent, so they are never retried.

Results and errors carry the request that was sent (method, path, body, never credentials)
so the caller can record it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings

logger = logging.getLogger(__name__)

NODE_ACTIONS = frozenset({"call", "warm_transfer", "cold_transfer"})
MEMBER_ACTIONS = frozenset(
    {"hold", "unhold", "hangup", "resume_call", "abort_transfer", "voicemail_drop"}
)
ROLES = frozenset({"agent", "customer"})

USER_AGENT = "contactcenter-phlo-client/1"

# A kept-alive connection idle longer than this is dropped and a new one opened: a server
# that closed it meanwhile would otherwise turn the next POST into an unknown outcome.
KEEPALIVE_IDLE_SECONDS = 20.0
_clock = time.monotonic  # tests move it


class ErrorKind:
    NOT_CONFIGURED = "not_configured"
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    HTTP_ERROR = "http_error"
    BAD_RESPONSE = "bad_response"
    TIMEOUT = "timeout"
    CONNECTION = "connection"


@dataclass(frozen=True)
class PhloRequest:
    """What is (or was) sent: method, URL path and JSON body. Safe to store and show."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    # A member action's participant, as named in the path (calls.services.addressing).
    member_address: str = ""

    def as_record(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": self.body}


@dataclass(frozen=True)
class PhloResult:
    api_id: str
    status: int
    request: PhloRequest
    body: dict[str, Any] = field(default_factory=dict)


class PhloError(Exception):
    """Any failure talking to PHLO. `message` is for people; `kind` is for code."""

    def __init__(
        self,
        *,
        kind: str,
        message: str,
        status: int | None = None,
        api_id: str = "",
        request: PhloRequest | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.api_id = api_id
        self.request = request

    def __repr__(self) -> str:
        return f"PhloError(kind={self.kind!r}, status={self.status!r}, message={self.message!r})"


def _origin(base_url: str) -> str:
    """scheme://host[:port] of the base URL, without any user:password part."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme else base_url.split("@")[-1]


class PhloClient:
    def __init__(
        self,
        *,
        base_url: str,
        auth_id: str,
        auth_token: str,
        phlo_id: str,
        node_id: str,
        connect_timeout: float,
        read_timeout: float,
        shared: bool = False,
    ) -> None:
        # A shared client (`get_phlo_client`) outlives `with` blocks to keep its connection.
        self.shared = shared
        self.base_url = (base_url or "").rstrip("/")
        self.phlo_id = phlo_id or ""
        self.node_id = node_id or ""
        self.timeout = (connect_timeout, read_timeout)
        self._auth_id = auth_id or ""
        self._auth_token = auth_token or ""
        self.session = requests.Session()
        self.session.auth = (self._auth_id, self._auth_token)
        # Proxies and netrc from the environment must not override our credentials or target.
        self.session.trust_env = False
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})

    def __enter__(self) -> PhloClient:
        return self

    def __exit__(self, *exc_info) -> None:
        if not self.shared:
            self.close()

    def close(self) -> None:
        self.session.close()

    # --- paths ------------------------------------------------------------------------------
    def _phlo_path(self) -> str:
        return f"/phlo/{quote(self.phlo_id, safe='')}"

    def _node_path(self) -> str:
        return f"{self._phlo_path()}/multi_party_call/{quote(self.node_id, safe='')}"

    def _full_path(self, relative: str) -> str:
        return f"{urlsplit(self.base_url).path}{relative}"

    # --- requests, prepared then sent, so callers can record them before sending ------------
    def prepare_node_action(
        self, *, action: str, trigger_source: str, to: str, role: str
    ) -> PhloRequest:
        if action not in NODE_ACTIONS:
            raise ValueError(f"unknown node action {action!r}")
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        body = {"action": action, "trigger_source": trigger_source, "to": to, "role": role}
        return PhloRequest("POST", self._full_path(self._node_path()), body)

    def prepare_member_action(self, *, member_address: str, action: str) -> PhloRequest:
        if action not in MEMBER_ACTIONS:
            raise ValueError(f"unknown member action {action!r}")
        if not member_address:
            raise ValueError("member_address is empty")
        # One path segment: a SIP address's ":" and "@" (and any "/") must be encoded.
        segment = quote(member_address, safe="")
        path = self._full_path(f"{self._node_path()}/members/{segment}")
        return PhloRequest("POST", path, {"action": action}, member_address=member_address)

    def node_action(self, *, action: str, trigger_source: str, to: str, role: str) -> PhloResult:
        return self.send(
            self.prepare_node_action(action=action, trigger_source=trigger_source, to=to, role=role)
        )

    def member_action(self, *, member_address: str, action: str) -> PhloResult:
        return self.send(self.prepare_member_action(member_address=member_address, action=action))

    # --- the HTTP conversation --------------------------------------------------------------
    def send(self, request: PhloRequest) -> PhloResult:
        self._check_configured(request)
        try:
            return self._send_once(request)
        except PhloError as error:
            logger.warning(
                "PHLO %s %s failed: %s status=%s api_id=%s",
                request.method,
                request.path,
                error.kind,
                error.status,
                error.api_id or "-",
            )
            raise

    def _check_configured(self, request: PhloRequest) -> None:
        missing = [
            name
            for name, value in (
                ("PHLO_BASE_URL", self.base_url),
                ("PLIVO_AUTH_ID", self._auth_id),
                ("PLIVO_AUTH_TOKEN", self._auth_token),
                ("PHLO_ID", self.phlo_id),
                ("PHLO_MPC_NODE_ID", self.node_id),
            )
            if not value
        ]
        if missing:
            raise PhloError(
                kind=ErrorKind.NOT_CONFIGURED,
                message=f"PHLO is not configured: set {', '.join(missing)}.",
                request=request,
            )

    def _send_once(self, request: PhloRequest) -> PhloResult:
        origin = _origin(self.base_url)
        url = f"{origin}{request.path}"
        try:
            response = self.session.request(
                request.method,
                url,
                json=request.body,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise self._error(
                ErrorKind.CONNECTION,
                f"Could not connect to PHLO at {origin} within {self.timeout[0]:g} s; nothing"
                " was sent. Check PHLO_BASE_URL and the network, then try again.",
                request,
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise self._error(
                ErrorKind.TIMEOUT,
                self._timeout_message(request),
                request,
            ) from exc
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
            raise self._error(
                ErrorKind.NOT_CONFIGURED,
                f"PHLO_BASE_URL is not a usable URL ({type(exc).__name__}); use the form"
                " https://phlorunner.plivo.com/v1.",
                request,
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise self._error(
                ErrorKind.CONNECTION,
                f"Could not reach PHLO at {origin} ({_reason(exc)})."
                + (
                    " If the request got through, the outcome is unknown: check the call"
                    " before trying again."
                    if request.method == "POST"
                    else " Check PHLO_BASE_URL and the network."
                ),
                request,
            ) from exc
        return self._parse(response, request)

    def _timeout_message(self, request: PhloRequest) -> str:
        seconds = f"{self.timeout[1]:g}"
        if request.method == "POST":
            return (
                f"PHLO did not answer within {seconds} s. The outcome is unknown and the"
                " request was not retried (it is not safe to repeat); check the call before"
                " trying again."
            )
        return f"PHLO did not answer within {seconds} s. Try again in a moment."

    def _parse(self, response: requests.Response, request: PhloRequest) -> PhloResult:
        status = response.status_code
        data = _json_or_none(response)
        api_id = str(data.get("api_id") or "") if isinstance(data, dict) else ""
        provider_error = str(data.get("error") or "").strip() if isinstance(data, dict) else ""

        if 200 <= status < 300:
            if not isinstance(data, dict):
                raise self._error(
                    ErrorKind.BAD_RESPONSE,
                    f"PHLO answered HTTP {status} with a body that is not a JSON object"
                    f" ({_content_type(response)}); the outcome is unknown. Check"
                    " PHLO_BASE_URL points at the PHLO runner.",
                    request,
                    status=status,
                )
            if provider_error:
                raise self._error(
                    ErrorKind.BAD_RESPONSE,
                    f"PHLO answered HTTP {status} but reported an error: {provider_error}",
                    request,
                    status=status,
                    api_id=api_id,
                )
            return PhloResult(api_id=api_id, status=status, request=request, body=data)

        kind, message = self._describe_failure(status, provider_error, request, response)
        raise self._error(kind, message, request, status=status, api_id=api_id)

    def _describe_failure(
        self,
        status: int,
        provider_error: str,
        request: PhloRequest,
        response: requests.Response,
    ) -> tuple[str, str]:
        detail = f": {provider_error}" if provider_error else ""
        if status == 400:
            return (
                ErrorKind.BAD_REQUEST,
                f"PHLO refused the request{detail or ' (HTTP 400, no reason given)'}",
            )
        if status == 401:
            return (
                ErrorKind.UNAUTHORIZED,
                "PHLO rejected the credentials (HTTP 401): check PLIVO_AUTH_ID and"
                " PLIVO_AUTH_TOKEN.",
            )
        if status == 403:
            return (
                ErrorKind.FORBIDDEN,
                f"PHLO refused access (HTTP 403){detail}: check that PLIVO_AUTH_ID's account"
                " owns this PHLO.",
            )
        if status == 404:
            return (
                ErrorKind.NOT_FOUND,
                f"PHLO does not know this PHLO or node (HTTP 404){detail}: check PHLO_ID"
                f" ({self.phlo_id}) and PHLO_MPC_NODE_ID ({self.node_id}).",
            )
        if status == 405:
            return (
                ErrorKind.METHOD_NOT_ALLOWED,
                f"PHLO does not accept {request.method} here (HTTP 405): check PHLO_BASE_URL"
                f" ({_origin(self.base_url)}{urlsplit(self.base_url).path}).",
            )
        if status == 429:
            return (
                ErrorKind.RATE_LIMITED,
                "PHLO is limiting the request rate (HTTP 429); try again in a moment.",
            )
        if status >= 500:
            return (
                ErrorKind.SERVER_ERROR,
                f"PHLO had a server error (HTTP {status}){detail}; try again in a moment.",
            )
        if 300 <= status < 400:
            where = response.headers.get("Location", "")
            return (
                ErrorKind.HTTP_ERROR,
                f"PHLO answered with a redirect (HTTP {status}{' to ' + where if where else ''})"
                "; check PHLO_BASE_URL (scheme and path).",
            )
        return ErrorKind.HTTP_ERROR, f"PHLO answered HTTP {status}{detail}."

    def _error(
        self,
        kind: str,
        message: str,
        request: PhloRequest,
        *,
        status: int | None = None,
        api_id: str = "",
    ) -> PhloError:
        return PhloError(
            kind=kind,
            message=self._redact(message),
            status=status,
            api_id=api_id,
            request=request,
        )

    def _redact(self, text: str) -> str:
        # Belt and braces: a provider or library message must never echo the token to users.
        if self._auth_token and self._auth_token in text:
            text = text.replace(self._auth_token, "[redacted]")
        return text


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type") or "no content type"


def _reason(exc: Exception) -> str:
    """A short, credential-free reason for a connection failure."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "Remote end closed"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


_local = threading.local()


def _client_settings() -> dict[str, Any]:
    return {
        "base_url": settings.PHLO_BASE_URL,
        "auth_id": settings.PLIVO_AUTH_ID,
        "auth_token": settings.PLIVO_AUTH_TOKEN,
        "phlo_id": settings.PHLO_ID,
        "node_id": settings.PHLO_MPC_NODE_ID,
        "connect_timeout": float(settings.PHLO_CONNECT_TIMEOUT),
        "read_timeout": float(settings.PHLO_READ_TIMEOUT),
    }


def get_phlo_client() -> PhloClient:
    """This thread's client for the current settings, kept between actions so its connection
    (and TLS session) is reused; rebuilt when any setting it was built from changes.

    `requests.Session` is not thread-safe, hence one per thread. `with get_phlo_client()`
    does not close it."""
    built_from = _client_settings()
    client: PhloClient | None = getattr(_local, "client", None)
    now = _clock()
    if client is None or _local.built_from != built_from:
        if client is not None:
            client.close()
        client = PhloClient(**built_from, shared=True)
        _local.client, _local.built_from = client, built_from
    elif now - _local.last_used > KEEPALIVE_IDLE_SECONDS:
        client.session.close()  # drops pooled connections; the session stays usable
    _local.last_used = now
    return client
