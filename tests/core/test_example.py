"""The README's first command: scanning the bundled clinic example from the repository root."""

from tests.conftest import CLINIC_FINDINGS, ROOT, run_cli, scan_json
from tests.markers import compare


def test_clinic_example_from_the_repository_root():
    code, report = scan_json("examples/clinic", "--no-cache", cwd=ROOT)
    assert code == 1
    assert [(f["rule"], f["path"], f["line"]) for f in report["findings"]] == CLINIC_FINDINGS
    missed, false = compare(ROOT / "examples" / "clinic",
                            [{**f, "path": f["path"].removeprefix("examples/clinic/")} for f in report["findings"]])
    assert not missed and not false


def test_text_report_shows_the_code_line_and_summary():
    proc = run_cli("scan", "examples/clinic", "--no-cache", cwd=ROOT)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("examples/clinic/queries.sql:17:1: error missing-tenant-filter 'patients'")
    assert lines[1] == "    SELECT name, phone, hiv_status FROM patients WHERE id = %(id)s;"
    assert lines[2] == "    ^"
    assert lines[-1].startswith("7 findings (5 error, 0 warning, 2 info); 2 files scanned")


def test_scanning_the_examples_folder_uses_the_example_s_own_config():
    """Issue 16: the parent folder used to be judged with the defaults (0 findings)."""
    code, report = scan_json("examples", "--no-cache", cwd=ROOT)
    assert code == 1
    assert [(f["rule"], f["path"], f["line"]) for f in report["findings"]] == CLINIC_FINDINGS
    assert report["summary"]["configs"] == ["examples/clinic/tenantlint.yaml"]
