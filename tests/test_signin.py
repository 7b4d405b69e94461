"""Sign-in as on AWS (design §9.1): the local issuer standing in for Cognito's managed login
(discovery, JWKS, the sign-in page, authorization code with PKCE S256, tokens, refresh) and
the local API Gateway checking its JWTs as the HTTP API JWT authorizer does.

The sign-in is driven as a browser drives it: the authorize page is fetched, its HTML form
read by its labels and posted, the redirect followed by hand. Tokens the authorizer must
refuse are built here (PyJWT, cryptography); those that must differ from a real token in one
claim only are signed with the issuer's own key, read from tributary-local's state folder
(`<state>/oidc/signing-key.pem`), so that the claim under test is all that is wrong.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import API_URL, DEV_TOKEN, HTTP_TIMEOUT, OTHER_TOKEN, Api, unique_name

ISSUER = f"{API_URL}/_local/oidc"
CONSOLE = "tributary-console"
CLI = "tributary-cli"
CONSOLE_CALLBACK = f"{API_URL}/console/callback"
CLI_CALLBACK = "http://localhost:8976/callback"
# tests/run.sh leaves TRIBUTARY_USERS at its default: dev:dev=dev.
USER, PASSWORD, TENANT = "dev", "dev", "dev"
UNAUTHORIZED = {"message": "Unauthorized"}


# --------------------------------------------------------------------------------------------
# A browser's and a client's side of the flow
# --------------------------------------------------------------------------------------------


class FormReader(HTMLParser):
    """The page's forms: action, method, inputs (name → value, type), and label texts → input ids."""

    def __init__(self):
        super().__init__()
        self.forms, self.labels, self.alerts = [], {}, []
        self._label_for, self._label_text, self._in_alert = None, "", False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "method": attrs.get("method", "get").lower(), "inputs": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["inputs"].append(attrs)
        elif tag == "label":
            self._label_for, self._label_text = attrs.get("for"), ""
        if attrs.get("role") == "alert":
            self._in_alert = True

    def handle_endtag(self, tag):
        if tag == "label" and self._label_for:
            self.labels[self._label_text.strip()] = self._label_for
            self._label_for = None
        self._in_alert = False

    def handle_data(self, data):
        if self._label_for:
            self._label_text += data
        if self._in_alert:
            self.alerts.append(data.strip())


def read_page(resp):
    assert resp.headers["Content-Type"].startswith("text/html"), resp.headers
    reader = FormReader()
    reader.feed(resp.text)
    return reader


def discovery():
    resp = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=HTTP_TIMEOUT)
    assert resp.status_code == 200, resp.text
    return resp.json()


def pkce_pair():
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(48)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(client_id, redirect_uri, challenge, state, **changes):
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid profile",
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(changes)
    return {k: v for k, v in params.items() if v is not None}


def open_sign_in_page(session, params):
    resp = session.get(discovery()["authorization_endpoint"], params=params, allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert resp.status_code == 200, resp.text[:1000]
    return resp


def submit_sign_in(session, page_resp, username, password):
    """Fill the page's form by its labels, as a person would, and post it; no redirect followed."""
    page = read_page(page_resp)
    assert len(page.forms) == 1, page.forms
    form = page.forms[0]
    assert form["method"] == "post", form
    inputs = {i.get("id"): i for i in form["inputs"] if i.get("id")}
    user_field, password_field = inputs[page.labels["Username"]], inputs[page.labels["Password"]]
    assert (user_field["name"], password_field["name"], password_field.get("type")) == ("username", "password", "password")
    fields = {i["name"]: i.get("value", "") for i in form["inputs"] if i.get("type") == "hidden"}
    fields.update({"username": username, "password": password})
    return session.post(urljoin(page_resp.url, form["action"]), data=fields, allow_redirects=False, timeout=HTTP_TIMEOUT)


def redirect_query(resp, redirect_uri):
    assert resp.status_code == 302, f"{resp.status_code}: {resp.text[:500]}"
    location = resp.headers["Location"]
    assert location.split("?")[0] == redirect_uri, location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(client_id=CLI, redirect_uri=CLI_CALLBACK, username=USER, password=PASSWORD):
    """The whole browser part: authorize with PKCE → sign-in page → 302 with code and state."""
    session = requests.Session()
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    page = open_sign_in_page(session, authorize_params(client_id, redirect_uri, challenge, state))
    answer = redirect_query(submit_sign_in(session, page, username, password), redirect_uri)
    assert answer["state"] == state and answer.get("code"), answer
    return answer["code"], verifier


def token_request(**form):
    return requests.post(discovery()["token_endpoint"], data=form, timeout=HTTP_TIMEOUT)


def exchange(code, verifier, client_id=CLI, redirect_uri=CLI_CALLBACK):
    return token_request(grant_type="authorization_code", client_id=client_id, code=code, redirect_uri=redirect_uri, code_verifier=verifier)


@pytest.fixture(scope="module")
def cli_tokens():
    code, verifier = sign_in()
    resp = exchange(code, verifier)
    assert resp.status_code == 200, resp.text
    return resp.json()


def streams_with(token):
    return requests.get(f"{API_URL}/streams", headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT)


def assert_unauthorized(resp):
    assert resp.status_code == 401, f"{resp.status_code}: {resp.text[:500]}"
    assert resp.headers["Content-Type"].split(";")[0] == "application/json", resp.headers
    assert resp.json() == UNAUTHORIZED, resp.text


# --------------------------------------------------------------------------------------------
# Tokens built here
# --------------------------------------------------------------------------------------------


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header, claims):
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."


