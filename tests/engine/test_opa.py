"""The OPA engine against a local server speaking the v1 Data API, and against real OPA."""

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tenantlint.config import Config, config_from_mapping
from tenantlint.engine import builtin_policy_dir, evaluate, opa
from tenantlint.errors import ConfigError, EngineError, PolicyError
from tests.engine.helpers import read_violation, unscoped_reads


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that timed out and hung up is what some tests want."""


class FakeOpa:
    """An HTTP server on 127.0.0.1 that answers POSTs with a canned status and body."""

    def __init__(self, status=200, body=None, delay=0.0):
        self.status, self.body, self.delay = status, body, delay
        self.requests: list[tuple[str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                fake.requests.append((self.path, json.loads(self.rfile.read(length))))
                time.sleep(fake.delay)
                payload = json.dumps(fake.body).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


BUILTIN_PACKAGES = ("bulk_export", "cross_tenant_activity", "missing_tenant_filter", "unencrypted_sensitive_field",
                    "unprotected_export_endpoint", "unscoped_lookup", "unscoped_write", "weak_row_level_security")


def _complete(result: dict) -> dict:
    """A server answer holding every built-in rule's package (those not given: no violations)."""
    return {**{p: {"violations": []} for p in BUILTIN_PACKAGES}, **result}


def test_posts_input_and_config_to_the_data_api_and_collects_every_package():
    doc = unscoped_reads(2)
    answer = {"result": _complete({
        "missing_tenant_filter": {"violations": [read_violation(2), read_violation(1)], "helper": {"x": 1}},
        "org": {"nested": {"violations": [{"rule": "org-rule", "severity": "info", "message": "m",
                                           "path": "a.sql", "line": 1}]}},
        "no_violations_here": {"other": True},
    })}
    config = config_from_mapping({"rules": {"missing-tenant-filter": {"severity": "warning"}}, "accept_join_scope": False})
    with FakeOpa(body=answer) as server:
        violations = evaluate(doc, config, opa_url=server.url)
    assert violations == [
        {"rule": "org-rule", "severity": "info", "message": "m", "path": "a.sql", "line": 1, "column": 1,
         "end_line": 1},
        read_violation(1),
        read_violation(2),
    ]
    [(path, body)] = server.requests
    assert path == "/v1/data/tenantlint/rules"
    sent = body["input"]
    assert {k: v for k, v in sent.items() if k != "config"} == doc
    assert sent["config"]["accept_join_scope"] is False
    assert sent["config"]["exemptions"] == []
    assert sent["config"]["rules"]["missing-tenant-filter"] == {"severity": "warning", "enabled": True, "options": {}}
    assert sent["config"]["rules"]["unencrypted-sensitive-field"] == {"severity": "warning", "enabled": True,
                                                                      "options": {}}


def test_undefined_result_means_the_server_has_no_tenantlint_policies():
    with FakeOpa(body={}) as server:
        with pytest.raises(EngineError) as exc:
            opa.evaluate(server.url, unscoped_reads(1))
    assert str(exc.value) == (f"the OPA server at {server.url} has no tenantlint policies (data.tenantlint.rules "
                              "is undefined): start it with `opa run --server <policy folders>`")


def test_server_error_is_an_engine_error_with_the_server_message():
    body = {"code": "internal_error", "message": "1 error occurred: policy.rego:7: eval_conflict_error: "
                                                 "complete rules must not produce multiple outputs"}
    with FakeOpa(status=500, body=body) as server:
        with pytest.raises(EngineError) as exc:
            opa.evaluate(server.url, unscoped_reads(1), timeout=5)
    assert str(exc.value) == (f"the OPA server at {server.url} answered HTTP 500: 1 error occurred: policy.rego:7: "
                              "eval_conflict_error: complete rules must not produce multiple outputs")


def test_slow_server_times_out():
    with FakeOpa(body={"result": {}}, delay=2.0) as server:
        with pytest.raises(EngineError) as exc:
            opa.evaluate(server.url, unscoped_reads(1), timeout=0.3)
    assert str(exc.value) == f"the OPA server at {server.url} did not answer within 0.3 s"


def test_server_that_is_down_is_an_engine_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(EngineError) as exc:
        opa.evaluate(url, unscoped_reads(1), timeout=2)
    assert str(exc.value) == f"cannot reach the OPA server at {url}: connection refused"


def test_malformed_violations_from_the_server_are_policy_errors():
    with FakeOpa(body={"result": {"x": {"violations": [{"rule": "x"}]}}}) as server:
        with pytest.raises(PolicyError) as exc:
            opa.evaluate(server.url, {})
    assert str(exc.value) == (f"{server.url} data.tenantlint.rules.x: violation needs 'severity' (str): "
                              '{"rule": "x"}')


@pytest.mark.parametrize("result, says", [
    ({}, "with no rule package holding `violations`"),
    ([], "answered data.tenantlint.rules = an array, not an object of rule packages"),
    (5, "answered data.tenantlint.rules = a number, not an object of rule packages"),
    (None, "answered data.tenantlint.rules = null, not an object of rule packages"),
    ("x", "answered data.tenantlint.rules = a string, not an object of rule packages"),
    ({"missing_tenant_filter": {}}, "with no rule package holding `violations`"),
    ({"missing_tenant_filter": {"violations": []}}, "does not evaluate data.tenantlint.rules.bulk_export, "),
])
def test_an_answer_of_another_shape_fails_closed(result, says):
    """Issue 17.1: each of these gave 0 findings and exit 0."""
    with FakeOpa(body={"result": result}) as server:
        with pytest.raises(EngineError) as exc:
            evaluate(unscoped_reads(1), Config(), opa_url=server.url)
    assert str(exc.value).startswith(f"the OPA server at {server.url} ")
    assert says in str(exc.value)


def test_a_disabled_rule_need_not_be_on_the_server():
    rules = {p.replace("_", "-"): {"enabled": False} for p in BUILTIN_PACKAGES if p != "missing_tenant_filter"}
    with FakeOpa(body={"result": {"missing_tenant_filter": {"violations": [read_violation(1)]}}}) as server:
        assert evaluate(unscoped_reads(1), config_from_mapping({"rules": rules}), opa_url=server.url) == \
            [read_violation(1)]


def test_a_server_that_trickles_its_answer_is_cut_off_at_the_deadline():
    """One byte every 0.2 s renews requests' per-read timeout forever; opa_timeout bounds the whole."""
    class Trickle(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = QuietServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        started = time.monotonic()
        with pytest.raises(EngineError) as exc:
            evaluate(unscoped_reads(1), config_from_mapping({"opa_timeout": 1.5}), opa_url=url)
        assert time.monotonic() - started < 5
        assert str(exc.value) == f"the OPA server at {url} did not answer within 1.5 s"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("url", ["http://opa.internal:8181/v1/data", "ftp://opa.internal", "http://:8181"])
def test_url_must_name_only_a_server(url):
    with pytest.raises(ConfigError):
        opa.evaluate(url, {})


@pytest.mark.skipif(shutil.which("opa") is None,
                    reason="the `opa` binary is not on PATH: install OPA to check the policies on a real server")
def test_real_opa_server_agrees_with_the_embedded_engine(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        ["opa", "run", "--server", "--addr", f"127.0.0.1:{port}", "--ignore", "*_test.yaml",
         "--ignore", "__init__.py", str(builtin_policy_dir())],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        doc = unscoped_reads(3)
        assert evaluate(doc, Config(), opa_url=url) == evaluate(doc, Config())
    finally:
        server.terminate()
        server.wait(timeout=10)
