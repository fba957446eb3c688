"""New events POSTed as JSON to a webhook (Slack and Teams incoming webhooks show ``text``)."""

from __future__ import annotations

import json
from typing import Any

from wattcast.alerts.digest import Digest

RETRIES = 2
TIMEOUT_SECONDS = 10


def payload(digest: Digest, run_id: int) -> dict[str, Any]:
    return {"text": f"{digest.subject}\n{digest.text}", "run": run_id, "events": digest.events}


def send(section: Any, digest: Digest, run_id: int) -> None:
    """POST the events; an unreachable receiver or an answer other than 2xx raises (its
    message shows the URL redacted: Slack and Teams URLs carry their token)."""
    import urllib3

    from wattcast.redaction import redact_url, scrub

    url = section.address()
    retry = urllib3.Retry(
        total=RETRIES, backoff_factor=0.5, allowed_methods=None,
        status_forcelist=(429, 500, 502, 503, 504), raise_on_status=False,
    )  # fmt: skip
    pool = urllib3.PoolManager(retries=retry, timeout=urllib3.Timeout(TIMEOUT_SECONDS))
    body = json.dumps(payload(digest, run_id), default=str).encode()
    try:
        response = pool.request("POST", url, body=body,
                                headers={"Content-Type": "application/json"})  # fmt: skip
    except Exception as exc:
        raise OSError(scrub(f"{type(exc).__name__}: {exc}", url)) from None
    if not 200 <= response.status < 300:
        raise OSError(f"HTTP {response.status} from {redact_url(url)}")
