"""Open311 GeoReport v2: every endpoint in JSON and XML, every error path, a round trip."""

from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest

from app.extensions import db
from app.models import Case
from app.models.types import utcnow
from app.services.open311 import create_key
from tests.factories import Cast, advance, make_grids, reported

BASE = "/open311/v2"


@pytest.fixture
def key(app):
    make_grids()
    k = create_key("civic-app")
    db.session.commit()
    return k


def post(client, key, **fields):
    data = {"api_key": key, "service_code": "banner", "lat": "30.005", "long": "120.005",
            "description": "横幅挂在树上", "email": "a@example.org", **fields}
    return client.post(f"{BASE}/requests.json", data={k: v for k, v in data.items() if v is not None})


def test_discovery_json_and_xml(client, key):
    d = client.get(f"{BASE}/discovery.json").json
    assert d["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(d["endpoints"][0]["formats"]) == {"text/xml", "application/json"}
    x = ET.fromstring(client.get(f"{BASE}/discovery.xml").data)
    assert x.tag == "discovery" and x.find("endpoints/endpoint/formats/format").text == "text/xml"


def test_services_and_definitions(client, key):
    services = client.get(f"{BASE}/services.json").json
    by_code = {s["service_code"]: s for s in services}
    assert len(services) == 28 and by_code["road_damage"]["metadata"] is True
    assert by_code["banner"]["metadata"] is False and by_code["banner"]["group"] == "宣传广告"
    x = ET.fromstring(client.get(f"{BASE}/services.xml").data)
    assert x.tag == "services" and len(x.findall("service")) == 28
    d = client.get(f"{BASE}/services/road_damage.json").json
    attr = d["attributes"][0]
    assert attr["code"] == "size" and attr["datatype"] == "singlevaluelist" and attr["required"] is True
    assert [v["key"] for v in attr["values"]] == ["small", "large"]
    xd = ET.fromstring(client.get(f"{BASE}/services/road_damage.xml").data)
    assert xd.tag == "service_definition" and xd.find("attributes/attribute/values/value/key").text == "small"


def test_post_then_get_round_trip(client, key):
    r = post(client, key, first_name="小", last_name="王", media_url="https://example.org/p.jpg")
    assert r.status_code == 201
    rid = r.json[0]["service_request_id"]
    case = db.session.scalars(db.select(Case).where(Case.number == rid)).one()
    assert case.source.value == "api" and case.reporter_contact == "a@example.org" and case.reporter_name == "小 王"
    one = client.get(f"{BASE}/requests/{rid}.json").json
    assert isinstance(one, list) and len(one) == 1
    req = one[0]
    assert req["status"] == "open" and req["service_code"] == "banner" and req["lat"] == 30.005
    assert req["media_url"] == "https://example.org/p.jpg" and "a@example.org" not in str(one)
    x = ET.fromstring(client.get(f"{BASE}/requests/{rid}.xml").data)
    assert x.tag == "service_requests" and x.find("request/service_request_id").text == rid
    listed = client.get(f"{BASE}/requests.json?service_request_id={rid}").json
    assert [r["service_request_id"] for r in listed] == [rid]


def test_attributes_are_checked_and_kept(client, key):
    assert post(client, key, service_code="road_damage").status_code == 400  # size is required
    bad = post(client, key, service_code="road_damage", **{"attribute[size]": "huge"})
    assert bad.status_code == 400 and "size" in bad.json[0]["description"]
    ok = post(client, key, service_code="road_damage", **{"attribute[size]": "large"})
    case = db.session.scalars(db.select(Case)).one()
    assert ok.status_code == 201 and case.extra["open311"]["attributes"] == {"size": "large"}


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "o311_wrong"}, 403, "api_key"),
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "nope"}, 404, "nope"),
        ({"lat": None, "long": None}, 400, "lat"),
        ({"lat": "95", "long": "120"}, 400, "-90 到 90 之间"),  # messages in the jurisdiction's language
        ({"lat": "31.5", "long": "121.5"}, 400, "网格"),
        ({"description": "x" * 4001}, 400, "4000"),
    ],
)
def test_post_errors(client, key, fields, status, words):
    r = post(client, key, **fields)
    assert r.status_code == status, r.json
    assert r.json[0]["code"] == status and words in r.json[0]["description"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 0


def test_errors_in_xml(client, key):
    r = client.post(f"{BASE}/requests.xml", data={"service_code": "banner", "lat": "30", "long": "120"})
    x = ET.fromstring(r.data)
    assert r.status_code == 403 and x.tag == "errors" and x.find("error/code").text == "403"
    assert client.get(f"{BASE}/services/nope.xml").status_code == 404
    assert client.get(f"{BASE}/requests/19990101-00001.json").json[0]["code"] == 404
    assert client.get(f"{BASE}/services.csv").status_code == 404


def test_get_filters(client, key, app):
    cast = Cast()
    closed = advance(cast, reported(cast, category="banner"), "closed")
    reported(cast, category="exposed_garbage")
    old = reported(cast, category="banner")
    old.reported_at = utcnow() - timedelta(days=120)
    db.session.commit()
    rows = client.get(f"{BASE}/requests.json").json
    assert len(rows) == 2  # default: the last 90 days
    assert [r["service_request_id"] for r in client.get(f"{BASE}/requests.json?status=closed").json] == [closed.number]
    assert len(client.get(f"{BASE}/requests.json?status=open&service_code=exposed_garbage").json) == 1
    start = (utcnow() - timedelta(days=150)).isoformat()
    end = (utcnow() - timedelta(days=100)).isoformat()
    q = client.get(f"{BASE}/requests.json", query_string={"start_date": start, "end_date": end}).json
    assert [r["service_request_id"] for r in q] == [old.number]
    too_long = client.get(f"{BASE}/requests.json", query_string={"start_date": start})
    assert too_long.status_code == 400 and "90" in too_long.json[0]["description"]
    assert client.get(f"{BASE}/requests.json?status=maybe").status_code == 400
    assert len(client.get(f"{BASE}/requests.json?page_size=1&page=2").json) == 1
    assert len(client.get(f"{BASE}/requests.json?bbox=120.0,30.0,120.004,30.01").json) == 0
    assert client.get(f"{BASE}/requests.json?start_date=yesterday").status_code == 400
    x = ET.fromstring(client.get(f"{BASE}/requests.xml?status=closed").data)
    assert x.find("request/status").text == "closed" and x.find("request/expected_datetime") is not None


def test_jurisdiction_id_is_accepted(client, key):
    assert client.get(f"{BASE}/services.json?jurisdiction_id=demo.city").status_code == 200
    assert post(client, key, jurisdiction_id="demo.city").status_code == 201


def test_keys_cli(app):
    r = app.test_cli_runner().invoke(args=["open311", "keys", "create", "hotline-bridge"])
    assert r.exit_code == 0 and r.output.strip().startswith("o311_")


def test_control_characters_are_refused_and_never_break_the_xml_feed(client, key):
    r = post(client, key, description="横幅\x0b挂在树上\x00")
    assert r.status_code == 400 and db.session.scalar(db.select(db.func.count()).select_from(Case)) == 0
    # A row written before the input layer refused them (or by other means) must not break every client.
    assert post(client, key, description="正常").status_code == 201
    db.session.execute(db.text("UPDATE cases SET description = 'bad' || chr(11) || chr(27) || '<&>'"))
    db.session.commit()
    xml = client.get(f"{BASE}/requests.xml").data
    row = ET.fromstring(xml).find("request/description")  # well-formed: parses
    assert row.text == "bad<&>"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://example.org/a.jpg",
                                 "http://", "https://exa mple.org/a.jpg"])
