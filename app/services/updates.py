"""Updates to citizens who left an e-mail address or a phone number: when their case is filed, fixed, closed or
sent back for rework, they are told, in their language, with their private tracking link and an opt-out link.

`subscribe` is called by the verbs that take a contact (a report, joining an existing case); sending happens in
an RQ job after the change commits (`app.domain_events` → `deliver_updates`), with retries, and never
blocks a verb.
E-mail goes over SMTP (`SMTP_HOST`; with none set the message is only logged), SMS through a gateway
(`SMS_GATEWAY`: `log`, `webhook` posting JSON to `SMS_WEBHOOK_URL`, or `package.module:function` of your own).
Each message is recorded once per subscription and event, so a retry never sends it twice.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import secrets
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Callable

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.extensions import db
from app.models import Case, CaseEvent, Delivery, Subscription
from app.models.types import utcnow
from app.services.calendar import local_text
from app.vocabulary import PUBLIC_EVENT_LABELS, PUBLIC_STATUS_LABELS, label
from dispatch.lifecycle import Action

log = logging.getLogger(__name__)

# The changes a reporter hears about: filed, fixed, closed, sent back, or not taken up.
NOTIFY_ACTIONS = frozenset({Action.FILE, Action.FEEDBACK, Action.CHECK_PASS, Action.FIX_ON_SITE, Action.CHECK_FAIL,
                            Action.REOPEN, Action.INVALIDATE})
_EMAIL = re.compile(r"[^@\s<>,;]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")
_PHONE = re.compile(r"\+?[0-9]{7,15}")


def parse_contact(text: str | None) -> tuple[str, str] | None:
    """("email", address) or ("sms", number) from what a reporter typed, or None when it is neither."""
    value = (text or "").strip()
    if _EMAIL.fullmatch(value):
        return "email", value.lower()
    digits = re.sub(r"[\s()\-]", "", value)
    if _PHONE.fullmatch(digits):
        return "sms", digits
    return None


def subscribe(case: Case, contact: str | None) -> Subscription | None:
    """Have `contact` told about `case` from now on (again is harmless; None when it is no e-mail or phone)."""
    parsed = parse_contact(contact)
    if parsed is None:
        return None
    channel, address = parsed
    if not case.tracking_token:  # the messages link to the private tracking page
        case.tracking_token = secrets.token_urlsafe(32)
    found = db.session.scalars(select(Subscription).where(
        Subscription.case_id == case.id, Subscription.channel == channel, Subscription.address == address)).first()
    if found is not None:
        found.unsubscribed_at = None  # joining again after opting out means they want to hear again
        return found
    sub = Subscription(case_id=case.id, channel=channel, address=address, locale=str(get_locale() or "zh_CN"),
                       token=secrets.token_urlsafe(32))
    db.session.add(sub)
    db.session.flush()
    return sub


def unsubscribe(token: str) -> Subscription | None:
    """Stop the updates of the subscription behind an opt-out link (None when the link is unknown)."""
    sub = by_token(token)
    if sub is not None and sub.unsubscribed_at is None:
        sub.unsubscribed_at = utcnow()
    return sub


def by_token(token: str) -> Subscription | None:
    """The subscription behind an opt-out link, or None."""
    return db.session.scalars(select(Subscription).where(Subscription.token == token)).first() if token else None


def wants_message(event_action: str) -> bool:
    """Whether a committed change with this action is one reporters are told about."""
    return event_action in NOTIFY_ACTIONS


# --- sending ----------------------------------------------------------------------------------------------


def _link(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def message(sub: Subscription, event: CaseEvent) -> tuple[str, str]:
    """(subject, text) of the update, in the subscriber's language."""
    case = event.case
    with force_locale(sub.locale):
        what = label(PUBLIC_EVENT_LABELS, event.action)
        stage = label(PUBLIC_STATUS_LABELS, case.status)
        subject = _("Your report %(number)s: %(what)s", number=case.number, what=what)
        lines = [
            _("%(category)s, reported %(when)s", category=case.category.name(sub.locale),
              when=local_text(case.reported_at)),
            _("Now: %(stage)s", stage=stage),
            "",
            _("Follow it here: %(url)s", url=_link(f"/track/{case.tracking_token}")),
            _("No more messages about this report: %(url)s", url=_link(f"/unsubscribe/{sub.token}")),
        ]
    return subject, "\n".join(lines)