def issuer_jwk():
    keys = requests.get(discovery()["jwks_uri"], timeout=HTTP_TIMEOUT).json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"], keys
    return keys[0]


@pytest.fixture(scope="module")
def issuer_key():
    """The issuer's private key from tributary-local's state folder (checked against its JWKS)."""
    state = os.environ.get("TRIBUTARY_STATE_DIR") or Path(__file__).resolve().parent.parent / ".local"
    path = Path(state) / "oidc" / "signing-key.pem"
    if not path.exists():
        pytest.skip(f"the issuer's key is not on this machine ({path})")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    jwk = issuer_jwk()
    published = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
    if key.public_key().public_numbers().n != published:
        pytest.skip(f"{path} is not the key of the issuer at {ISSUER}")
    return key, jwk["kid"]


def claims(**changes):
    now = int(time.time())
    base = {"sub": "forged-sub", "tenant": TENANT, "iss": ISSUER, "aud": CLI, "token_use": "id", "iat": now, "auth_time": now, "exp": now + 600}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


# --------------------------------------------------------------------------------------------
# The issuer
# --------------------------------------------------------------------------------------------


def test_given_the_issuer_when_its_discovery_is_read_then_it_names_its_endpoints_and_rs256_keys():
    document = discovery()
    assert document["issuer"] == ISSUER
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        assert document[endpoint].startswith(ISSUER + "/"), document
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert issuer_jwk()["use"] == "sig"


def test_given_the_cli_client_when_a_user_signs_in_with_pkce_then_both_tokens_open_the_api_as_their_tenant(cli_tokens, streams, other_streams):
    assert cli_tokens["token_type"] == "Bearer" and cli_tokens["expires_in"] > 0 and cli_tokens["refresh_token"], cli_tokens
    jwk = jwt.PyJWK(issuer_jwk())
    id_claims = jwt.decode(cli_tokens["id_token"], jwk.key, algorithms=["RS256"], audience=CLI, issuer=ISSUER)
    assert (id_claims["tenant"], id_claims["cognito:username"], id_claims["token_use"]) == (TENANT, USER, "id"), id_claims
    access_claims = jwt.decode(cli_tokens["access_token"], jwk.key, algorithms=["RS256"], issuer=ISSUER, options={"verify_aud": False})
    assert "aud" not in access_claims, access_claims
    assert (access_claims["client_id"], access_claims["token_use"], access_claims["tenant"]) == (CLI, "access", TENANT), access_claims
    assert set(access_claims["scope"].split()) == {"openid", "profile"}
    assert jwt.get_unverified_header(cli_tokens["access_token"])["kid"] == issuer_jwk()["kid"]

    # The tenant is the token's: a stream of tenant dev (made with its static token) is
    # seen, another tenant's is not (404, never 403).
    mine = streams.start(unique_name("jwt"))
    theirs = other_streams.start(unique_name("jwt-other"))
    for token in (cli_tokens["access_token"], cli_tokens["id_token"]):
        as_user = Api(token)
        assert as_user.get(f"/streams/{mine['StreamId']}").status_code == 200
        assert as_user.get(f"/streams/{theirs['StreamId']}").status_code == 404
        listed = as_user.get("/streams", params={"Limit": 100})
        assert listed.status_code == 200, listed.text
        assert theirs["StreamId"] not in {s["StreamId"] for s in listed.json()["Streams"]}


