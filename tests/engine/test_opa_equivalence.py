"""The OPA engine gives the same JSON findings as the embedded one on the bundled example.

The real-OPA test in test_opa.py is skipped where there is no ``opa`` binary, and the
canned-answer tests there check only the client. This test closes the gap without OPA: a
local server answers the v1 Data API by really evaluating the built-in policies with
regopy, as OPA would with ``opa run --server policies/``: no data document, the config
arriving as ``input.config``. The CLI then scans examples/clinic once per engine, in
subprocesses, and both reports must list the same findings.
"""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import regopy

from tenantlint.engine.modules import load_modules
from tests.conftest import CLINIC_FINDINGS

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 120  # seconds, for each CLI run


class RegoDataApi(BaseHTTPRequestHandler):
    """``POST /v1/data/tenantlint/rules {"input": ...}`` -> ``{"result": data.tenantlint.rules}``."""

    timeout = 30  # a stuck client cannot hold the server at teardown
    modules = load_modules()
    requests: list[tuple[str, dict]] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append((self.path, body))
        if self.path != "/v1/data/tenantlint/rules":
            return self._reply(404, {"code": "not_found", "message": self.path})
        interpreter = regopy.Interpreter()
        for module in self.modules:
            interpreter.add_module(module.path, module.source)
        interpreter.set_input_term(json.dumps(body["input"], ensure_ascii=False))
        output = interpreter.query("data.tenantlint.rules")
        if not output.ok():
            return self._reply(500, {"code": "internal_error", "message": str(output)[:500]})
        self._reply(200, {"result": json.loads(str(output))["expressions"][0]})

    def _reply(self, status, body):
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def opa_server():
    RegoDataApi.requests = []
    server = HTTPServer(("127.0.0.1", 0), RegoDataApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def scan_findings(*extra: str) -> list[dict]:
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    proc = subprocess.run(
        [sys.executable, "-m", "tenantlint", "scan", "examples/clinic", "--format", "json", "--no-cache", *extra],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )
    assert proc.returncode == 1, proc.stderr  # 1: findings, and no errors
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    return report["findings"]


def test_opa_engine_reports_the_same_findings_as_the_embedded_engine(opa_server):
    embedded = scan_findings()
    assert [(f["rule"], f["path"], f["line"]) for f in embedded] == CLINIC_FINDINGS

    via_opa = scan_findings("--opa-url", opa_server)

    [(path, body)] = RegoDataApi.requests  # the OPA run really asked the server, once
    assert path == "/v1/data/tenantlint/rules"
    assert set(body["input"]["config"]) == {"rules", "accept_join_scope", "exemptions", "contexts"}  # the server holds no config
    assert via_opa == embedded
