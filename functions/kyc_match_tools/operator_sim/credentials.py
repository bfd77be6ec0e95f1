"""Client secrets as RFC 6749 §2.3.1 sends them: HTTP Basic (form-urlencoded parts) or in the form."""

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote_plus


def client_secret_of(headers: Mapping[str, str], form: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(client id, secret) from `Authorization: Basic` or the form body; (None, None) if unreadable."""
    scheme, _, encoded = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, client_secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(client_secret)
    return form.get("client_id"), form.get("client_secret")
