"""The console served as its CloudFront distribution serves it on AWS (design §9.3): the
build folder standing for the bucket, the routes function (the app's pages are its
index.html, a missing file is S3's 404), the response-headers policy, the objects' cache
headers, and config.json beside the app — on the API port, whose own answers stay the API's.

These tests check the serving, not the app: they compare what is served with whatever
console/dist holds (`make build` builds it; TRIBUTARY_CONSOLE_DIST names another folder).
"""

import hashlib
import os
import uuid
from pathlib import Path

import pytest
import requests

from conftest import API_URL, DEV_TOKEN, HTTP_TIMEOUT

CONSOLE = f"{API_URL}/console"
DIST = Path(os.environ.get("TRIBUTARY_CONSOLE_DIST") or Path(__file__).resolve().parent.parent / "console" / "dist")
INDEX = DIST / "index.html"

pytestmark = pytest.mark.skipif(not INDEX.is_file(), reason=f"no console build in {DIST}: `make build` makes one")

CSP_DIRECTIVES = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "object-src 'none'",
    "form-action 'self'",
}
IMMUTABLE = "public, max-age=31536000, immutable"


def get(url, **kwargs):
    return requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False, **kwargs)


def assert_security_headers(resp):
    csp = {directive.strip() for directive in resp.headers["Content-Security-Policy"].split(";")}
    assert csp == CSP_DIRECTIVES, csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Strict-Transport-Security"].startswith("max-age="), resp.headers
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Frame-Options"] == "DENY"


def md5_etag(body):
    return f'"{hashlib.md5(body).hexdigest()}"'


def test_the_console_is_its_index_html_with_the_security_headers_and_revalidated():
    resp = get(f"{CONSOLE}/")
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("text/html"), resp.headers
    assert resp.content == INDEX.read_bytes()
    assert_security_headers(resp)
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["ETag"] == md5_etag(INDEX.read_bytes())
    assert "Last-Modified" in resp.headers
    # Revalidation, as a browser does with no-cache.
    again = get(f"{CONSOLE}/", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.content == b"", again.status_code
    assert again.headers["ETag"] == resp.headers["ETag"]


@pytest.mark.parametrize("page", ["streams/abc", "streams/abc/consumers/def", "callback", "assets"])
def test_a_deep_link_into_the_app_is_its_index_html(page):
    resp = get(f"{CONSOLE}/{page}", params={"code": "x", "state": "y"})
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("text/html"), resp.headers
    assert resp.content == INDEX.read_bytes()
    assert_security_headers(resp)


def test_a_missing_file_is_s3s_404_not_the_app():
    key = f"assets/missing-{uuid.uuid4().hex[:8]}.js"
    resp = get(f"{CONSOLE}/{key}")
    assert resp.status_code == 404, resp.status_code
    assert resp.content != INDEX.read_bytes()
    assert resp.headers["Content-Type"] == "application/xml", resp.headers
    assert "<Code>NoSuchKey</Code>" in resp.text and f"<Key>console/{key}</Key>" in resp.text, resp.text
    assert_security_headers(resp)


def test_a_built_asset_has_its_type_and_is_kept_a_year():
    assets = sorted(p for p in (DIST / "assets").glob("*") if p.suffix in {".js", ".css"}) if (DIST / "assets").is_dir() else []
    assert assets, f"a Vite build has hashed .js/.css files in {DIST / 'assets'}"
    for asset in assets[:4]:
        resp = get(f"{CONSOLE}/assets/{asset.name}")
        assert resp.status_code == 200, (asset.name, resp.status_code)
        assert resp.content == asset.read_bytes()
        expected_type = "text/javascript" if asset.suffix == ".js" else "text/css"
        assert resp.headers["Content-Type"].split(";")[0] == expected_type, resp.headers
        assert resp.headers["Cache-Control"] == IMMUTABLE
        assert resp.headers["ETag"] == md5_etag(asset.read_bytes())
        assert_security_headers(resp)


def test_config_json_names_the_api_the_issuer_and_the_consoles_client():
    resp = get(f"{CONSOLE}/config.json")
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers
    assert resp.headers["Cache-Control"] == "no-cache"
    config = resp.json()
    assert config == {"ApiUrl": API_URL, "Issuer": f"{API_URL}/_local/oidc", "ClientId": "tributary-console"}
    # The issuer it names is the one that answers there.
    discovery = get(f"{config['Issuer']}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == config["Issuer"]
    # And the API it names is this one.
    assert get(f"{config['ApiUrl']}/streams", headers={"Authorization": f"Bearer {DEV_TOKEN}"}).status_code == 200


def test_the_console_without_its_slash_is_redirected_to_it():
    resp = get(CONSOLE)
    assert resp.status_code == 301, resp.status_code
    assert resp.headers["Location"] == "/console/"


@pytest.mark.parametrize("path", ["/no-such-route", "/consoles", "/console-x/a.js"])
def test_the_apis_own_404s_stay_the_apis_json(path):
    resp = get(f"{API_URL}{path}", headers={"Authorization": f"Bearer {DEV_TOKEN}"})
    assert resp.status_code == 404, resp.status_code
    assert "json" in resp.headers["Content-Type"], resp.headers
    assert isinstance(resp.json(), dict)
    assert "Content-Security-Policy" not in resp.headers
    # Without a token the API's authorizer answers, not the console.
    assert get(f"{API_URL}{path}").json() == {"message": "Unauthorized"}


def test_only_get_and_head_reach_the_console():
    assert requests.head(f"{CONSOLE}/", timeout=HTTP_TIMEOUT).status_code == 200
    resp = requests.post(f"{CONSOLE}/", data=b"x", timeout=HTTP_TIMEOUT)
    assert resp.status_code == 403, resp.status_code
