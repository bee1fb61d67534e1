"""SNAP signatures: SHA256withRSA for the access token, HMAC-SHA512 for every other call."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
from functools import lru_cache
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JAKARTA = ZoneInfo("Asia/Jakarta")

_WHITESPACE = frozenset(b" \t\r\n")
_COMPACT_TIMESTAMP = re.compile(r"(\d{8})T(\d{6})Z")


def minify_json(body: bytes) -> bytes:
    """Drop the whitespace outside JSON strings, leaving every other byte as received.

    Re-serialising a parsed object would change key order, escapes and number formats, so
    the bank's signature could no longer match.
    """
    out = bytearray()
    in_string = False
    escaped = False
    for byte in body:
        if in_string:
            out.append(byte)
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte in _WHITESPACE:
            continue
        else:
            out.append(byte)
            if byte == 0x22:
                in_string = True
    return bytes(out)


def body_digest(body: bytes) -> str:
    """Return lowerhex(SHA-256(minified body)), the body part of the string to sign."""
    return hashlib.sha256(minify_json(body)).hexdigest()


def string_to_sign(
    method: str, relative_path: str, token: str, body: bytes, timestamp: str
) -> str:
    """Build METHOD:relativePath:accessToken:lowerhex(SHA-256(minified body)):X-TIMESTAMP."""
    return ":".join((method.upper(), relative_path, token, body_digest(body), timestamp))


def hmac_signature(secret: str, message: str, encoding: str = "base64") -> str:
    """Sign a string with HMAC-SHA512 and encode it as base64 (the SNAP default) or hex."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha512).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


def _decode_signature(signature: str, encoding: str) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(signature)
        return base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return None


def verify_hmac(secret: str, message: str, signature: str, encoding: str = "base64") -> bool:
    """Check an HMAC-SHA512 signature in constant time."""
    received = _decode_signature(signature.strip(), encoding)
    if received is None:
        return False
    expected = hmac.new(secret.encode(), message.encode(), hashlib.sha512).digest()
    return hmac.compare_digest(expected, received)


@lru_cache(maxsize=32)
def _public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the bank public key is not an RSA key")
    return key


@lru_cache(maxsize=8)
def _private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the bank private key is not an RSA key")
    return key


def sign_token_request(private_pem: str, client_id: str, timestamp: str) -> str:
    """Sign clientId|timestamp with SHA256withRSA (PKCS#1 v1.5), Base64, as the bank does."""
    signature = _private_key(private_pem).sign(
        f"{client_id}|{timestamp}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return base64.b64encode(signature).decode()


def verify_token_request(public_pem: str, client_id: str, timestamp: str, signature: str) -> bool:
    raw = _decode_signature(signature.strip(), "base64")
    if raw is None:
        return False
    try:
        _public_key(public_pem).verify(
            raw, f"{client_id}|{timestamp}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        return False
    return True


def parse_timestamp(text: str) -> dt.datetime | None:
    """Parse a SNAP timestamp (ISO 8601 with offset, milliseconds optional, or compact UTC).

    Returns None for anything else, including a timestamp without an offset.
    """
    value = text.strip()
    compact = _COMPACT_TIMESTAMP.fullmatch(value)
    if compact:
        try:
            return dt.datetime.strptime(compact[1] + compact[2] + "+0000", "%Y%m%d%H%M%S%z")
        except ValueError:
            return None
    if len(value) > 40 or "T" not in value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(dt.UTC)


def format_timestamp(moment: dt.datetime) -> str:
    """Format an aware time as SNAP's X-TIMESTAMP in Asia/Jakarta: 2026-12-17T10:55:00+07:00."""
    return moment.astimezone(JAKARTA).isoformat(timespec="seconds")
