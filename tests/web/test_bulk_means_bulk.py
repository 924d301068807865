"""Issue 18: ``bulk-export`` means bulk. Single-row lookups, ORM bulk writes, ``export_id``
parameters and helpers that merely take ``request`` are no exports; messages say which
evidence made the decision."""

from __future__ import annotations

import textwrap
from functools import lru_cache

import pytest

from tenantlint.config import Config
from tenantlint.scan import scan
from tenantlint.extract.web import extract_web
from tenantlint.extract.web.words import export_word, says_export
from tests.conftest import FIXTURES
from tests.markers import compare

CASE = FIXTURES / "python" / "exports_bulk"


@lru_cache(maxsize=1)
def _result():
    return scan(["."], cwd=CASE)


def _by_handler() -> dict[str, dict]:
    return {r["handler"]: r for r in _result().document["routes"]}


def _query_at(path: str, line: int) -> dict:
    return next(q for q in _result().document["queries"] if q["path"] == path and q["line"] == line)


def test_markers():
    missed, false = compare(CASE, _result().findings)
    assert not missed, f"expected findings not reported: {missed}"
    assert not false, f"findings outside EXPECT blocks: {false}"


def test_exact_findings():
    found = [(f["rule"], f["path"], f["line"]) for f in _result().findings]
    assert found == [
        # ExportConvertAPI: its class-level queryset is a plain read; the fetch by the URL's pk is the IDOR.
        ("missing-tenant-filter", "clinic/api.py", 12),
        ("unscoped-lookup", "clinic/api.py", 16),
        ("bulk-export", "clinic/api.py", 24),  # a list view's queryset on an export route
        ("bulk-export", "clinic/backups.py", 10),
        ("bulk-export", "clinic/backups.py", 13),
        ("unprotected-export-endpoint", "clinic/legacy.py", 8),
        ("bulk-export", "clinic/legacy.py", 10),
        ("unprotected-export-endpoint", "clinic/views.py", 11),
        ("bulk-export", "clinic/views.py", 13),
        ("missing-tenant-filter", "clinic/views.py", 21),  # whole table read in an export handler, never sent
        ("bulk-export", "clinic/views.py", 30),
        ("unscoped-lookup", "clinic/views.py", 38),  # jobs/<int:export_id>/: no export route
        ("unscoped-write", "clinic/views.py", 46),  # filter(item_id__in=ids) then bulk_update(...)
    ]


@pytest.mark.parametrize("path, line, evidence", [
    ("clinic/views.py", 13, "is exported (returned by clinic.views.export_all_patients; route path contains export)"),
    ("clinic/views.py", 30, "is exported (rows reach csv.writer at line 31)"),
    ("clinic/legacy.py", 10, "is exported (returned by clinic.legacy.export_legacy; handler name contains export)"),
    ("clinic/api.py", 24, "is exported (returned by clinic.api.PatientDumpAPI; route path contains dump)"),
    ("clinic/backups.py", 10, "is exported (COPY ... TO) without a tenant filter on practice_id"),
    ("clinic/backups.py", 13, "is exported (SELECT ... INTO OUTFILE) without a tenant filter on practice_id"),
])
def test_bulk_export_messages_say_why(path, line, evidence):
    [finding] = [f for f in _result().findings if (f["rule"], f["path"], f["line"]) == ("bulk-export", path, line)]
    assert evidence in finding["message"]


def test_endpoint_messages_say_why():
    messages = {f["path"]: f["message"] for f in _result().findings if f["rule"] == "unprotected-export-endpoint"}
    assert messages["clinic/views.py"] == (
        "route ANY /api/v1/export_all_patients (clinic.views.export_all_patients) exports data (route path contains "
        "export) and has no authentication marker: anyone who finds the URL can download it")
    assert messages["clinic/legacy.py"].startswith(
        "view clinic.legacy.export_legacy (no URL route seen) exports data (handler name contains export) and")


