"""Property tests: a request with one malformed field is refused with a 4xx, never a 5xx, and stores nothing.

Each example starts from a valid request (JSON API report or verb, the public form, Open311 POST and GET,
the case list's filters) and replaces one field with a value that cannot be right for it: control
characters, text far over its length, numbers beyond the database's range or not finite, Unicode digits,
lists and objects where a scalar belongs. Over 1,000 generated requests in all.
"""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import Case, CaseEvent, Media
from app.services.open311 import create_key
from tests.factories import INSIDE_WEST, advance, jpeg, reported, token_for

EXAMPLES = 220
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

CONTROL = st.sampled_from([chr(c) for c in (*range(0, 9), 11, 12, *range(14, 32), 127)])
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
BAD_TEXT = st.one_of(
    st.tuples(TEXT, CONTROL, TEXT).map("".join),  # a control character anywhere
    st.integers(5001, 9000).map(lambda n: "长" * n),  # over any text limit
    st.lists(TEXT, min_size=1, max_size=3), st.dictionaries(TEXT, TEXT, min_size=1, max_size=2), st.booleans(),
)
BAD_NUMBER = st.one_of(
    st.integers(min_value=2**31, max_value=2**70), st.integers(min_value=-(2**70), max_value=-(2**31) - 1),
    st.sampled_from(["¹", "١٢", "1_0", "0x10", "1,5", "nan", "inf", "-inf", "1e999", "٣.٥", "NaN"]),  # blank = absent
    st.tuples(TEXT, CONTROL).map("".join), st.lists(st.integers(), min_size=1, max_size=2), st.booleans(),
)
BAD_FORM_NUMBER = st.one_of(st.integers(min_value=2**31, max_value=2**70).map(str), st.sampled_from(
    ["¹", "١٢", "1_0", "0x10", "1,5", "nan", "inf", "1e999", "٣.٥"]), st.tuples(TEXT, CONTROL).map("".join))
BAD_FORM_TEXT = st.one_of(st.tuples(TEXT, CONTROL, TEXT).map("".join),
                          st.integers(5001, 6000).map(lambda n: "长" * n))


def stored():
    return tuple(db.session.scalar(db.select(db.func.count()).select_from(t)) for t in (Case, CaseEvent, Media))


def refused(response, before):
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    db.session.expire_all()
    assert stored() == before


REPORT = {"category": "exposed_garbage", "lon": INSIDE_WEST[0], "lat": INSIDE_WEST[1], "description": "垃圾",
          "address": "路口", "priority": 3, "reporter_name": "张三", "reporter_contact": "13800000000",
          "client_request_id": "k1"}
REPORT_KINDS = {"category": "text", "lon": "number", "lat": "number", "description": "text", "address": "text",
                "priority": "number", "reporter_name": "text", "reporter_contact": "text",
                "client_request_id": "text"}


@pytest.fixture
def actors(town):
    case = advance(town, reported(town), "filed")
    db.session.commit()
    return {"case": case, "cit": token_for(town.citizen), "disp": token_for(town.supervisor)}


def _one_bad(fields: dict, kinds: dict, text=BAD_TEXT, number=BAD_NUMBER):
    return st.sampled_from(sorted(kinds)).flatmap(
        lambda name: (text if kinds[name] == "text" else number).map(lambda bad: {**fields, name: bad}))


@SETTINGS
@given(body=_one_bad(REPORT, REPORT_KINDS))
def test_json_reports(client, actors, body):
    before = stored()
    refused(client.post("/api/v1/cases", json=body, headers=actors["cit"]), before)


VERB_BODIES = {
    "dispatch": ({"assignee_id": 1, "note": "x"}, {"assignee_id": "number", "note": "text"}),
    "merge": ({"into": "1", "note": "x"}, {"into": "text", "note": "text"}),
    "suspend": ({"reason": "等待"}, {"reason": "text"}),
    "file": ({"priority": 2, "note": "x"}, {"priority": "number", "note": "text"}),
}


@SETTINGS
@given(data=st.data())
def test_json_verbs(client, actors, data):
    verb = data.draw(st.sampled_from(sorted(VERB_BODIES)))
    fields, kinds = VERB_BODIES[verb]
    body = data.draw(_one_bad(fields, kinds))
    before = stored()
    refused(client.post(f"/api/v1/cases/{actors['case'].id}/{verb}", json=body, headers=actors["disp"]), before)


FORM = {"category": "exposed_garbage", "lon": "120.005", "lat": "30.005", "description": "垃圾", "address": "路口",
        "contact": "13900000000", "request_id": "r1"}
FORM_KINDS = {"lon": "number", "lat": "number", "description": "text", "address": "text", "contact": "text",
              "request_id": "text", "category": "text"}


@SETTINGS
@given(form=_one_bad(FORM, FORM_KINDS, BAD_FORM_TEXT, BAD_FORM_NUMBER))
def test_public_report_form(client, town, form):
    before = stored()
    r = client.post("/report", data={**form, "photos": (io.BytesIO(jpeg()), "p.jpg")},
                    content_type="multipart/form-data")
    refused(r, before)


@pytest.fixture
def open311_key(town):
    key = create_key("fuzz")
    db.session.commit()
    return key


O311 = {"service_code": "banner", "lat": "30.005", "long": "120.005", "description": "横幅", "email": "a@b.cn",
        "address_string": "路口", "first_name": "张", "media_url": "https://example.org/a.jpg",
        "client_request_id": "c1"}
O311_KINDS = {"service_code": "text", "lat": "number", "long": "number", "description": "text", "email": "text",
              "address_string": "text", "first_name": "text", "media_url": "text", "client_request_id": "text"}


@SETTINGS
@given(form=_one_bad(O311, O311_KINDS, BAD_FORM_TEXT, BAD_FORM_NUMBER))
def test_open311_posts(client, open311_key, form):
    before = stored()
    refused(client.post("/open311/v2/requests.json", data={**form, "api_key": open311_key}), before)


QUERIES = {
    "/api/v1/cases": {"status": "filed", "source": "citizen", "page": "1", "page_size": "10", "assignee_id": "1",
                      "bbox": "120,30,121,31", "from": "2026-01-01", "q": "2026"},
    "/open311/v2/requests.json": {"status": "open", "page": "1", "page_size": "10", "start_date":
                                  "2026-11-01T00:00:00Z", "service_request_id": "20261101-00001",
                                  "bbox": "120,30,121,31"},
    "/api/v1/nearby": {"category": "banner", "lon": "120.005", "lat": "30.005"},
    "/api/v1/kpis": {"from": "2026-01-01", "to": "2026-02-01", "group_by": "grid"},
}
BAD_QUERY = st.one_of(BAD_FORM_NUMBER, BAD_FORM_TEXT, st.sampled_from(
    ["foo", "open,foo", "9999-12-31", "0001-01-01", "1,2,3", "200,1,2,3", ",", "-1", "0"]))


@SETTINGS
@given(data=st.data())
def test_list_filters(client, actors, data):
    path = data.draw(st.sampled_from(sorted(QUERIES)))
    params = QUERIES[path]
    name = data.draw(st.sampled_from(sorted(params)))
    value = data.draw(BAD_QUERY)
    r = client.get(path, query_string={**params, name: value}, headers=actors["disp"])
    assert r.status_code < 500, (path, name, value, r.get_data(as_text=True)[:300])
    assert r.is_json  # a 200 for an odd but legitimate search (q=foo), else the usual error body
