"""Hypothesis strategies for hostile requests: bodies of any shape, content types, headers.

Shared by the fuzz tests of the webhook, the routing endpoint and the simulator. What they
generate is what a stranger on the internet can send: JSON of any depth and shape (with
NaN, huge numbers and unpaired surrogates), near-JSON, form bodies with stray escapes,
random bytes, and content types with odd or hostile charsets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlencode

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The fuzz tests' settings. One world (database rows, settings, a simulator) serves every
# example of a test: each request is judged on its own answer and on what it stored.
FUZZ = settings(
    max_examples=300,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# --- text --------------------------------------------------------------------------------------

# Text that breaks things: NUL (PostgreSQL), unpaired surrogates (UTF-8), brackets, escapes.
SPECIAL_TEXTS = [
    "",
    "\x00",
    "\ud800",
    "\udfff",
    "\ud83d\ude00",
    "\u2028",
    "\ufeff",
    "[[[[",
    '"}',
    "\\",
    "%00",
    "+2AA-",
    "sip:a@b.test",
    "+14155550100",
    "x" * 300,
]

any_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(SPECIAL_TEXTS),
    st.lists(
        st.one_of(st.sampled_from(SPECIAL_TEXTS), st.characters(exclude_categories=())),
        max_size=12,
    ).map("".join),
)


def encodable(text: str) -> bool:
    """True when UTF-8 can encode `text` (no unpaired surrogates)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# Text a form body can carry: urlencode() cannot encode unpaired surrogates.
form_text = st.one_of(
    st.text(max_size=40), st.sampled_from([t for t in SPECIAL_TEXTS if encodable(t)])
)

# Headers arrive as latin-1 text without control characters (servers refuse those). No "*":
# from an RFC 2231 parameter with an unknown charset (`charset*=x''y`) Django raises while
# building the request, before any code of ours runs (Django ticket #36991).
header_text = st.text(
    alphabet=st.characters(codec="latin-1", exclude_categories=("Cc",), exclude_characters="*"),
    max_size=60,
)

# --- JSON --------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**200), max_value=10**200),
    st.floats(),  # NaN and infinities included: json.dumps writes them as NaN, Infinity
    any_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)
    ),
    max_leaves=25,
)


def _dumps(value, *, ascii_only: bool) -> bytes:
    # surrogatepass: a raw unpaired surrogate, UTF-8-encoded as no valid text can be.
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _deep(depth: int, shape: str) -> bytes:
    if shape == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    if shape == "list":
        return b"[" * depth + b"]" * depth
    return b"[" * depth  # never closed


# Around the limit (4), and past Python's recursion limit (1,000), where json.loads fails.
_depths = st.one_of(
    st.integers(1, 10),
    st.sampled_from([999, 1_000, 1_001, 3_000, 100_000]),
    st.integers(1_000, 100_000),
)
deep_json = st.builds(_deep, _depths, st.sampled_from(["object", "list", "open"]))
# Mostly JSON's own characters, so that the text is often nearly JSON.
_TOKENS = [*'{}[]",:0123456789.eE+- ', "\\", "\\ud800", "NaN", "Infinity", "true", '"a":']
nearly_json = st.lists(st.sampled_from(_TOKENS), max_size=80).map(lambda t: "".join(t).encode())

json_bodies = st.one_of(
    deep_json,
    json_values.map(lambda v: _dumps(v, ascii_only=True)),
    json_values.map(lambda v: _dumps(v, ascii_only=False)),
    nearly_json,
    st.binary(max_size=200),
)

# --- forms -------------------------------------------------------------------------------------

_FORM_TOKENS = ["%00", "%ff", "%ED%A0%80", "%2B2AA-", "%", "%e", "=", "&", "+", "a", ";", "é"]
form_bodies = st.one_of(
    st.lists(st.tuples(form_text, form_text), max_size=6).map(lambda p: urlencode(p).encode()),
    st.lists(st.sampled_from(_FORM_TOKENS), max_size=40).map(lambda t: "".join(t).encode()),
    st.binary(max_size=200),
)
multipart_bodies = st.builds(
    lambda name, value: (
        b'--b\r\nContent-Disposition: form-data; name="'
        + name
        + b'"\r\n\r\n'
        + value
        + b"\r\n--b--"
    ),
    st.binary(max_size=20),
    st.binary(max_size=60),
)
any_body = st.one_of(json_bodies, form_bodies, multipart_bodies, st.binary(max_size=300))

# --- content types -----------------------------------------------------------------------------

MEDIA_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
    "application/xml",
    "",
]
CHARSETS = [
    "utf-8",
    "UTF-8",
    "latin-1",
    "utf-16",
    "utf-32",
    "utf-7",
    "punycode",
    "idna",
    "undefined",
    "unicode_escape",
    "raw_unicode_escape",
    "rot13",
    "base64",
    "klingon",
    "",
    '"utf-8"',
]


def _typed(media_type: str) -> st.SearchStrategy[str]:
    """`media_type` alone or with any of the charsets."""
    with_charset = st.sampled_from(CHARSETS).map(f"{media_type}; charset={{}}".format)
    return st.one_of(st.just(media_type), with_charset)


json_types = _typed("application/json")
form_types = _typed("application/x-www-form-urlencoded")
multipart_types = st.one_of(
    _typed("multipart/form-data; boundary=b"),
    st.sampled_from(["", '"b"', "x y"]).map("multipart/form-data; boundary={}".format),
)
content_types = st.one_of(
    st.sampled_from(MEDIA_TYPES).flatmap(_typed), multipart_types, header_text
)

# --- whole requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRequest:
    """A request as sent: `client.generic()` passes the body on untouched (post() would
    re-encode it into the content type's charset)."""

    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, client, path: str):
        return client.generic(
            "POST", path, self.body, content_type=self.content_type, headers=self.headers
        )


def _headers(*, required: dict, optional: dict) -> st.SearchStrategy[dict[str, str]]:
    """Header name -> strategy: every `required` one sent, each `optional` one maybe."""
    maybe = {name: st.one_of(st.none(), values) for name, values in optional.items()}
    return st.fixed_dictionaries(required, optional=maybe).map(
        lambda found: {name: value for name, value in found.items() if value is not None}
    )


def raw_requests(
    *, required: dict | None = None, optional: dict | None = None
) -> st.SearchStrategy[RawRequest]:
    """Any body under any content type, with the headers (name -> strategy of values)."""
    extra = {
        "Cookie": header_text,
        "Origin": header_text,
        "X-Forwarded-For": header_text,
        "X-Forwarded-Proto": st.sampled_from(["https", "http", "", "gopher"]),
    }
    sent = _headers(required=required or {}, optional=(optional or {}) | extra)
    # Mostly bodies under their own content type, so that each reaches its parser.
    return st.one_of(
        st.builds(RawRequest, body=json_bodies, content_type=json_types, headers=sent),
        st.builds(RawRequest, body=form_bodies, content_type=form_types, headers=sent),
        st.builds(RawRequest, body=multipart_bodies, content_type=multipart_types, headers=sent),
        st.builds(RawRequest, body=any_body, content_type=content_types, headers=sent),
    )
