"""Every route × every role (and anonymous), against one table of who may reach it.

The table is the test's own statement of the access rules, written from the README (not read from the
code). The walk is built from the app's URL map: a route without an entry fails, so a new route cannot
ship without someone deciding who may use it. "Refused" means 401 (API) or a redirect to the sign-in page
for anonymous callers, and 403 for the wrong role; "allowed" means anything but those (a 400 for the empty
body, a 404 or 409 are the route's own business).
"""

from pathlib import Path

import pytest

from app.extensions import db
from app.models import Role
from tests.factories import advance, jpeg, make_user, reported, token_for

ANON, CIT, WRK, HND, DSP, SUP, ADM, SYS = ("anonymous", "citizen", "worker", "handler", "dispatcher", "supervisor",
                                          "admin", "system")
EVERYONE = {ANON, CIT, WRK, HND, DSP, SUP, ADM, SYS}
SIGNED_IN = EVERYONE - {ANON}
STAFF = {DSP, SUP, ADM}
FIELD = {WRK, HND}

# (method, rule) → roles that get through. Public pages and documents are open to everyone.
ACCESS = {
    ("GET", "/"): EVERYONE,  # the front door for visitors; people signed in are sent to their page
    ("GET", "/api/v1/cameras"): STAFF,
    ("GET", "/api/v1/cameras/<code>"): STAFF,
    ("GET", "/api/v1/cameras/<code>/snapshot"): STAFF,
    ("POST", "/api/v1/cameras/<code>/calibration"): {SUP, ADM},
    ("GET", "/api/v1/cases"): SIGNED_IN,
    ("POST", "/api/v1/cases"): SIGNED_IN,
    ("GET", "/api/v1/cases/<ref>"): SIGNED_IN,
    ("GET", "/api/v1/cases/map"): STAFF | FIELD,  # the console's map; citizens have their own list
    ("GET", "/api/v1/cases/export"): STAFF,
    ("GET", "/api/v1/cases/<id:case_id>/candidates"): STAFF,
    ("GET", "/api/v1/cases/<id:case_id>/insight"): STAFF,
    ("GET", "/api/v1/categories"): EVERYONE,
    ("POST", "/api/v1/categories/suggest"): EVERYONE,
    ("GET", "/api/v1/public/reports"): EVERYONE,
    ("GET", "/api/v1/departments"): SIGNED_IN,
    ("GET", "/api/v1/events/stream"): STAFF | FIELD,  # citizens and system accounts have no live stream
    ("GET", "/api/v1/notifications"): SIGNED_IN,
    ("POST", "/api/v1/notifications/<id:notification_id>/read"): SIGNED_IN,  # their own; another's is 404
    ("POST", "/api/v1/notifications/read-all"): SIGNED_IN,
    ("GET", "/api/v1/grids"): EVERYONE,
    ("GET", "/api/v1/grids/lookup"): EVERYONE,
    ("GET", "/api/v1/kpis"): STAFF,
    ("GET", "/api/v1/kpis/export"): STAFF,
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("POST", "/api/v1/me/duty"): FIELD,
    ("POST", "/api/v1/me/position"): FIELD,
    ("GET", "/api/v1/me/tasks"): FIELD,
    ("GET", "/api/v1/me/patrol"): FIELD,
    ("POST", "/api/v1/me/patrol"): FIELD,
    ("POST", "/api/v1/me/patrol/end"): FIELD,
    ("GET", "/api/v1/forecast"): STAFF,  # the console's forecast layer
    ("GET", "/api/v1/media/<id:media_id>"): STAFF | FIELD | {CIT},  # the citizen here is the case's reporter
    ("GET", "/api/v1/nearby"): EVERYONE,
    ("GET", "/api/v1/openapi.json"): EVERYONE,
    ("GET", "/api/v1/workers"): STAFF,
    ("GET", "/console"): STAFF | FIELD,
    ("GET", "/console/dashboard"): STAFF,
    ("GET", "/console/wall"): STAFF,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/lang/<code>"): EVERYONE,
    ("GET", "/login"): EVERYONE,
    ("POST", "/login"): EVERYONE,
    ("POST", "/logout"): SIGNED_IN,
    ("GET", "/my/reports"): {CIT},
    ("GET", "/m/"): FIELD,  # the field app; staff keep the console
    ("GET", "/m/icon-<int:size>.png"): EVERYONE,  # what installs the app: asked for before any sign-in
    ("GET", "/m/manifest.webmanifest"): EVERYONE,
    ("GET", "/m/sw.js"): EVERYONE,
    ("GET", "/open311/v2/discovery.<fmt>"): EVERYONE,
    ("POST", "/open311/v2/requests.<fmt>"): EVERYONE,  # its api_key is checked inside (403 without one)
    ("GET", "/open311/v2/requests.<fmt>"): EVERYONE,
    ("GET", "/open311/v2/requests/<rid>.<fmt>"): EVERYONE,
    ("GET", "/open311/v2/services.<fmt>"): EVERYONE,
    ("GET", "/open311/v2/services/<code>.<fmt>"): EVERYONE,
    ("GET", "/photos/<digest>.jpg"): EVERYONE,
    ("GET", "/register"): EVERYONE,
    ("POST", "/register"): EVERYONE,
    ("GET", "/report"): EVERYONE,
    ("POST", "/report"): EVERYONE,
    ("POST", "/report/photo"): EVERYONE,
    ("GET", "/static/<path:filename>"): EVERYONE,
    ("GET", "/track/<token>"): EVERYONE,  # the unguessable token is the permission
    ("GET", "/unsubscribe/<token>"): EVERYONE,  # so is the opt-out link's
    ("POST", "/unsubscribe/<token>"): EVERYONE,
    ("POST", "/track/<token>/rate"): EVERYONE,
}
# POST /api/v1/cases/<id>/<verb>: roles that may perform each verb at all (the relation to the case is
# checked after, and answered differently: not this table's business).
VERB_ACCESS = {
    "verify": {WRK, SYS} | STAFF, "file": STAFF | {SYS}, "dispatch": STAFF | {SYS}, "accept": FIELD,
    "handle": FIELD, "feedback": FIELD, "check": {WRK, SYS} | STAFF, "evaluate": {CIT},  # SYS: AI 核查
    "return": FIELD | STAFF, "request-delay": FIELD, "approve-delay": STAFF, "reject-delay": STAFF,
    "suspend": STAFF, "resume": STAFF, "void": STAFF, "merge": STAFF, "recategorise": STAFF,
    "evidence": {CIT, WRK, HND, SYS} | STAFF,
}
VERB_RULE = ("POST", "/api/v1/cases/<id:case_id>/<verb>")


