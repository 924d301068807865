"""Issue 16.4: the HTML report, checked in a real browser (headless Chromium)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="no Chromium here (.ci/run installs it; apt-get install chromium)")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    proc = run_cli("scan", str(EXAMPLE), "--no-cache", "--format", "html", "-o", str(out))
    assert proc.returncode == 1, proc.stderr
    return out


def _browser(url: str, *args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM, "Chromium is missing: .ci/run installs it"
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", *args, url], capture_output=True, text=True, timeout=120)


def _text(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


def test_the_page_is_self_contained(report):
    page = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # no CDN, no network
    assert "<script>" in page and "<style>" in page


@needs_chromium
def test_chromium_renders_the_counts_tables_and_findings(report, tmp_path):
    shot = tmp_path / "report.png"
    rendered = _browser(report.as_uri(), "--screenshot=" + str(shot), "--window-size=1200,2000")
    assert shot.stat().st_size > 10_000, rendered.stderr[-2000:]
    dom = _browser(report.as_uri(), "--dump-dom")
    assert not re.search(r":CONSOLE[:(]\d+", dom.stderr), dom.stderr  # no console message, no script error
    text = _text(dom.stdout)
    assert "7 findings: 5 error, 0 warning, 2 info" in text
    assert "2 files scanned, 0 not analysed" in text
    assert "3 tenant-owned tables (tenant columns: practice_id)" in text
    assert "patients 8 (1 export, 6 read, 1 write) 4 tenant filter 4, not scoped 4" in text  # its coverage row
    assert "staff 1 (1 read) 0 the caller's own rows 1" in text
    assert "notes.body text plain text examples/clinic/schema.sql:10" in text
    assert "patients.hiv_status text plain text" in text
    assert "'patients' is read without a tenant filter on practice_id" in text
    assert "## What it does" in dom.stdout  # the rule's explanation from its METADATA


@needs_chromium
def test_the_rule_filter_runs_in_the_browser(report):
    dom = _browser(report.as_uri() + "#rule=bulk-export", "--dump-dom").stdout
    shown = re.search(r'<span id="shown">(\d+)</span>', dom)
    assert shown and shown.group(1) == "1"
    hidden = re.findall(r'<article class="finding" data-rule="([\w-]+)" style="display: none;">', dom)
    assert sorted(set(hidden)) == ["missing-tenant-filter", "unencrypted-sensitive-field", "unscoped-write"]
