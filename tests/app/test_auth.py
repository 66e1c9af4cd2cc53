"""Web sign-in, sessions with CSRF, the language switch and role checks on pages."""

import re

import pytest

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Role
from tests.factories import PASSWORD, make_grids, make_user


def login(client, username, password=PASSWORD, **kw):
    return client.post("/login", data={"username": username, "password": password}, **kw)


def test_login_page_is_chinese_first(client, app):
    r = client.get("/login")
    assert r.status_code == 200 and "登录" in r.text and 'lang="zh-CN"' in r.text
    assert "Sign in" in client.get("/login?lang=en").text


def test_login_and_console(client, app):
    make_grids()
    user = make_user(Role.DISPATCHER)
    db.session.commit()
    assert client.get("/console").status_code == 302  # to the login page
    bad = login(client, user.username, "wrong-password")
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    ok = login(client, user.username)
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/")
    page = client.get("/console")
    assert page.status_code == 200 and 'id="map"' in page.text and "vendor/leaflet/leaflet.js" in page.text
    assert client.get("/api/v1/me").json["username"] == user.username


def test_open_redirect_is_refused(client, app):
    user = make_user(Role.SUPERVISOR)
    db.session.commit()
    r = login(client, user.username, query_string={"next": "https://evil.example/"})
    assert r.headers["Location"] == "/"


def test_citizen_cannot_open_console(client, app):
    user = make_user(Role.CITIZEN)
    db.session.commit()
    login(client, user.username)
    r = client.get("/console")
    assert r.status_code == 403 and "无权" in r.text


def test_inactive_user_cannot_sign_in(client, app):
    user = make_user(Role.WORKER)
    user.active = False
    db.session.commit()
    assert login(client, user.username).status_code == 401


def test_language_switch_is_remembered(client, app):
    client.get("/lang/en")
    assert "Sign in" in client.get("/login").text
    client.get("/lang/zh_CN")
    assert "登录" in client.get("/login").text


class _CsrfOn(TestConfig):
    WTF_CSRF_ENABLED = True


@pytest.fixture
def csrf_client(app):
    from tests.conftest import IsolatedClient

    strict = create_app(_CsrfOn)
    strict.config["MEDIA_ROOT"] = app.config["MEDIA_ROOT"]
    strict.test_client_class = IsolatedClient
    return strict.test_client()


def test_session_api_calls_need_csrf_but_tokens_do_not(csrf_client, app):
    make_grids()
    user = make_user(Role.DISPATCHER)
    db.session.commit()
    form = csrf_client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    assert login(csrf_client, user.username).status_code == 400  # no CSRF token in the form
    r = csrf_client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    body = {"category": "banner", "lon": 120.005, "lat": 30.005}
    refused = csrf_client.post("/api/v1/cases", json=body)
    assert refused.status_code == 400 and "表单已过期" in refused.json["error"]["message"]
    page_token = re.search(r'name="csrf-token" content="([^"]+)"', csrf_client.get("/console").text).group(1)
    assert csrf_client.post("/api/v1/cases", json=body, headers={"X-CSRFToken": page_token}).status_code == 201
    from app.services.users import issue_token

    bearer = issue_token(user, "device")
    db.session.commit()
    with csrf_client.session_transaction() as sess:
        sess.clear()
    r = csrf_client.post("/api/v1/cases", json=body, headers={"Authorization": f"Bearer {bearer}"})
    assert r.status_code == 201


def test_login_is_rate_limited(client, app):
    app.config["RATELIMIT_LOGIN"] = "3 per minute"
    try:
        codes = [login(client, "nobody", "x" * 8).status_code for _ in range(5)]
    finally:
        app.config["RATELIMIT_LOGIN"] = TestConfig.RATELIMIT_LOGIN
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