def send_email(to: str, subject: str, text: str, unsubscribe_url: str) -> None:
    """Send one e-mail over SMTP (logged only when SMTP_HOST is empty)."""
    cfg = current_app.config
    if not cfg["SMTP_HOST"]:
        log.info("e-mail (no SMTP_HOST set) to %s: %s", to, subject)
        return
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = cfg["MAIL_FROM"], to, subject
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg.set_content(text)
    with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT_S"]) as smtp:
        if cfg["SMTP_STARTTLS"]:
            smtp.starttls()
        if cfg["SMTP_USER"]:
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
        smtp.send_message(msg)


def _log_gateway(to: str, text: str) -> None:
    log.info("SMS to %s: %s", to, text.replace("\n", " / "))


def _webhook_gateway(to: str, text: str) -> None:
    cfg = current_app.config
    body = json.dumps({"to": to, "text": text}, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(cfg["SMS_WEBHOOK_URL"], data=body, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(req, timeout=cfg["SMTP_TIMEOUT_S"]) as resp:  # noqa: S310 - http(s), checked at boot
        if resp.status >= 300:
            raise RuntimeError(f"SMS gateway answered {resp.status}")


SMS_GATEWAYS: dict[str, Callable[[str, str], None]] = {"log": _log_gateway, "webhook": _webhook_gateway}


def sms_gateway(name: str) -> Callable[[str, str], None]:
    """The gateway function `SMS_GATEWAY` names: a built-in one or `package.module:function` (ValueError if not)."""
    if name in SMS_GATEWAYS:
        return SMS_GATEWAYS[name]
    module, sep, attr = name.partition(":")
    if not sep:
        raise ValueError(f"SMS_GATEWAY must be one of {sorted(SMS_GATEWAYS)} or package.module:function: {name!r}")
    try:
        func = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"SMS_GATEWAY {name!r} cannot be loaded: {exc}") from exc
    if not callable(func):
        raise ValueError(f"SMS_GATEWAY {name!r} is not a function")
    return func


def pending(event_id: int) -> list[Subscription]:
    """The active subscriptions of the event's case that have not been sent this event yet."""
    event = db.session.get(CaseEvent, event_id)
    if event is None or event.action not in NOTIFY_ACTIONS:
        return []
    subs = list(db.session.scalars(select(Subscription).where(
        Subscription.case_id == event.case_id, Subscription.unsubscribed_at.is_(None)).order_by(Subscription.id)))
    if not subs:
        return []
    db.session.execute(insert(Delivery).values([{"subscription_id": s.id, "event_id": event_id, "status": "pending",
                                                 "attempts": 0, "error": ""} for s in subs])
                       .on_conflict_do_nothing(constraint="uq_delivery_once"))
    sent = set(db.session.scalars(select(Delivery.subscription_id).where(
        Delivery.event_id == event_id, Delivery.status == "sent")))
    return [s for s in subs if s.id not in sent]


def send(sub: Subscription, event_id: int) -> bool:
    """Send one subscription its message about one event and record the outcome; False when it failed."""
    event = db.session.get(CaseEvent, event_id)
    row = db.session.scalars(select(Delivery).where(Delivery.subscription_id == sub.id,
                                                    Delivery.event_id == event_id).with_for_update()).one()
    if row.status == "sent":
        return True
    row.attempts += 1
    subject, text = message(sub, event)
    try:
        if sub.channel == "email":
            send_email(sub.address, subject, text, _link(f"/unsubscribe/{sub.token}"))
        else:
            sms_gateway(current_app.config["SMS_GATEWAY"])(sub.address, f"{subject}\n{text}")
    except Exception as exc:  # noqa: BLE001 - any transport error: recorded, and the job is retried
        row.status, row.error = "failed", str(exc)[:300]
        log.warning("update %s to subscription %s failed: %s", event_id, sub.id, exc)
        return False
    row.status, row.error, row.sent_at = "sent", "", utcnow()
    return True
