"""Known secrets, and the one scrubber every outgoing message goes through.

auditor holds a few secrets: the directory bind password, the SMTP password and a password written
in the store URL. It never prints them itself, but servers and libraries echo what they were sent:
an LDAP server's diagnostic may repeat the bind request, a parser may quote the line it refused.
So each secret is registered here the moment it is resolved (`register_secret`), and every message
that leaves the process — an error line on stderr, a log line, an error stored in the history
(collection health, delivery attempts), a span attribute or event — is passed through `scrub`,
which replaces every known secret, in the forms it travels in (as is, URL-encoded, base64), by
`***`. `AuditorError` scrubs its own message when it is created, so an error can be printed,
stored or attached anywhere without further thought.

Secrets are scrubbed whatever their length: a one-letter password turns every such letter of a
message into `***`, which is ugly but never a leak.
"""

from __future__ import annotations

import base64
import threading
from urllib.parse import quote, quote_plus

__all__ = ["REDACTED", "forget_secrets", "register_secret", "scrub"]

REDACTED = "***"

_lock = threading.Lock()
_forms: tuple[str, ...] = ()


def _variants(secret: str) -> set[str]:
    forms = {secret, quote(secret), quote(secret, safe=""), quote_plus(secret), quote_plus(secret, safe="")}
    forms.add(base64.b64encode(secret.encode("utf-8", "surrogateescape")).decode("ascii"))
    return {form for form in forms if form}


def register_secret(secret: str | None) -> None:
    """Remember a secret (and its encoded forms) so that `scrub` removes it from every message."""
    global _forms
    if not secret:
        return
    with _lock:
        known = set(_forms) | _variants(secret)
        # Longest first, so a secret that contains another is replaced whole.
        _forms = tuple(sorted(known, key=len, reverse=True))


def forget_secrets() -> None:
    """Forget every registered secret (tests; a service that re-reads its config)."""
    global _forms
    with _lock:
        _forms = ()


def scrub(text: str) -> str:
    """`text` with every form of every known secret replaced by `***`."""
    forms = _forms
    if not forms or not text:
        return text
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return text
