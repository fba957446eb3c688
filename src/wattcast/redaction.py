"""Secrets in settings, redacted in one place.

A webhook URL is a secret: Slack and Teams carry their token in its path (and
some receivers in its query or its user name). Wherever a URL is written down
(stored run settings, exports, logs, messages) it is shown as its scheme and
host with the rest replaced by ``***``: ``https://hooks.slack.com/services/***``.
A redacted URL read back (a stored run replayed) is no URL at all.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MARK = "***"
#: A first path segment kept in view: a plain word such as ``services`` or ``hooks``.
_WORD = re.compile(r"[A-Za-z][A-Za-z_-]{0,23}")


def redact_url(url: str) -> str:
    """``url`` with everything after its host (and any user name or password) hidden."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MARK
    if not parts.scheme or not host:
        return MARK
    segments = [s for s in parts.path.split("/") if s]
    kept = f"/{segments[0]}" if len(segments) > 1 and _WORD.fullmatch(segments[0]) else ""
    return f"{parts.scheme}://{host}{port}{kept}/{MARK}"


def is_redacted(text: object) -> bool:
    """Whether ``text`` is a redacted secret (as :func:`redact_url` writes it)."""
    return isinstance(text, str) and text.strip().endswith(MARK)


def scrub(text: str, url: str | None) -> str:
    """``text`` (an error message) with every piece of ``url`` that carries a secret
    replaced by its redacted form."""
    if not url:
        return text
    shown = redact_url(url)
    parts = urlsplit(url.strip())
    pieces = [url.strip(), parts.netloc + parts.path, parts.path + "?" + parts.query,
              parts.path, parts.query, parts.password or "", parts.username or ""]  # fmt: skip
    for piece in sorted({p for p in pieces if len(p) > 1 and p != "/"}, key=len, reverse=True):
        if piece in shown:
            continue
        text = text.replace(piece, shown)
    return text
