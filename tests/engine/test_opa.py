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


def test_posts_input_and_config_to_the_data_api_and_collects_every_package():
    doc = unscoped_reads(2)
    answer = {"result": {
        "missing_tenant_filter": {"violations": [read_violation(2), read_violation(1)], "helper": {"x": 1}},
        "org": {"nested": {"violations": [{"rule": "org-rule", "severity": "info", "message": "m",
                                           "path": "a.sql", "line": 1}]}},
        "no_violations_here": {"other": True},
    }}
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
