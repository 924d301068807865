"""The prefilter skips only files the full analysis gets nothing from (issue 8).

Proved on every fixture the project has: each file the prefilter would skip is run
through the full extractor and must yield no fact and no error; and each example tree
scanned with and without the prefilter gives the same report and the same policy input.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tenantlint.extract import prefilter
from tenantlint.config import Config, load_config
from tenantlint.extract import extract
from tenantlint.extract.runner import RunStats, extract_files
from tenantlint.scan import scan
from tests.robustness.test_corpus import stdlib_paths
from tests.speed.cases import case_id, representative_cases, source_files

FACT_KEYS = ("tables", "queries", "routes", "fields", "constants", "suppressions", "errors")

# What DESIGN.md says the analysis reads, one shape per line: each must be kept.
KEPT = [
    "rows = Patient.objects.filter(practice=request.user.practice)",
    "rows = practice.patients.all()",
    "obj = Patient._default_manager.get(pk=pk)",
    "rows = session.query(Patient).filter_by(name=name)",
    "stmt = select(Patient).where(Patient.id == pid)",
    "p = db.session.get(Patient, pid)",
    "cur.execute(sql, params)",
    "df = pd.read_sql(q, conn)",
    "rows = Note.objects.raw(q)",
    "qs = qs.annotate(n=RawSQL(q, ()))",
    "q = sa.text('select id from notes')",
    "SQL = 'delete from notes where id = %s'",
    "SQL = ('select id '\n       'from notes')",
    "Q = f\"UPDATE {table} SET name = %s\"",
    "@app.route('/export')\ndef export(): pass",
    "@api.get('/patients')\ndef patients(): pass",
    "urlpatterns = [path('export/', views.export)]",
    "class Patient(models.Model):\n    practice = models.ForeignKey('Practice', on_delete=models.CASCADE)",
    "class Note(Base):\n    __tablename__ = 'notes'",
    "class PatientViewSet(viewsets.ModelViewSet):\n    queryset = Patient.objects.all()",
    "@login_required\ndef export_all(request):\n    return render_csv(rows)",
    "x = 1  # tenantlint: ignore[missing-tenant-filter]",
    "def scoped(qs, practice_id):\n    return qs",
]


@pytest.mark.parametrize("source", KEPT)
def test_what_the_analysis_reads_is_kept(source):
    assert prefilter.relevant("app/module.py", source.encode(), Config(tenant_columns=("practice_id",)))


def _extractor_vocabulary() -> list[str]:
    """One line per name the Python extractor reacts to, as code would use it."""
    from tenantlint.extract.python import django_views, models, orm_django, orm_sqlalchemy, raw_sql

    lines = [f"rows = conn.{m}(QUERY)" for m in raw_sql.SINK_METHODS]
    lines += [f"rows = {f}(QUERY, conn)" for f in raw_sql.SINK_FUNCS]
    lines += [f"rows = pd.{f}('notes', conn)" for f in raw_sql.TABLE_SINKS]
    lines += [f"rows = Patient.{m}" for m in orm_django.MANAGERS]
    lines += [f"rows = Patient.visible.{m}()" for m in orm_django.UNAMBIGUOUS]
    lines += [f"from .models import Patient\nrows = Patient.visible.{m}()" for m in orm_django.MANAGER_METHODS]
    lines += [f"row = {f}(Patient, pk=pk)" for f in orm_django.SHORTCUTS]
    lines += [f"stmt = {f}(Patient)" for f in orm_sqlalchemy.STATEMENTS]
    lines += [f"class Note(Base):\n    x = {c}(Other)" for c in (*models.SA_COLUMNS, *models.SA_RELATIONS)]
    lines += [f"class Note(Thing):\n    x = {c}(Other)" for c in (*models.DJANGO_RELATIONS, *models.DJANGO_M2M)]
    lines += [f"class Notes({v}):\n    model = Note" for v in (*django_views.LOOKUP_VIEWS, *django_views.LIST_VIEWS)]
    return lines


def test_every_name_the_extractor_reacts_to_is_kept():
    """The token list follows the extractor: a sink or ORM method added there must be added here."""
    config = Config()
    missing = [line for line in _extractor_vocabulary() if not prefilter.relevant("app/m.py", line.encode(), config)]
    assert not missing


def test_plain_code_is_skipped_and_sql_files_never_are():
    helper = textwrap.dedent("""\
        # You should have received a copy of the GNU Affero General Public License.
        from decimal import Decimal


        def cents(value: Decimal) -> int:
            '''Select the smallest unit; update callers when it changes.'''
            return int(value * 100)
    """).encode()
    assert prefilter.skippable("app/money.py", helper, Config())
    assert not prefilter.skippable("db/grants.sql", b"GRANT ALL ON notes TO app;", Config())


def test_a_file_the_extractor_would_report_is_never_skipped():
    config = Config()
    assert not prefilter.skippable("bad.py", b"def broken(:\n    pass\n", config)
    assert not prefilter.skippable("nul.py", b"x = 1\0\n", config)
    assert not prefilter.skippable("latin.py", b"name = '\xe9'\n", config)
    big = b"x = 1\n" * 10
    assert not prefilter.skippable("big.py", big, Config(max_file_size=len(big) - 1))


def test_no_fixture_file_that_has_facts_is_skipped():
    checked, wrong = 0, []
    for file in source_files():
        data = file.read_bytes()
        config = load_config(start=file.parent)
        if not prefilter.skippable(file.as_posix(), data, config):
            continue
        checked += 1
        facts = extract(file.name, data, config)
        if any(facts.get(key) for key in FACT_KEYS):
            wrong.append((file, {key: facts[key] for key in FACT_KEYS if facts.get(key)}))
    assert not wrong, f"the prefilter skips files that have facts: {wrong}"


@pytest.mark.parametrize("case", representative_cases(), ids=case_id)
def test_scan_reports_the_same_without_the_prefilter(case: Path, monkeypatch):
    filtered = scan(["."], cwd=case)
    monkeypatch.setattr(prefilter, "skipped_tree", lambda path, data, config: None)
    full = scan(["."], cwd=case)
    assert filtered.to_json() == full.to_json()
    assert filtered.document == full.document


def test_a_mixed_tree_skips_files_and_reports_the_same(tmp_path, monkeypatch):
    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [practice_id]\n")
    (app / "models.py").write_text(textwrap.dedent("""\
        from django.db import models


        class Patient(models.Model):
            practice_id = models.IntegerField()
            name = models.CharField(max_length=100)
    """))
    (app / "views.py").write_text(textwrap.dedent("""\
        from app.models import Patient


        def patients(request):
            return list(Patient.objects.filter(name=request.GET["q"]))
    """))
    (app / "money.py").write_text("def cents(value):\n    return int(value * 100)\n")
    (app / "broken.py").write_text("def broken(:\n    pass\n")
    stats = RunStats()
    files = sorted(app.glob("*.py"))
    config = load_config(start=tmp_path)
    facts, errors = extract_files(files, tmp_path, config, stats=stats)
    assert stats.skipped == 1 and stats.extracted == 3
    assert [e["path"] for e in errors] == ["app/broken.py"]
    filtered = scan(["."], cwd=tmp_path)
    monkeypatch.setattr(prefilter, "skipped_tree", lambda path, data, config: None)
    full = scan(["."], cwd=tmp_path)
    assert filtered.to_json() == full.to_json()
    assert filtered.document == full.document


@pytest.mark.slow
def test_no_standard_library_file_that_has_facts_is_skipped():
    """A large body of real code the fixtures do not cover: of the ~235 files of the standard
    library this suite reads (top-level modules, email, http, json, logging, sqlite3), the prefilter
    skips about half, and none may hold a fact."""
    config = Config()
    checked, wrong = 0, []
    files = sorted(f for root in stdlib_paths() for f in ([root] if root.is_file() else root.rglob("*.py")))
    for file in files:
        if file.suffix != ".py":
            continue
        data = file.read_bytes()
        if not prefilter.skippable(file.as_posix(), data, config):
            continue
        checked += 1
        facts = extract(file.name, data, config)
        # A parse error here is libcst refusing what ``ast`` accepts: not something to report.
        found = {key: facts[key] for key in FACT_KEYS if key != "errors" and facts.get(key)}
        if found:
            wrong.append((file, found))
    assert checked > 100
    assert not wrong, f"the prefilter skips files that have facts: {wrong}"
