"""After every nightly run: alerts to the channels of ``[alerts.email]`` and ``[alerts.webhook]``.

Each channel gets the events it has not had yet (new ones, or ones another channel
already carried) of the nights it has been set up for: a channel added to a site that ran
for months starts with that night's events, not with every event since the store began
(those are in ``wattcast anomalies``). An event that ended :data:`NEWS_DAYS` or more before the
night's day is no news (stored and listed, never sent). An event is ``alerted`` once
every channel has carried it. The
e-mail digest goes out on nights with new events or a meter newly to check (every night
with ``[alerts] digest_without_news``); the webhook on nights with news. Sites that
share a store each get their own: a site's channels carry its own meters' events. A delivery that
fails is logged (a warning), recorded with the run, retried the next night with
the events it missed, and never fails the run. Nothing is sent twice for the
same event on the same channel. Acked, expected and explained events are never sent.

A recipient the mail server refuses while taking the others (``550 User unknown``) is one
warning naming the address and the server's answer, and one more delivery recorded with
the run, channel ``email:<address>``, ``failed``, with that answer: the digest counts as
sent (the other recipients have it), so its events are not mailed to the others again.
Each later night sends the refused address alone a digest of the events it missed (those
still to alert), until the server takes it; a refusal again is the warning again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import warnings
from collections.abc import Mapping
from typing import Any

from wattcast.errors import WattcastWarning
from wattcast.store.store import ForecastStore


class DeliveryWarning(WattcastWarning):
    """An alert could not be delivered; it is tried again the next night."""


class DeliveryError(OSError):
    """A delivery that failed, said in one short line (no URL token, no library dump)."""


def channels(spec: Any) -> list[str]:
    """The channels ``spec`` sets up, of ``email`` and ``webhook``."""
    settings = spec.to_settings()
    return [channel for channel in ("email", "webhook") if set_up(settings, channel)]


def set_up(settings: Mapping[str, Any], channel: str, unknown: bool = False) -> bool:
    """Whether run settings (as stored with each run) set up ``channel``; ``unknown``
    where they do not say (a run of an earlier release, stored without them)."""
    if channel not in (settings.get("alerts") or {}):
        return unknown
    alerts = settings["alerts"]
    if channel == "email":
        email = alerts.get("email") or {}
        return bool(email.get("host") and email.get("to") and email.get("sender"))
    webhook = alerts.get("webhook") or {}
    return bool(webhook.get("url") or webhook.get("url_env"))


def deliver(store: ForecastStore, spec: Any, run_id: int) -> list[dict[str, Any]]:
    """Send this night's alerts; what each channel did (never raises for a channel)."""
    from wattcast.alerts import digest as digests

    done: list[dict[str, Any]] = []
    configured = channels(spec)
    context = dataclasses.replace(digests.Context.of(spec), **_night(store, run_id))
    for channel in configured:
        _warn_unset(spec, channel)
        done += _deliver_on(store, spec, run_id, context, channel)
    if "email" in configured:  # unless the server is down or refuses them again tonight
        turned_away = {d["channel"] for d in done if d["error"] is not None}
        if "email" not in turned_away:
            missed = {a: store.missed(a, spec.site.name) for a in spec.alerts.email.to
                      if f"email to {a}" not in turned_away}  # fmt: skip
            done += [_catch_up(store, spec, run_id, context, (a, events))
                     for a, events in missed.items() if events]  # fmt: skip
    store.mark_alerted(configured)
    return done


#: An event that ended this many days or more before the night's day is not its news (a
#: night replayed months back left forecasts that the next night judged, and its digest
#: mailed a November event in March): it is stored and listed, never alerted.
NEWS_DAYS = 35


def _news_since(day: dt.date | None) -> int:
    """Epoch seconds before which an event's end makes it no news on the night of ``day``."""
    if day is None:
        return 0
    start = dt.datetime.combine(day - dt.timedelta(days=NEWS_DAYS), dt.time(), dt.UTC)
    return int(start.timestamp())


def _new_checks(
    store: ForecastStore, spec: Any, run_id: int, to_check: Mapping[str, str]
) -> bool:  # fmt: skip
    """Whether a meter to check is new tonight (or its why changed): a panel that stopped
    is told on the night it is first seen, events or not."""
    before = store.recorded_before(run_id, spec.site.name, "to_check") or {}
    return any(before.get(meter) != why for meter, why in to_check.items())


