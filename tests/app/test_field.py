"""The field app's pages: where field workers land, and what makes the app installable."""

import io

from PIL import Image

from tests.factories import token_for


def test_field_workers_land_on_the_app_and_staff_on_the_console(client, town):
    assert client.get("/", headers=token_for(town.worker)).headers["Location"].endswith("/m/")
    assert client.get("/", headers=token_for(town.dispatcher)).headers["Location"].endswith("/console")
    page = client.get("/m/", headers=token_for(town.worker))
    assert page.status_code == 200 and 'rel="manifest"' in page.text and "城管通" in page.text
    assert client.get("/m/", headers=token_for(town.citizen)).status_code == 403


def test_the_app_is_installable(client):
    m = client.get("/m/manifest.webmanifest").json
    assert m["start_url"] == "/m/" and m["scope"] == "/m/" and m["display"] == "standalone"
    assert m["name"].endswith("城管通") and {i["sizes"] for i in m["icons"]} == {"192x192", "512x512"}
    for size in (192, 512):
        r = client.get(f"/m/icon-{size}.png")
        assert Image.open(io.BytesIO(r.data)).size == (size, size)
    assert client.get("/m/icon-64.png").status_code == 404
    sw = client.get("/m/sw.js")
    assert sw.mimetype == "text/javascript" and sw.headers["Cache-Control"] == "no-cache"
    assert "caches.open" in sw.text


def test_the_service_worker_names_its_cache_after_the_app_files(client):
    from app.field import SHELL_FILES

    sw = client.get("/m/sw.js").text
    assert 'const VERSION = "field-dev"' not in sw and 'const VERSION = "field-' in sw
    assert all(f'"/static/{name}"' in sw for name in SHELL_FILES)
    for name in SHELL_FILES:
        assert client.get(f"/static/{name}").status_code == 200
