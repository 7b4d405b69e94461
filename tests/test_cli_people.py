"""The CLI's commands for people (design §9.2, §9.1), run as a process against the test stack:
metrics charts, the data viewer and its `--follow`, dry runs on a sample of the stream and
on code not saved yet, and `tributary login` with the test playing the browser."""

import json
import os
import queue
import re
import stat
import subprocess
import threading
import time
import uuid
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlparse, urlunparse

import requests

from conftest import API_URL, DEV_TOKEN, get_credentials, producer_client, unique_name
from delivery_helpers import FINANCIAL_FILTER, TECHNOLOGY_FILTER, poll, resources  # noqa: F401  (resources is a fixture)
from test_cli import CLI

METRICS_TIMEOUT = 120
FOLLOW_TIMEOUT = 30
STREAM_SERIES = {"IncomingRecords", "IncomingBytes", "WriteThrottled", "Utilization"}
BARS = "▁▂▃▄▅▆▇█"
# Where `tributary login` is sent back; the local issuer knows it for the client tributary-cli.
REDIRECT_URI = "http://localhost:8976/callback"


def cli_env(token=DEV_TOKEN, **extra):
    env = {**os.environ, "TRIBUTARY_URL": API_URL, **extra}
    env.pop("TRIBUTARY_TOKEN", None)
    if token is not None:
        env["TRIBUTARY_TOKEN"] = token
    return env