def test_given_the_console_client_when_a_user_signs_in_then_its_tokens_open_the_api():
    code, verifier = sign_in(CONSOLE, CONSOLE_CALLBACK)
    resp = exchange(code, verifier, CONSOLE, CONSOLE_CALLBACK)
    assert resp.status_code == 200, resp.text
    tokens = resp.json()
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["aud"] == CONSOLE
    assert streams_with(tokens["access_token"]).status_code == 200
    assert streams_with(tokens["id_token"]).status_code == 200


def test_given_a_refresh_token_when_refreshed_then_a_new_access_token_works(cli_tokens):
    resp = token_request(grant_type="refresh_token", client_id=CLI, refresh_token=cli_tokens["refresh_token"])
    assert resp.status_code == 200, resp.text
    refreshed = resp.json()
    assert refreshed["access_token"] != cli_tokens["access_token"] and refreshed["id_token"], refreshed
    assert streams_with(refreshed["access_token"]).status_code == 200
    # Another client may not use it; a made-up one is no refresh token.
    assert token_request(grant_type="refresh_token", client_id=CONSOLE, refresh_token=cli_tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert token_request(grant_type="refresh_token", client_id=CLI, refresh_token="made.up").json()["error"] == "invalid_grant"


def test_given_an_access_token_when_userinfo_is_asked_then_the_user_and_tenant(cli_tokens):
    resp = requests.get(discovery()["userinfo_endpoint"], headers={"Authorization": f"Bearer {cli_tokens['access_token']}"}, timeout=HTTP_TIMEOUT)
    assert resp.status_code == 200, resp.text
    assert (resp.json()["username"], resp.json()["tenant"]) == (USER, TENANT)
    assert requests.get(discovery()["userinfo_endpoint"], headers={"Authorization": f"Bearer {cli_tokens['id_token']}"}, timeout=HTTP_TIMEOUT).status_code == 401


def test_given_a_code_when_exchanged_twice_then_the_second_time_is_invalid_grant():
    code, verifier = sign_in()
    assert exchange(code, verifier).status_code == 200
    again = exchange(code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text


def test_given_a_code_when_exchanged_with_another_verifier_or_redirect_uri_then_invalid_grant():
    code, _ = sign_in()
    wrong_verifier, _ = pkce_pair()
    resp = exchange(code, wrong_verifier)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant", resp.text
    code, verifier = sign_in()
    resp = exchange(code, verifier, CLI, "http://localhost:8976/other")
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant", resp.text
    resp = token_request(grant_type="password", client_id=CLI, username=USER, password=PASSWORD)
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type", resp.text


@pytest.mark.parametrize("client_id,redirect_uri", [
    (CLI, "http://localhost:8976/callback/evil"),
    (CLI, "http://127.0.0.1:8976/callback"),
    (CONSOLE, CLI_CALLBACK),
    (CONSOLE, f"{API_URL}/console/callback?next=elsewhere"),
    (CONSOLE, "https://evil.example/console/"),
], ids=["cli-path-added", "cli-other-host", "console-cli-callback", "console-query-added", "console-other-origin"])
def test_given_an_unregistered_redirect_uri_when_authorizing_then_an_error_page_and_no_redirect(client_id, redirect_uri):
    _, challenge = pkce_pair()
    resp = requests.get(discovery()["authorization_endpoint"], params=authorize_params(client_id, redirect_uri, challenge, "s"), allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert resp.status_code == 400 and "Location" not in resp.headers, (resp.status_code, resp.headers)
    assert "redirect_mismatch" in read_page(resp).alerts, resp.text


@pytest.mark.parametrize("changes", [
    {"code_challenge": None, "code_challenge_method": None},
    {"code_challenge_method": "plain"},
    {"code_challenge_method": None},
], ids=["no-pkce", "plain", "no-method"])
def test_given_no_s256_pkce_when_authorizing_then_invalid_request_and_no_code(changes):
    _, challenge = pkce_pair()
    params = authorize_params(CLI, CLI_CALLBACK, challenge, "st-1", **changes)
    resp = requests.get(discovery()["authorization_endpoint"], params=params, allow_redirects=False, timeout=HTTP_TIMEOUT)
    answer = redirect_query(resp, CLI_CALLBACK)
    assert answer["error"] == "invalid_request" and answer["state"] == "st-1" and "code" not in answer, answer


def test_given_a_wrong_password_when_signing_in_then_the_page_again_with_an_error_and_no_code():
    session = requests.Session()
    _, challenge = pkce_pair()
    page = open_sign_in_page(session, authorize_params(CLI, CLI_CALLBACK, challenge, "st-2"))
    resp = submit_sign_in(session, page, USER, PASSWORD + "-wrong")
    assert resp.status_code == 200 and "Location" not in resp.headers, (resp.status_code, resp.headers)
    again = read_page(resp)
    assert "Incorrect username or password." in again.alerts and len(again.forms) == 1
    # The page still carries the request: the right password now succeeds from it.
    answer = redirect_query(submit_sign_in(session, resp, USER, PASSWORD), CLI_CALLBACK)
    assert answer["state"] == "st-2" and answer["code"]
    resp = submit_sign_in(session, page, "nobody", PASSWORD)
    assert resp.status_code == 200 and "Location" not in resp.headers


# --------------------------------------------------------------------------------------------
# The authorizer
# --------------------------------------------------------------------------------------------


def test_given_static_tokens_beside_jwts_when_used_then_known_ones_pass_and_others_are_refused():
    assert streams_with(DEV_TOKEN).status_code == 200
    assert streams_with(OTHER_TOKEN).status_code == 200
    assert_unauthorized(streams_with("not-a-token"))
    assert_unauthorized(requests.get(f"{API_URL}/streams", timeout=HTTP_TIMEOUT))


def test_given_a_token_signed_by_another_key_when_used_then_401():
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), forger, algorithm="RS256", headers={"kid": issuer_jwk()["kid"]})
    assert_unauthorized(streams_with(token))


def test_given_an_unsigned_token_when_used_then_401():
    assert_unauthorized(streams_with(unsigned({"alg": "none", "typ": "JWT", "kid": issuer_jwk()["kid"]}, claims())))


def test_given_hs256_keyed_with_the_public_key_when_used_then_401():
    """Algorithm confusion: an HMAC whose secret is the issuer's public key, which anyone has."""
    public_pem = jwt.PyJWK(issuer_jwk()).key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer_jwk()["kid"]}
    message = unsigned(header, claims())[:-1]
    signature = hmac.new(public_pem, message.encode(), hashlib.sha256).digest()
    assert_unauthorized(streams_with(f"{message}.{b64url(signature)}"))


# Times are made when the test runs (a time taken when the file is collected is stale by the
# time a long suite reaches the test).
@pytest.mark.parametrize("changes,kid", [
    (lambda now: {"exp": now - 60, "iat": now - 3700}, None),
    (lambda now: {"nbf": now + 600}, None),
    (lambda now: {"aud": "someone-else"}, None),
    (lambda now: {"aud": None, "client_id": "someone-else", "token_use": "access"}, None),
    (lambda now: {"iss": "http://127.0.0.1:1/another-issuer"}, None),
    (lambda now: {}, "not-a-key-of-the-issuer"),
], ids=["expired", "not-yet-valid", "wrong-audience", "wrong-client-id", "wrong-issuer", "wrong-kid"])
def test_given_a_token_of_the_issuers_key_with_one_claim_wrong_when_used_then_401(issuer_key, changes, kid):
    changes = changes(int(time.time()))
    key, issuer_kid = issuer_key
    good = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": issuer_kid})
    assert streams_with(good).status_code == 200, "the same token, with nothing wrong, passes"
    bad = jwt.encode(claims(**changes), key, algorithm="RS256", headers={"kid": kid or issuer_kid})
    assert_unauthorized(streams_with(bad))