def test_queries_carry_the_evidence():
    assert _query_at("clinic/views.py", 30)["export_reason"] == "rows reach csv.writer at line 31"
    assert _query_at("clinic/backups.py", 10)["export_reason"] == "COPY ... TO"
    written = _query_at("clinic/views.py", 46)
    assert (written["kind"], written["export"], [r["use"] for r in written["refs"]]) == ("update", False, ["write"])
    assert written["write_reason"] == "rows written back by CycleItem.objects.bulk_update at line 49"
    lookup = _query_at("clinic/api.py", 16)
    assert (lookup["lookup"], lookup["export"], [r["use"] for r in lookup["refs"]]) == (True, False, ["read"])
    assert _query_at("clinic/views.py", 21)["export"] is False


def test_routes_export_shaped_by_words_not_by_keys_or_bulk_writes():
    routes = _by_handler()
    assert routes["clinic.views.export_all_patients"]["export_reason"] == "route path contains export"
    assert routes["clinic.views.patients_csv"]["export_reason"] == "rows reach csv.writer at line 31"
    assert routes["clinic.api.ExportConvertAPI"]["export_reason"] == "route path contains export"
    for handler in ("clinic.views.job_status", "clinic.views.bulk_update_cycle_items"):
        assert routes[handler]["export_shaped"] is False, handler
    # get_export_hostname(request) returns a string: not a view, so not an unrouted route.
    assert "clinic.hosts.get_export_hostname" not in routes
    assert routes["clinic.legacy.export_legacy"]["routed"] is False


@pytest.mark.parametrize("name, expected", [
    ("bulk_update", None), ("bulk_create", None), ("bulkUpdate", None), ("bulk-update", None), ("export_id", None),
    ("exportId", None), ("/jobs/<int:export_id>/", None), ("/jobs/{export_id}", None),
    (r"^jobs/(?P<export_id>\d+)/$", None), ("bulk_void", None),
    ("bulk", "bulk"), ("bulk_orders", "bulk"), ("export_all_patients", "export"), ("/api/v1/export_all_patients",
                                                                                   "export"),
    ("allPatients", "all_"), ("/exports/<int:pk>/convert/", "export"), ("download.csv", "download"),
])
def test_patterns_match_words(name, expected):
    assert export_word(name, Config().export_patterns) == expected
    assert says_export(name, Config().export_patterns) is (expected is not None)


def _handlers(source: str) -> dict[str, dict]:
    found = extract_web("app/views.py", textwrap.dedent(source).encode(), Config()) or {"web": {}}
    return {h["name"]: h for h in found["web"].get("handlers", [])}


def test_a_view_returns_a_response_or_carries_a_view_decorator():
    found = _handlers("""
    def get_export_hostname(request):
        return request.get_host()

    def page(request):
        return render(request, "page.html")

    def download(request):
        response = HttpResponse(content_type="text/csv")
        return response

    def moved(request):
        return redirect("/new/")

    @login_required
    def export_contacts(request):
        return export_csv(request, Contact.objects.all())

    def helper(request, rows):
        return [r.id for r in rows]
    """)
    views = {name.rsplit(".", 1)[-1]: h["view"] for name, h in found.items()}
    assert views == {"get_export_hostname": False, "page": True, "download": True, "moved": True,
                     "export_contacts": True}


def test_sink_calls_and_write_backs_name_the_call_and_its_line():
    found = _handlers("""
    def export(request):
        response = HttpResponse(content_type="text/csv")
        writer = csv.writer(response)
        rows = Contact.objects.values_list("email")
        writer.writerows(rows)
        return response

    def reorder(request):
        items = list(Item.objects.filter(id__in=request.POST.getlist("ids")))
        Item.objects.bulk_update(items, ["rank"])
        return JsonResponse({})
    """)
    export = found["app.views.export"]
    assert [(c["sink"], c["line"]) for c in export["sink_calls"]] == [("HttpResponse", 3), ("csv.writer", 6)]
    assert export["sink_calls"][1]["spans"] == [[5, 12, 5, 48], [6, 22, 6, 26]]  # rows = ..., writerows(rows)
    reorder = found["app.views.reorder"]
    assert reorder["sinks"] == [] and [(c["sink"], c["line"]) for c in reorder["write_backs"]] == [
        ("Item.objects.bulk_update", 11)]
    assert reorder["write_backs"][0]["spans"] == [[10, 13, 10, 74], [11, 30, 11, 35]]
