"""Stateless, signed resumption tokens (pure: the secret and the clock are passed in).

A token is base64url(JSON state) "." base64url(HMAC-SHA256 over verb and state), so it uses
only URL-safe characters, cannot be altered, and is refused by any other verb.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from datetime import UTC, datetime
from typing import NamedTuple

from provider.errors import BadResumptionToken

_SIGNATURE_BYTES = 16
_LARGEST = 1 << 53  # integers JSON carries exactly; also far beyond any datestamp in seconds
# One encoder for every token: json.dumps given arguments builds a new one each call.
_JSON = json.JSONEncoder(separators=(",", ":"))


class ListState(NamedTuple):
    """Where a list stands: its query, the last key served, and its counters.

    `after` is the (local datestamp, local identifier) of the last record served, or for
    ListSets ("", last setSpec). `max_change_seq` freezes the list when its first page is
    built: records written later are left to the next (incremental) list.
    """

    verb: str
    metadata_prefix: str | None
    from_: str | None
    until: str | None
    set_spec: str | None
    max_change_seq: int
    after: tuple[str, str]
    cursor: int
    complete_list_size: int
    expires: int

    @property
    def expiration_date(self) -> datetime:
        """The moment after which the token is refused."""
        return datetime.fromtimestamp(self.expires, UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, verb: str, payload: str) -> str:
    mac = hmac.digest(secret.encode(), f"{verb}\n{payload}".encode(), "sha256")
    return _b64(mac[:_SIGNATURE_BYTES])


def encode(state: ListState, secret: str) -> str:
    """Return the token text for `state`."""
    body = [
        state.metadata_prefix,
        state.from_,
        state.until,
        state.set_spec,
        state.max_change_seq,
        list(state.after),
        state.cursor,
        state.complete_list_size,
        state.expires,
    ]
    payload = _b64(_JSON.encode(body).encode())
    return f"{payload}.{_sign(secret, state.verb, payload)}"


def decode(token: str, verb: str, secrets: tuple[str, ...], now: datetime) -> ListState:
    """Return the state in `token`, signed with one of `secrets` (the current one and any
    previous one still accepted after a rotation).

    Raises BadResumptionToken when it is malformed, signed for another verb or with another
    key, or expired at `now`.
    """
    payload, _, signature = token.partition(".")
    # Bytes: compare_digest raises TypeError on a non-ASCII str, and any token text a client
    # sends must end in badResumptionToken (protocol §3.6), never in an HTTP 500.
    signed = signature.encode()
    if not payload or not any(
        hmac.compare_digest(signed, _sign(secret, verb, payload).encode()) for secret in secrets
    ):
        raise BadResumptionToken("the resumption token is not one this repository issued")
    try:
        body = json.loads(_unb64(payload))
        prefix, from_, until, set_spec, max_seq, after, cursor, size, expires = body
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadResumptionToken("the resumption token is malformed") from exc
    # Even a correctly signed body is checked field by field (a token of an older format
    # must end in badResumptionToken, not in an error deeper down).
    texts_ok = all(v is None or isinstance(v, str) for v in (prefix, from_, until, set_spec))
    after_ok = (
        isinstance(after, list) and len(after) == 2 and all(isinstance(a, str) for a in after)
    )
    counts_ok = all(type(n) is int and 0 <= n < _LARGEST for n in (max_seq, cursor, size, expires))
    if not (texts_ok and after_ok and counts_ok):
        raise BadResumptionToken("the resumption token is malformed")
    state = ListState(
        verb, prefix, from_, until, set_spec, max_seq, (after[0], after[1]), cursor, size, expires
    )
    if now.timestamp() > state.expires:
        raise BadResumptionToken("the resumption token has expired")
    return state