def tributary(*args, env=None, timeout=120):
    """Runs the CLI; (exit code, stdout, stderr)."""
    done = subprocess.run([str(CLI), *args], capture_output=True, text=True, env=env or cli_env(), timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def tributary_json(*args, env=None):
    code, out, err = tributary("--output", "json", *args, env=env)
    assert code == 0, f"tributary {' '.join(args)} exited {code}: {err}{out}"
    return json.loads(out)


def put(api, stream_id, lines):
    """Puts each line as a record with the stream's producer key (the seed's way)."""
    credentials = get_credentials(api, stream_id)
    producer = producer_client(credentials)
    for line in lines:
        producer.put_record(StreamName=credentials["StreamName"], Data=line.encode(), PartitionKey=line.split(",")[0])


def trades(tag):
    """The seed's trades, one per sector; the technology filter keeps 2, drops 4."""
    sectors = ["TECHNOLOGY", "FINANCIAL", "TECHNOLOGY", "HEALTHCARE", "ENERGY", "RETAIL"]
    return [f"{tag}-{i},{100 + i}.5,{i},{sector}" for i, sector in enumerate(sectors)]


class Lines:
    """A running process's output, line by line, read beside the test (a pipe must not fill)."""

    def __init__(self, stream):
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, matches, timeout, what):
        """The first line (after those already seen) that matches; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(f"{what}: not printed within {timeout}s (or the process ended); printed: {self.seen}")
            self.seen.append(line)
            if matches(line):
                return line

    def rest(self, wait):
        """What else is printed within `wait` seconds."""
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
        return self.seen


def stop(process):
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------


def series_total(answer, name):
    return sum(v or 0 for s in answer["Series"] if s["Name"] == name for v in s["Values"])


def test_metrics_of_a_stream_with_records_chart_each_series_and_answer_the_routes_shape_as_json(api, streams):
    stream_id = streams.create(unique_name("cli-metrics"))["StreamId"]
    lines = trades(uuid.uuid4().hex[:8])
    put(api, stream_id, lines)

    answer = poll(
        lambda: tributary_json("streams", "metrics", stream_id, "--since", "1h"),
        lambda a: series_total(a, "IncomingRecords") == len(lines),
        METRICS_TIMEOUT, 2.0, "the records put in IncomingRecords",
    )
    assert {"Since", "Until", "Period", "Series"} <= set(answer), answer
    assert isinstance(answer["Period"], int) and answer["Period"] % 60 == 0, answer
    assert {s["Name"] for s in answer["Series"]} == STREAM_SERIES, answer
    for series in answer["Series"]:
        assert isinstance(series["Unit"], str) and series["Unit"], series
        assert len(series["Timestamps"]) == len(series["Values"]) > 0, series
        assert all(v is None or isinstance(v, (int, float)) for v in series["Values"]), series
    assert series_total(answer, "IncomingBytes") >= sum(len(line) for line in lines), answer

    status, out, err = tributary("streams", "metrics", stream_id, "--since", "1h")
    assert status == 0, err
    header, *charts = out.rstrip("\n").splitlines()
    assert re.fullmatch(r"\S+ to \S+, a point every \d+ s \(\d+ points\)", header), out
    assert sorted(line.split()[0] for line in charts) == sorted(STREAM_SERIES), out
    by_name = {line.split()[0]: line for line in charts}
    for name, line in by_name.items():
        assert any(bar in line for bar in BARS), f"{name} has no chart: {out}"
    incoming = by_name["IncomingRecords"]
    assert incoming.endswith(f"total {len(lines)}"), out
    assert re.search("[▂▃▄▅▆▇█]", incoming), f"the records put show above the bottom: {out}"
    assert re.search(r"latest .*, max ", by_name["Utilization"]), out


def test_a_metrics_window_the_api_refuses_exits_3_naming_the_field(streams):
    stream_id = streams.create(unique_name("cli-metrics-bad"))["StreamId"]
    status, out, err = tributary("streams", "metrics", stream_id, "--period", "61")
    assert status == 3 and "400" in err and "Period" in err, (status, out, err)


# --------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------


def test_records_of_a_stream_show_each_record_put(api, streams):
    stream_id = streams.create(unique_name("cli-records"))["StreamId"]
    lines = trades(uuid.uuid4().hex[:8])
    put(api, stream_id, lines)

    status, out, err = tributary("streams", "records", stream_id, "--position", "TRIM_HORIZON", "--limit", "100")
    assert status == 0, err
    assert out.splitlines()[0].split() == ["ArrivalTime", "ShardId", "SequenceNumber", "PartitionKey", "Data"], out
    for line in lines:
        assert sum(line in row for row in out.splitlines()) == 1, f"{line} is not shown once: {out}"

    answer = tributary_json("streams", "records", stream_id, "--position", "TRIM_HORIZON", "--limit", "100")
    assert [r["Data"] for r in answer["Records"]] == lines, answer
    for record in answer["Records"]:
        assert {"ShardId", "SequenceNumber", "SubSequenceNumber", "PartitionKey", "ArrivalTime"} <= set(record), record
        assert record["PartitionKey"] == record["Data"].split(",")[0], record
    assert "NextToken" in answer, answer


def test_follow_prints_a_record_put_after_it_started(api, streams):
    stream_id = streams.create(unique_name("cli-follow"))["StreamId"]
    process = subprocess.Popen([str(CLI), "streams", "records", stream_id, "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    try:
        output = Lines(process.stdout)
        # The header comes with the first answer: the viewer is reading from here on.
        output.until(lambda line: line.split()[:1] == ["ArrivalTime"], FOLLOW_TIMEOUT, "the header")
        line = f"follow-{uuid.uuid4().hex[:8]},1.5,1,TECHNOLOGY"
        put(api, stream_id, [line])
        row = output.until(lambda printed: line in printed, FOLLOW_TIMEOUT, "the record put after the start")
        assert "shardId-" in row, row
    finally:
        stop(process)


def test_follow_as_json_prints_each_record_once_as_a_line(api, streams):
    stream_id = streams.create(unique_name("cli-follow-json"))["StreamId"]
    before = f"before-{uuid.uuid4().hex[:8]},1.5,1,ENERGY"
    put(api, stream_id, [before])
    process = subprocess.Popen(
        [str(CLI), "--output", "json", "streams", "records", stream_id, "--follow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env()
    )
    try:
        output = Lines(process.stdout)
        # NEWEST starts with the most recent records: the one put before.
        output.until(lambda line: before in line, FOLLOW_TIMEOUT, "the record put before the start")
        after = [f"after-{i}-{uuid.uuid4().hex[:8]},2.5,2,RETAIL" for i in range(3)]
        put(api, stream_id, after)
        output.until(lambda line: after[-1] in line, FOLLOW_TIMEOUT, "the records put after the start")
        printed = output.rest(3.0)  # a few more reads: nothing is printed twice
    finally:
        stop(process)
    records = [json.loads(line) for line in printed]
    assert [r["Data"] for r in records] == [before, *after], printed
    assert all(r["ShardId"] and r["SequenceNumber"] for r in records), records


# --------------------------------------------------------------------------------------------
# dry runs on a sample and on unsaved code
# --------------------------------------------------------------------------------------------


def test_a_dry_run_on_a_sample_then_of_unsaved_code_compared_with_the_saved(api, streams, resources, tmp_path):
    stream_id = streams.create(unique_name("cli-sample"))["StreamId"]
    transform_id = resources.create_transform(stream_id, TECHNOLOGY_FILTER)["TransformId"]
    lines = trades(uuid.uuid4().hex[:8])
    put(api, stream_id, lines)
    technology = ["Ok" if line.endswith("TECHNOLOGY") else "Dropped" for line in lines]
    financial = ["Ok" if line.endswith("FINANCIAL") else "Dropped" for line in lines]
    sample = ["--sample", str(len(lines)), "--position", "TRIM_HORIZON"]

    status, out, err = tributary("transforms", "test", stream_id, transform_id, *sample)
    assert status == 0, err
    rows = out.splitlines()
    assert rows[0].split() == ["RecordId", "Result", "Data", "Error"], out
    assert [row.split()[1] for row in rows[2:-1]] == technology, out
    assert rows[-1] == "Ok 2, Dropped 4, ProcessingFailed 0", out

    code = tmp_path / "code"
    code.mkdir()
    (code / "filter.py").write_text(FINANCIAL_FILTER)
    unsaved = ["--code", str(code), "--handler", "filter.lambda_handler", "--compare"]
    answer = tributary_json("transforms", "test", stream_id, transform_id, *sample, *unsaved)
    assert [r["Before"]["Result"] for r in answer["Records"]] == technology, answer
    assert [r["Result"] for r in answer["Records"]] == financial, answer
    changed = sum(t != f for t, f in zip(technology, financial))
    assert answer["Summary"]["Changed"] == changed == 3, answer
    assert (answer["Summary"]["Ok"], answer["Summary"]["Dropped"]) == (1, 5), answer

    status, out, err = tributary("transforms", "test", stream_id, transform_id, *sample, *unsaved)
    assert status == 0, err
    rows = out.splitlines()
    assert rows[0].split() == ["RecordId", "Changed", "Before", "BeforeData", "Result", "Data", "Error"], out
    assert [row.split()[1] for row in rows[2:-1]] == ["yes" if t != f else "no" for t, f in zip(technology, financial)], out
    assert rows[-1] == f"Ok 1, Dropped 5, ProcessingFailed 0, Changed {changed}", out
    # the saved transform is what it was
    assert [row.split()[1] for row in tributary("transforms", "test", stream_id, transform_id, *sample)[1].splitlines()[2:-1]] == technology


# --------------------------------------------------------------------------------------------
# tributary login: the browser flow, the test as the browser
# --------------------------------------------------------------------------------------------


class SignInForm(HTMLParser):
    """The sign-in page's form: its action and its inputs (hidden ones included)."""

    def __init__(self):
        super().__init__()
        self.action, self.method, self.inputs, self.labels, self._label = None, None, {}, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action, self.method = attrs.get("action", ""), (attrs.get("method") or "get").lower()
        elif tag == "input" and attrs.get("name"):
            self.inputs[attrs["name"]] = attrs.get("value") or ""
        elif tag == "label":
            self._label = ""

    def handle_data(self, data):
        if self._label is not None:
            self._label += data

    def handle_endtag(self, tag):
        if tag == "label" and self._label is not None:
            self.labels.append(self._label.strip())
            self._label = None


