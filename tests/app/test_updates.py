"""Updates to citizens who left a contact: e-mail over a real SMTP server (aiosmtpd), SMS through the log and the
webhook gateways, in the reporter's language, with retries that never send a message twice, and the opt-out."""

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from app.extensions import db
from app.jobs import get_queue, tasks
from app.models import Case, Delivery, Subscription
from app.services import cases as svc
from app.services import updates
from tests.app.test_citizen import submit
from tests.conftest import run_jobs
from tests.factories import advance, check, reported


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """What the SMTP server received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp(app, monkeypatch):
    inbox = Inbox()
    inbox.port = port = free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://city.example.cn")
    yield inbox
    server.stop()


def test_contacts_are_recognised():
    assert updates.parse_contact(" Zhang@Example.COM ") == ("email", "zhang@example.com")
    assert updates.parse_contact("138 0013-8000") == ("sms", "13800138000")
    assert updates.parse_contact("+86 138 0013 8000") == ("sms", "+8613800138000")
    assert updates.parse_contact("王先生") is None and updates.parse_contact("12") is None
    assert updates.parse_contact("") is None and updates.parse_contact("a@b") is None


def test_a_reporter_is_told_by_email_as_the_case_moves_on_until_they_opt_out(app, client, town, smtp):
    r = submit(client, contact="zhang@example.com")
    token = r.headers["Location"].rsplit("/", 1)[1]
    case = db.session.scalars(db.select(Case)).one()
    sub = db.session.scalars(db.select(Subscription)).one()
    assert (sub.channel, sub.address) == ("email", "zhang@example.com") and sub.locale.startswith("zh")
    get_queue("default").empty()
    advance(town, case, "verified")
    db.session.commit()
    assert get_queue("default").count == 0  # verification is not news to the reporter
    advance(town, case, "filed")
    db.session.commit()
    assert run_jobs("default") >= 1
    mail = smtp.messages[-1]
    assert mail["To"] == "zhang@example.com" and case.number in mail["Subject"] and "已受理" in mail["Subject"]
    body = mail.get_content()
    assert f"https://city.example.cn/track/{token}" in body and f"/unsubscribe/{sub.token}" in body
    assert "暴露垃圾" in body and "现在：" in body and "UTC" not in body
    assert mail["List-Unsubscribe"] == f"<https://city.example.cn/unsubscribe/{sub.token}>"
    advance(town, case, "resolved")
    db.session.commit()
    run_jobs("default")
    assert len(smtp.messages) == 2 and "已处理好" in smtp.messages[-1]["Subject"]

    page = client.get(f"/unsubscribe/{sub.token}")  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "停止" in page.text
    assert db.session.get(Subscription, sub.id).unsubscribed_at is None
    done = client.post(f"/unsubscribe/{sub.token}")
    assert done.status_code == 200 and "不会再" in done.text
    check(town, case, passed=True)
    db.session.commit()
    run_jobs("default")
    assert len(smtp.messages) == 2  # closed, but they opted out
    assert client.post("/unsubscribe/not-a-token").status_code == 404


def test_joining_the_same_problem_subscribes_in_the_reporters_language(app, client, town, smtp):
    existing = reported(town)
    db.session.commit()
    client.get("/lang/en")
    submit(client, join=existing.number, contact="lee@example.com", request_id="req-9")
    db.session.expire_all()
    sub = db.session.scalars(db.select(Subscription).where(Subscription.case_id == existing.id)).one()
    assert sub.locale == "en" and db.session.get(Case, existing.id).tracking_token  # the link they will get
    advance(town, existing, "filed")
    db.session.commit()
    run_jobs("default")
    assert "Accepted for handling" in smtp.messages[-1]["Subject"] and "Now:" in smtp.messages[-1].get_content()


def test_a_failed_send_is_retried_and_what_went_out_is_not_sent_again(app, client, town, smtp, monkeypatch, caplog):
    submit(client, contact="zhang@example.com")
    case = db.session.scalars(db.select(Case)).one()
    updates.subscribe(case, "13800138000")
    db.session.commit()
    advance(town, case, "filed")
    db.session.commit()
    event_id = case.events[-1].id
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())  # the mail server is down
    with caplog.at_level(logging.INFO, logger="app.services.updates"), pytest.raises(RuntimeError, match="1 of 2"):
        tasks.deliver_updates(event_id)
    rows = {d.subscription_id: d for d in db.session.scalars(db.select(Delivery))}
    assert sorted((d.status, d.attempts) for d in rows.values()) == [("failed", 1), ("sent", 1)]
    assert sum("SMS to 13800138000" in r.message for r in caplog.records) == 1
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp.port)  # back up
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="app.services.updates"):
        assert tasks.deliver_updates(event_id) == {"event": event_id, "sent": 1}  # only the e-mail was left
    assert not any("SMS to" in r.message for r in caplog.records) and len(smtp.messages) == 1
    db.session.expire_all()
    assert {d.status for d in db.session.scalars(db.select(Delivery))} == {"sent"}
    assert tasks.deliver_updates(event_id)["sent"] == 0 and len(smtp.messages) == 1  # a third run: nothing


class Webhook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's handler name
        Webhook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_sms_through_the_webhook_gateway(app, town, monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setitem(app.config, "SMS_GATEWAY", "webhook")
    monkeypatch.setitem(app.config, "SMS_WEBHOOK_URL", f"http://127.0.0.1:{server.server_port}/sms")
    try:
        case, _ = svc.report_case(None, category_code="exposed_garbage", lon=120.005, lat=30.005,
                                  reporter_contact="138 0013 8000")
        db.session.commit()
        advance(town, case, "filed")
        db.session.commit()
        run_jobs("default")
    finally:
        server.shutdown()
    assert [m["to"] for m in Webhook.received] == ["13800138000"]
    assert case.number in Webhook.received[0]["text"] and "/unsubscribe/" in Webhook.received[0]["text"]
