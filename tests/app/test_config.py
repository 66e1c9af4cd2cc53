"""Settings are checked when the app is built: a bad value stops the start, not a page or a job later."""

import pytest

from app import create_app
from app.config import ConfigError, TestConfig


@pytest.mark.parametrize("override, word", [
    ({"MAP_TILE_CRS": "bd09"}, "MAP_TILE_CRS"),
    ({"MAP_TILE_URL": "https://tiles.example.com/tile.png"}, "MAP_TILE_URL"),  # no {z}/{x}/{y}
    ({"MAP_TILE_URL": "javascript:alert(1)/{z}/{x}/{y}"}, "MAP_TILE_URL"),
    ({"MAP_TILE_URL": "https://{s}.tiles.example.com/{z}/{x}/{y}.png", "MAP_TILE_SUBDOMAINS": ""}, "SUBDOMAINS"),
    ({"MAP_MAX_ZOOM": 30}, "MAP_MAX_ZOOM"),
    ({"EXPORT_MAX_ROWS": 0}, "EXPORT_MAX_ROWS"),
    ({"SHIFT_HOURS": -1}, "SHIFT_HOURS"),
    ({"DUPLICATE_THRESHOLD": 1.5}, "DUPLICATE_THRESHOLD"),
    ({"PUBLIC_BASE_URL": "example.com"}, "PUBLIC_BASE_URL"),
    ({"SMS_GATEWAY": "carrier-pigeon"}, "SMS_GATEWAY"),
    ({"SMS_GATEWAY": "no.such.module:send"}, "SMS_GATEWAY"),
    ({"SMS_GATEWAY": "webhook", "SMS_WEBHOOK_URL": ""}, "SMS_WEBHOOK_URL"),
])
def test_bad_settings_fail_at_start(override, word):
    with pytest.raises(ConfigError, match=word):
        create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}, **override})


def test_china_tile_settings_reach_the_pages(app, client):
    amap = "https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}"
    good = create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                       "MAP_TILE_URL": amap, "MAP_TILE_CRS": "gcj02", "MAP_TILE_SUBDOMAINS": "1234",
                       "MAP_TILE_ATTRIBUTION": "© 高德地图"})
    import json
    import re

    page = good.test_client().get("/report").get_data(as_text=True)
    basemap = json.loads(re.search(r'<script type="application/json" id="basemap">(.*?)</script>', page).group(1))
    assert basemap == {"url": amap, "crs": "gcj02", "subdomains": "1234", "attribution": "© 高德地图", "max_zoom": 19}
    # The tile host is allowed by the Content-Security-Policy (images), with {s} as a wildcard.
    csp = good.test_client().get("/report").headers["Content-Security-Policy"]
    assert "https://webrd0*.is.autonavi.com" in csp