def sign_in_as_a_browser(url, username="dev", password="dev"):
    """Opens the URL, fills the form as a person would and submits it; the redirect's Location."""
    session = requests.Session()
    page = session.get(url, timeout=10)
    assert page.status_code == 200, f"{page.status_code} {page.text[:1000]}"
    form = SignInForm()
    form.feed(page.text)
    assert {"username", "password"} <= set(form.inputs), form.inputs
    assert {"Username", "Password"} <= set(form.labels), form.labels
    assert form.method == "post", form.method
    fields = {**form.inputs, "username": username, "password": password}
    answer = session.post(urljoin(page.url, form.action or page.url), data=fields, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, f"{answer.status_code} {answer.text[:1000]}"
    return answer.headers["Location"]


def start_login(env):
    """`tributary login --no-browser`, its standard error as it comes, and the sign-in URL it printed there."""
    process = subprocess.Popen([str(CLI), "login", "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    errors = Lines(process.stderr)
    url = errors.until(lambda line: line.strip().startswith("http"), 30, "the sign-in URL").strip()
    return process, errors, url


def end_login(process, errors):
    """The login's exit code, standard output and standard error, once it has ended."""
    process.wait(timeout=30)
    return process.returncode, process.stdout.read(), "\n".join(errors.rest(1.0))


def test_login_in_a_browser_keeps_a_private_token_that_later_commands_use_and_refresh(api, streams, tmp_path):
    config = tmp_path / "config"
    env = cli_env(token=None, XDG_CONFIG_HOME=str(config))
    stream_id = streams.create(unique_name("cli-login"))["StreamId"]  # tenant dev's

    process, errors, url = start_login(env)
    try:
        asked = parse_qs(urlparse(url).query)
        assert asked["redirect_uri"] == [REDIRECT_URI] and asked["client_id"] == ["tributary-cli"], url
        assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) == 43, url
        location = sign_in_as_a_browser(url)
        assert location.startswith(REDIRECT_URI + "?"), location
        returned = parse_qs(urlparse(location).query)
        assert returned["state"] == asked["state"] and returned["code"][0], location
        landing = requests.get(location, timeout=10)
        assert landing.status_code == 200 and "Signed in" in landing.text, landing.text
        status, out, err = end_login(process, errors)
    finally:
        stop(process)
    assert status == 0, (out, err)
    assert "tenant dev" in out, out

    path = config / "tributary" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, oct(path.parent.stat().st_mode)
    stored = json.loads(path.read_text())
    assert stored["Issuer"] == f"{API_URL}/_local/oidc" and stored["ClientId"] == "tributary-cli", stored
    assert stored["AccessToken"] and stored["IdToken"] and stored["RefreshToken"] and stored["ExpiresAt"], stored

    # later commands: the stored token, as tenant dev
    status, out, err = tributary("streams", "list", env=env)
    assert status == 0, err
    assert tributary_json("streams", "get", stream_id, env=env)["StreamId"] == stream_id

    # the stored token is what is sent (not the local dev token): a spoilt one is refused
    path.write_text(json.dumps({**stored, "AccessToken": "not-a-token"}))
    status, out, err = tributary("streams", "list", env=env)
    assert status == 3 and "401" in err and "tributary login" in err, (status, out, err)

    # an expired token is refreshed with the refresh token, and the new one kept
    path.write_text(json.dumps({**stored, "AccessToken": "expired", "ExpiresAt": "2020-01-01T00:00:00Z"}))
    os.chmod(path, 0o600)
    assert tributary_json("streams", "get", stream_id, env=env)["StreamId"] == stream_id
    refreshed = json.loads(path.read_text())
    assert refreshed["AccessToken"] not in ("expired", "") and refreshed["ExpiresAt"] > "2020-01-01", refreshed
    assert refreshed["RefreshToken"], refreshed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)

    status, out, err = tributary("logout", env=env)
    assert status == 0 and not path.exists(), (status, out, err)


def test_login_refuses_a_redirect_that_is_not_its_own(tmp_path):
    config = tmp_path / "config"
    env = cli_env(token=None, XDG_CONFIG_HOME=str(config))
    process, errors, url = start_login(env)
    try:
        location = urlparse(sign_in_as_a_browser(url))
        forged = urlunparse(location._replace(query=urlencode({"code": parse_qs(location.query)["code"][0], "state": "someone-elses"})))
        assert requests.get(forged, timeout=10).status_code == 400
        status, out, err = end_login(process, errors)
    finally:
        stop(process)
    assert status == 3 and "state" in err, (status, out, err)
    assert not (config / "tributary" / "credentials.json").exists()


def test_quotas_show_a_row_per_quota_with_what_the_tenant_uses(api, streams):
    streams.create(unique_name("cli-quota"))
    answer = api.get("/quotas").json()
    status, out, err = tributary("quotas")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["Name", "Used", "Limit"], out
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    # what is used may move between two reads (jobs of other tests end): the limits may not
    assert {name: limit for name, (_, limit) in rows.items()} == {q["Name"]: str(q["Limit"]) for q in answer["Quotas"]}, out
    assert all(used.isdigit() for used, _ in rows.values()) and int(rows["Streams"][0]) >= 1, out
    assert [q["Name"] for q in tributary_json("quotas")["Quotas"]] == [q["Name"] for q in answer["Quotas"]]