def test_every_route_has_an_entry(app):
    from app.api.cases import VERBS

    routes = {(m, r.rule) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}}
    missing = routes - set(ACCESS) - {VERB_RULE}
    assert not missing, f"routes without an access entry: {sorted(missing)}"
    assert not set(ACCESS) - routes, "entries for routes that no longer exist"
    assert set(VERBS) == set(VERB_ACCESS), "every verb needs an entry"


@pytest.fixture
def world(town, app):
    """One case with a photo, a citizen who reported it, and a signed-in token for every role."""
    case = advance(town, reported(town, photos=[jpeg()]), "filed")
    db.session.commit()
    people = {CIT: town.citizen, WRK: town.worker, DSP: town.dispatcher, SUP: town.supervisor,
              HND: make_user(Role.HANDLER), ADM: make_user(Role.ADMIN), SYS: make_user(Role.SYSTEM)}
    headers = {role: token_for(user) for role, user in people.items()}
    headers[ANON] = {}
    media = case.media[0]
    values = {"code": "CAM404", "ref": str(case.id), "case_id": str(case.id), "media_id": str(media.id),
              "notification_id": "1", "size": "192", "fmt": "json", "rid": case.number,
              "digest": Path(media.public_path or "0" * 64).stem, "filename": "css/app.css", "token": "unknown-token"}
    return {"headers": headers, "values": values}


def _url(rule: str, values: dict) -> str:
    import re

    url = re.sub(r"<(?:[\w]+:)?(\w+)>", lambda m: values[m.group(1)], rule)
    return url.replace("/lang/CAM404", "/lang/en").replace("/services/CAM404.", "/services/banner.")


def _refused(r, role) -> bool:
    if role == ANON:
        return r.status_code == 401 or (r.status_code == 302 and "/login" in r.headers.get("Location", ""))
    if r.status_code != 403:
        return False
    if not r.is_json:
        return True  # a page: the role check is the only 403 a page answers
    body = r.json
    return isinstance(body, dict) and (body["error"].get("details") or {}).get("reason") == "role"


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_each_role_reaches_exactly_its_routes(client, world, role):
    wrong = []
    for (method, rule), allowed in sorted(ACCESS.items()):
        if rule == "/logout":
            continue  # signs the token's session out; covered in test_auth
        r = client.open(_url(rule, world["values"]), method=method, json={} if method == "POST" else None,
                        headers=world["headers"][role])
        if _refused(r, role) == (role in allowed):
            wrong.append((method, rule, r.status_code))
    for verb, allowed in sorted(VERB_ACCESS.items()):
        r = client.post(f"/api/v1/cases/{world['values']['case_id']}/{verb}", json={},
                        headers=world["headers"][role])
        if _refused(r, role) == (role in allowed):
            wrong.append(("POST", verb, r.status_code))
    assert not wrong, f"{role}: outcomes that contradict the table: {wrong}"
