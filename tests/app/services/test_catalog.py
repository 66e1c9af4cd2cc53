"""The categories and holiday data files and their loaders."""

import pytest
import yaml

from app.errors import ValidationError
from app.extensions import db
from app.models import Category, Holiday
from app.services.calendar import get_calendar, load_holidays
from app.services.catalog import DEFAULT_FILE, load_categories

DETECTABLE = ["店外经营", "游摊小贩", "占道经营", "乱堆物料", "户外广告", "打包垃圾", "暴露垃圾", "沿街晾晒",
              "违规撑伞", "地桩地锁", "绿化损坏", "道路破损", "垃圾箱未加盖", "垃圾箱满溢", "气拱门", "横幅",
              "井盖异常"]


def test_shipped_categories(app):
    cats = db.session.query(Category).all()
    assert sorted(c.name_zh for c in cats if c.detectable) == sorted(DETECTABLE)
    names = {c.name_zh for c in cats}
    assert {"机动车违停", "非机动车乱停放", "渣土车未遮盖", "道路积水", "违章搭建", "施工扰民"} <= names
    classes = {c.major_class.name_zh for c in cats}
    assert classes >= {"市容环境", "宣传广告", "街面秩序", "施工管理", "突发事件", "公用设施"}


def test_reload_deactivates_dropped_categories(app, tmp_path):
    doc = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    doc["categories"] = [c for c in doc["categories"] if c["code"] != "banner"]
    doc["categories"][0]["limits"]["handle"] = 999
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    rep = load_categories(path)
    assert rep["deactivated"] == 1
    assert db.session.get(Category, "banner").active is False
    assert db.session.get(Category, doc["categories"][0]["code"]).handle_minutes == 999


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda c: c.pop("zh"), "missing 'zh'"),
        (lambda c: c.update(priority=9), "priority"),
        (lambda c: c["limits"].update(handle=-5), "limits.handle"),
        (lambda c: c.update({"class": "nope"}), "unknown class"),
        (lambda c: c.update(basis="lunar"), "basis"),
    ],
)
def test_bad_category_entries(app, tmp_path, mutate, expected):
    doc = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    mutate(doc["categories"][3])
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_categories(path)
    assert any(expected in d for d in err.value.details), err.value.details


def test_holidays_feed_the_calendar(app, tmp_path):
    from datetime import date

    n = load_holidays()
    assert n > 30
    cal = get_calendar()
    assert not cal.is_workday(date(2026, 10, 1)) and cal.is_workday(date(2026, 10, 10))
    bad = tmp_path / "h.yaml"
    bad.write_text("holidays:\n  - {date: 2026-13-01}\n")
    with pytest.raises(ValidationError):
        load_holidays(bad)
    assert db.session.query(Holiday).count() == n
