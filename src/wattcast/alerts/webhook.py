"""New events POSTed as JSON to a webhook (Slack and Teams incoming webhooks show ``text``).

A POST is not idempotent: the receiver of a request that timed out while waiting for
its answer, or that answered 500, may well have taken the events. So a POST is
repeated (at most ``RETRIES`` times in a night) only when it surely did not arrive: the
connection was refused or could not be opened in time. Any other failure is one
warning, and the events go out once more the next night.
"""

from __future__ import annotations

import json
from typing import Any

from wattcast.alerts.deliver import DeliveryError
from wattcast.alerts.digest import Digest

RETRIES = 2
TIMEOUT_SECONDS = 10


def payload(digest: Digest, run_id: int, url: str = "") -> dict[str, Any]:
    """The JSON POSTed: the digest's ``text``, the run and the events. Slack reads ``<``,
    ``>`` and ``&`` in a text as its markup (a meter named ``<!channel>`` pinged the whole
    channel): for a Slack URL they are escaped as Slack asks; other receivers (Teams,
    plain JSON) get the text as it is."""
    text = _for_slack(digest.text) if _is_slack(url) else digest.text
    return {"text": text, "run": run_id, "events": digest.events}


def _is_slack(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host == "slack.com" or host.endswith(".slack.com")


def _for_slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send(section: Any, digest: Digest, run_id: int) -> None:
    """POST the events; an unreachable receiver or an answer other than 2xx raises a
    :class:`DeliveryError` (its message shows the URL redacted: Slack and Teams URLs
    carry their token)."""
    import urllib3

    from wattcast.redaction import redact_url

    url = section.address()
    retry = urllib3.Retry(
        total=None, connect=RETRIES, read=0, status=0, other=0, redirect=RETRIES,
        backoff_factor=0.5, raise_on_status=False,
    )  # fmt: skip
    pool = urllib3.PoolManager(retries=retry, timeout=urllib3.Timeout(TIMEOUT_SECONDS))
    body = json.dumps(payload(digest, run_id, url), default=str).encode()
    try:
        response = pool.request("POST", url, body=body,
                                headers={"Content-Type": "application/json"})  # fmt: skip
    except Exception as exc:
        raise DeliveryError(failure(exc, url)) from None
    if not 200 <= response.status < 300:
        raise DeliveryError(f"HTTP {response.status} from {redact_url(url)}")


def failure(exc: BaseException, url: str) -> str:
    """Why a POST failed, in a few words: ``timed out after 10 s``."""
    from urllib3 import exceptions as errors

    from wattcast.redaction import redact_url, scrub

    reason = exc.reason if isinstance(exc, errors.MaxRetryError) and exc.reason else exc
    where = redact_url(url)
    if isinstance(reason, errors.NameResolutionError):
        return f"host of {where} not found"
    if isinstance(reason, errors.NewConnectionError):  # before ConnectTimeoutError, its base
        cause = reason.__cause__ or reason.__context__
        why = getattr(cause, "strerror", None) or "could not connect"
        return f"{why.lower()} at {where}"
    if isinstance(reason, errors.ConnectTimeoutError):
        return f"no connection to {where} within {TIMEOUT_SECONDS:g} s"
    if isinstance(reason, errors.TimeoutError):  # the answer did not come in time
        return f"timed out after {TIMEOUT_SECONDS:g} s"
    if isinstance(reason, errors.SSLError):
        return f"TLS failed with {where}: {scrub(str(reason), url)}"
    if isinstance(reason, errors.ProtocolError):
        return f"the connection to {where} broke off before an answer"
    return scrub(f"{type(reason).__name__}: {reason}", url)