def _night(store: ForecastStore, run_id: int) -> dict[str, Any]:
    """What the night's run recorded that its digest tells: the last day of its readings
    (a first night's digest was dated by its events, changes that ended days before) and
    the meters to check (:mod:`wattcast.alerts.notes`)."""
    record = json.loads(store.run(run_id).get("record") or "{}")
    end = record.get("data_end")
    day = None if end is None else (dt.datetime.fromisoformat(str(end)) - dt.timedelta(
        seconds=1)).date()  # fmt: skip
    return {"day": day, "to_check": record.get("to_check") or {}}


def _warn_unset(spec: Any, channel: str) -> None:
    """Say every night, events or not, that a channel's secret comes from a variable that
    is not set: otherwise the first night with events is the first to tell (a webhook
    unset for weeks while the nights ran 'ok')."""
    option = "url_env" if channel == "webhook" else "password_env"
    name = getattr(getattr(spec.alerts, channel), option)
    unset = name and (name not in os.environ if channel == "email"  # an empty password is one
                      else not os.environ.get(name, "").strip())  # fmt: skip
    if unset:
        warnings.warn(
            f"[alerts.{channel}] {option} names {name}, which is not set: no alert can "
            f"be sent by {channel} until it is.",
            DeliveryWarning,
            stacklevel=3,
        )


def _deliver_on(
    store: ForecastStore, spec: Any, run_id: int, context: Any, channel: str
) -> list[dict[str, Any]]:
    """The events ``channel`` has not carried yet, sent on it: what it did (the message,
    then one row per recipient the mail server refused)."""
    from wattcast.alerts import digest as digests

    since = store.first_of_stretch(run_id, spec.site.name, lambda s: set_up(s, channel, True))
    events = store.undelivered(channel, spec.site.name, since, _news_since(context.day))
    news = bool(events) or _new_checks(store, spec, run_id, context.to_check)
    if not news and (channel == "webhook" or not spec.alerts.digest_without_news):
        return []
    refused: dict[str, str] = {}
    try:
        digest = digests.compose(store, events, context)
        refused = _send(channel, spec, digest, run_id)
        error = None
    except Exception as exc:  # any failure of a channel: logged, recorded, retried
        error = _failure(exc, spec)
        warnings.warn(f"{channel} alert not delivered ({error}); it is tried again next night.",
                      DeliveryWarning, stacklevel=3)  # fmt: skip
    ids = [e["id"] for e in events]
    at = dt.datetime.now(dt.UTC).isoformat()
    store.record_delivery(run_id, channel, ids, error, at)
    done = [{"channel": channel, "events": len(ids), "error": error}]
    if refused:
        listed = "; ".join(f"{a}: {why}" for a, why in refused.items())
        warnings.warn(f"{channel} alert not delivered to {listed} (the server refused "
                      f"{'it' if len(refused) == 1 else 'them'}; the other recipients have "
                      "it).", DeliveryWarning, stacklevel=3)  # fmt: skip
    for address, why in refused.items():  # a partial delivery: who missed it, and why
        store.record_delivery(run_id, f"{channel}:{address}", ids, f"refused: {why}", at)
        done.append({"channel": f"{channel} to {address}", "events": len(ids),
                     "error": f"refused: {why}"})  # fmt: skip
    return done


def _catch_up(
    store: ForecastStore, spec: Any, run_id: int, context: Any,
    missed: tuple[str, list[dict[str, Any]]],
) -> dict:  # fmt: skip
    """The events an address missed while the mail server refused it, sent to it alone.

    A failure is recorded on channel ``email:<address>:missed``, not ``email:<address>``:
    a refusal there marks the night's own digest as missed by the address."""
    from wattcast.alerts import digest as digests
    from wattcast.alerts.email import send

    address, events = missed
    alone = dataclasses.replace(spec.alerts.email, to=(address,))
    try:
        refused = send(alone, digests.compose(store, events, context))
        error = f"refused: {refused[address]}" if address in refused else None
    except Exception as exc:  # the server refused it again, or is down: tried next night
        error = _failure(exc, spec)
    if error is not None:
        warnings.warn(f"email alert of {len(events)} missed event(s) not delivered to "
                      f"{address} ({error}); it is tried again next night.", DeliveryWarning,
                      stacklevel=3)  # fmt: skip
    at = dt.datetime.now(dt.UTC).isoformat()
    channel = f"email:{address}" + ("" if error is None else ":missed")
    store.record_delivery(run_id, channel, [e["id"] for e in events], error, at)
    return {"channel": f"email to {address} (missed)", "events": len(events), "error": error,
            "retry": True}  # fmt: skip


def _failure(exc: Exception, spec: Any) -> str:
    """A delivery's failure in one line: ours as said, another library's with its type;
    never a piece of the webhook's URL."""
    why = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    return _scrubbed(why, spec)


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