def test_only_http_media_urls_are_stored(client, key, url):
    r = post(client, key, media_url=url)
    assert r.status_code == 400 and "media_url" in r.json[0]["description"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 0


def test_a_http_media_url_is_echoed(client, key):
    rid = post(client, key, media_url="https://photos.example.org/a.jpg").json[0]["service_request_id"]
    assert client.get(f"{BASE}/requests/{rid}.json").json[0]["media_url"] == "https://photos.example.org/a.jpg"


def test_an_over_long_address_is_refused_not_cut(client, key):
    r = post(client, key, address_string="路" * 256)
    assert r.status_code == 400 and "255" in r.json[0]["description"]


def test_a_retried_post_answers_like_the_first(client, key):
    first = post(client, key, client_request_id="retry-1")
    again = post(client, key, client_request_id="retry-1")
    assert first.status_code == 201 and again.status_code == 200 and again.json == first.json
    other_key = create_key("another-tool")
    db.session.commit()
    theirs = post(client, other_key, client_request_id="retry-1")  # the same id from another client
    assert theirs.status_code == 201 and theirs.json != first.json
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 2


def test_posts_are_rate_limited_per_key(client, key, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_OPEN311", "3 per minute")
    codes = [post(client, key, description=f"第{i}条").status_code for i in range(4)]
    other_key = create_key("another-tool")
    db.session.commit()
    assert codes == [201, 201, 201, 429] and post(client, other_key).status_code == 201
    assert client.get(f"{BASE}/services.json").status_code == 200  # reading is not limited by it


def test_a_request_under_the_catch_all_is_classified_and_its_reporter_subscribed(client, key, app, tmp_path,
                                                                                 monkeypatch):
    from app.models import Subscription
    from app.services import intel

    monkeypatch.setitem(app.config, "INTEL_MODEL_DIR", str(tmp_path / "intel"))
    intel.train_text_model(with_history=False)
    r = post(client, key, service_code="other", description="路口的井盖不见了，晚上很危险")
    rid = r.json[0]["service_request_id"]
    one = client.get(f"{BASE}/requests/{rid}.json").json[0]
    assert one["service_code"] == "manhole_abnormal"  # what its words say, not "other"
    case = db.session.scalars(db.select(Case).where(Case.number == rid)).one()
    assert case.extra["category_from_text"]["from"] == "other"
    sub = db.session.scalars(db.select(Subscription).where(Subscription.case_id == case.id)).one()
    assert (sub.channel, sub.address) == ("email", "a@example.org")  # Open311's email: told how it goes
