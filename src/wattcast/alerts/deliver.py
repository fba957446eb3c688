"""After every nightly run: alerts to the channels of ``[alerts.email]`` and ``[alerts.webhook]``.

Each channel gets the events it has not had yet (new ones, or ones another channel
already carried); an event is ``alerted`` once every channel has carried it. The
e-mail digest goes out on nights with new events (every night with ``[alerts]
digest_without_news``); the webhook only when there are new events. Sites that
share a store each get their own: a site's channels carry its own meters' events. A delivery that
fails is logged (a warning), recorded with the run, retried the next night with
the events it missed, and never fails the run. Nothing is sent twice for the
same event on the same channel. Acked, expected and explained events are never sent.

A recipient the mail server refuses while taking the others (``550 User unknown``) is one
warning naming the address and the server's answer, and one more delivery recorded with
the run, channel ``email:<address>``, ``failed``, with that answer: the digest counts as
sent (the other recipients have it), so its events are not mailed again; the refused
address gets the next night's digest, and the warning again while it is refused.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

from wattcast.errors import WattcastWarning
from wattcast.store.store import ForecastStore


class DeliveryWarning(WattcastWarning):
    """An alert could not be delivered; it is tried again the next night."""


class DeliveryError(OSError):
    """A delivery that failed, said in one short line (no URL token, no library dump)."""


def channels(spec: Any) -> list[str]:
    alerts = spec.alerts
    found = []
    if alerts.email.host and alerts.email.to and alerts.email.sender:
        found.append("email")
    if alerts.webhook.configured:
        found.append("webhook")
    return found


def deliver(store: ForecastStore, spec: Any, run_id: int) -> list[dict[str, Any]]:
    """Send this night's alerts; what each channel did (never raises for a channel)."""
    from wattcast.alerts import digest as digests

    done = []
    configured = channels(spec)
    context = digests.Context.of(spec)
    for channel in configured:
        events = store.undelivered(channel, spec.site.name)
        if not events and (channel == "webhook" or not spec.alerts.digest_without_news):
            continue
        refused: dict[str, str] = {}
        try:
            digest = digests.compose(store, events, context)
            refused = _send(channel, spec, digest, run_id)
            error = None
        except Exception as exc:  # any failure of a channel: logged, recorded, retried
            why = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
            error = _scrubbed(why, spec)
            warnings.warn(f"{channel} alert not delivered ({error}); it is tried again next night.",
                          DeliveryWarning, stacklevel=2)  # fmt: skip
        ids = [e["id"] for e in events]
        at = dt.datetime.now(dt.UTC).isoformat()
        store.record_delivery(run_id, channel, ids, error, at)
        done.append({"channel": channel, "events": len(ids), "error": error})
        if refused:
            listed = "; ".join(f"{a}: {why}" for a, why in refused.items())
            warnings.warn(f"{channel} alert not delivered to {listed} (the server refused "
                          f"{'it' if len(refused) == 1 else 'them'}; the other recipients have "
                          "it).", DeliveryWarning, stacklevel=2)  # fmt: skip
        for address, why in refused.items():  # a partial delivery: who missed it, and why
            store.record_delivery(run_id, f"{channel}:{address}", ids, f"refused: {why}", at)
            done.append({"channel": f"{channel} to {address}", "events": len(ids),
                         "error": f"refused: {why}"})  # fmt: skip
    store.mark_alerted(configured)
    return done


def _scrubbed(error: str, spec: Any) -> str:
    """An error with no piece of the webhook's URL in it (the URL carries its token)."""
    from wattcast.redaction import scrub

    webhook = spec.alerts.webhook
    if webhook.url:
        return scrub(error, webhook.url)
    try:
        return scrub(error, webhook.address()) if webhook.url_env else error
    except Exception:  # the variable is not set: the error says so, with no URL
        return error


def _send(channel: str, spec: Any, digest: Any, run_id: int) -> dict[str, str]:
    """Send on ``channel``: the recipients refused while the others took it (e-mail)."""
    if channel == "email":
        from wattcast.alerts.email import send

        return send(spec.alerts.email, digest)
    from wattcast.alerts.webhook import send as post

    post(spec.alerts.webhook, digest, run_id)
    return {}
