"""Web sign-in, sessions with CSRF, the language switch and role checks on pages."""

import re

import pytest

from app.config import TestConfig
from app.extensions import db
from app.models import Role
from tests.factories import PASSWORD, make_grids, make_user


def login(client, username, password=PASSWORD, remember=False, **kw):
    data = {"username": username, "password": password, **({"remember": "y"} if remember else {})}
    return client.post("/login", data=data, **kw)


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
    assert ok.status_code == 302 and ok.headers["Location"] == "/console"  # straight to their own page
    page = client.get("/console")
    assert page.status_code == 200 and 'id="map"' in page.text and "vendor/leaflet/leaflet.js" in page.text
    assert client.get("/api/v1/me").json["username"] == user.username


def test_open_redirect_is_refused(client, app):
    user = make_user(Role.SUPERVISOR)
    db.session.commit()
    r = login(client, user.username, query_string={"next": "https://evil.example/"})
    assert r.headers["Location"] == "/console"  # their own page, never the other site


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


@pytest.fixture
def csrf_client(app_with):
    return app_with(WTF_CSRF_ENABLED=True).test_client()


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


def test_logout_revokes_the_session_and_remember_cookies(app, client):
    user = make_user(Role.DISPATCHER)
    db.session.commit()
    login(client, user.username, remember=True)
    session, remember = client.get_cookie("session").value, client.get_cookie("remember_token").value
    login(app.test_client(), user.username)  # a second sign-in elsewhere (the console on another PC)
    other = app.test_client()
    login(other, user.username, remember=True)
    assert other.get_cookie("remember_token").value != remember  # each sign-in has its own cookie
    assert client.get("/api/v1/me").status_code == 200
    client.post("/logout")
    for name, value in (("session", session), ("remember_token", remember)):
        replay = app.test_client()
        replay.set_cookie(name, value)
        assert replay.get("/api/v1/me").status_code == 401, name  # replayed after logout: nobody
    assert other.get("/api/v1/me").status_code == 200  # logging out here does not sign the other PC out


def test_cookies_are_secure_and_http_only_when_served_over_https(app_with):
    secure = app_with(SESSION_COOKIE_SECURE=True)
    with secure.app_context():
        user = make_user(Role.SUPERVISOR)
        db.session.commit()
        r = secure.test_client().post("/login", base_url="https://localhost",
                                      data={"username": user.username, "password": PASSWORD, "remember": "y"})
    cookies = {c.split("=", 1)[0]: c for c in r.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        assert "Secure" in cookies[name] and "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name]
    assert r.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("path", ["/login", "/report", "/api/v1/categories", "/healthz", "/no-such-page",
                                  "/open311/v2/services.xml"])
def test_security_headers_on_every_response(client, app, path):
    r = client.get(path)
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP in development: no HSTS


def test_login_is_limited_per_account_from_any_address(client, app):
    user = make_user(Role.WORKER)
    db.session.commit()
    app.config["RATELIMIT_LOGIN_ACCOUNT"] = "3 per minute"
    try:
        codes = [login(client, user.username, "wrong-pass", environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
                 for i in range(4)]
        right = login(client, user.username, environ_base={"REMOTE_ADDR": "10.0.0.99"}).status_code
        other = make_user(Role.WORKER)
        db.session.commit()
        unaffected = login(client, other.username, environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code
    finally:
        app.config["RATELIMIT_LOGIN_ACCOUNT"] = TestConfig.RATELIMIT_LOGIN_ACCOUNT
    assert codes == [401, 401, 401, 429] and right == 429 and unaffected == 302


def test_sign_in_fails_closed_while_redis_is_down(app_with):
    """A real outage: nothing listens on port 1, so the limiter cannot count."""
    dead = app_with(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", REDIS_URL="redis://127.0.0.1:1/0")
    with dead.app_context():
        user = make_user(Role.DISPATCHER)
        db.session.commit()
        c = dead.test_client()
        codes = [login(c, user.username, "wrong-pass").status_code for _ in range(12)]
        ok = login(c, user.username)
        first = login(dead.test_client(), user.username, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert first.status_code == 503 and int(first.headers["Retry-After"]) > 0
    assert codes[0] == 503 and set(codes) <= {503, 429}  # no password is ever checked (no 401, no 302)
    assert ok.status_code in (503, 429) and ok.headers["Retry-After"]
    assert "稍后" in first.text
