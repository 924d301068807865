"""The route fixture projects end to end: markers, exact locations, and the routes the
policies see (paths with prefixes, methods, handler, authentication, export shape)."""

from __future__ import annotations

import jsonschema
import pytest

from tenantlint.report import render
from tenantlint.scan import scan
from tenantlint.schema import input_schema
from tests.conftest import FIXTURES
from tests.markers import compare

CASES = {name: FIXTURES / "python" / f"routes_{name}" for name in ("django", "drf", "fastapi", "flask")}


def _scan(name: str):
    return scan(["."], cwd=CASES[name])


@pytest.mark.parametrize("name", sorted(CASES))
def test_markers(name: str):
    result = _scan(name)
    missed, false = compare(CASES[name], result.findings)
    assert not missed, f"expected findings not reported: {missed}"
    assert not false, f"findings outside EXPECT blocks: {false}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_document_follows_the_input_schema(name: str):
    jsonschema.validate(_scan(name).document, input_schema())


EXACT = {
    "django": [
        ("bulk-export", "crm/management/commands/export_contacts.py", 16, 24),
        ("unencrypted-sensitive-field", "crm/models.py", 17, 5),
        ("unencrypted-sensitive-field", "crm/models.py", 26, 5),
        ("unprotected-export-endpoint", "crm/reports.py", 8, 1),
        ("bulk-export", "crm/reports.py", 10, 39),
        ("unprotected-export-endpoint", "crm/views.py", 22, 1),
        ("bulk-export", "crm/views.py", 24, 12),
        ("bulk-export", "crm/views.py", 41, 16),
        ("bulk-export", "crm/views.py", 52, 39),
        ("unprotected-export-endpoint", "crm/views.py", 62, 1),
        ("bulk-export", "crm/views.py", 74, 17),
        ("bulk-export", "crm/views.py", 88, 13),
        ("missing-tenant-filter", "crm/views.py", 95, 31),
        ("bulk-export", "crm/views.py", 118, 21),
        ("unprotected-export-endpoint", "crm/views.py", 123, 1),
        ("bulk-export", "crm/views.py", 126, 43),
        ("unprotected-export-endpoint", "crm/views.py", 155, 1),
        ("bulk-export", "crm/views.py", 158, 43),
    ],
    "drf": [
        ("bulk-export", "clinic/api.py", 22, 24),
        ("unprotected-export-endpoint", "clinic/api.py", 28, 5),
        ("bulk-export", "clinic/api.py", 30, 16),
        ("unprotected-export-endpoint", "clinic/api.py", 46, 5),
        ("unprotected-export-endpoint", "clinic/api.py", 61, 5),
        ("unprotected-export-endpoint", "clinic/api.py", 82, 1),
        ("bulk-export", "clinic/api.py", 87, 30),
        ("unprotected-export-endpoint", "clinic/api.py", 98, 1),
        ("bulk-export", "clinic/api.py", 100, 26),
        ("unencrypted-sensitive-field", "clinic/models.py", 12, 5),
    ],
    "fastapi": [
        ("unprotected-export-endpoint", "api/main.py", 17, 1),
        ("bulk-export", "api/main.py", 19, 23),
        ("unencrypted-sensitive-field", "api/models.py", 26, 5),
        ("bulk-export", "api/routers/admin.py", 15, 23),
        ("bulk-export", "api/routers/admin.py", 21, 23),
        ("unprotected-export-endpoint", "api/routers/employees.py", 18, 1),
        ("bulk-export", "api/routers/employees.py", 20, 23),
        ("bulk-export", "api/routers/employees.py", 31, 12),
        ("bulk-export", "api/routers/employees.py", 45, 23),
        ("unprotected-export-endpoint", "api/routers/employees.py", 50, 1),
        ("missing-tenant-filter", "api/routers/employees.py", 62, 33),
    ],
    "flask": [
        ("bulk-export", "shop/admin.py", 18, 38),
        ("unprotected-export-endpoint", "shop/app.py", 22, 1),
        ("bulk-export", "shop/app.py", 24, 12),
        ("bulk-export", "shop/app.py", 39, 13),
        ("bulk-export", "shop/app.py", 56, 38),
        ("unprotected-export-endpoint", "shop/app.py", 61, 1),
        ("missing-tenant-filter", "shop/app.py", 72, 26),
        ("unprotected-export-endpoint", "shop/app.py", 81, 1),
        ("bulk-export", "shop/app.py", 83, 38),
        ("unprotected-export-endpoint", "shop/app.py", 98, 1),
        ("bulk-export", "shop/app.py", 101, 42),
        ("unprotected-export-endpoint", "shop/app.py", 116, 1),
        ("unencrypted-sensitive-field", "shop/models.py", 18, 5),
    ],
}


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_findings(name: str):
    found = [(f["rule"], f["path"], f["line"], f["column"]) for f in _scan(name).findings]
    assert found == EXACT[name]


def _routes(name: str) -> dict[str, tuple]:
    """handler -> (path, methods, authenticated, export_shaped, writes_file)."""
    out = {}
    for r in _scan(name).document["routes"]:
        out.setdefault(r["handler"], (r["path"], r["methods"], r["authenticated"], r["export_shaped"],
                                      r["writes_file"]))
    return out


def test_django_routes():
    routes = _routes("django")
    assert routes["crm.views.export_contacts"] == ("/contacts/export/", [], False, True, True)
    assert routes["crm.views.export_my_contacts"] == ("/contacts/export-mine/", [], True, True, True)
    # login_required(...) around the view in urls.py protects it.
    assert routes["crm.views.download_contacts"][2] is True
    # Not named export, but writes tenant rows to a CSV response: an export.
    assert routes["crm.views.deal_feed"] == ("/deals/feed.csv", [], False, True, True)
    assert routes["crm.views.deal_total"] == ("/deals/total/", [], False, False, False)
    assert routes["crm.views.countries"] == ("/countries/", [], False, False, False)
    # Mixins, method_decorator, a project base class in another module.
    for handler in ("ContactExportView", "DealExportView", "DecoratedExportView", "InheritedExportView"):
        assert routes[f"crm.views.{handler}"][2] is True, handler
    assert routes["crm.views.PublicExportView"] == ("/export/public/", ["GET"], False, True, False)
    # include("crm.report_urls") under reports/.
    assert routes["crm.reports.dump_everything"][:3] == ("/reports/dump/", [], False)
    # Module names bound to a view: contact_dump = ContactDump.as_view(), secure_dump = login_required(...).
    dumps = sorted((r["path"], r["authenticated"]) for r in _scan("django").document["routes"]
                   if r["handler"] == "crm.views.ContactDump")
    assert dumps == [("/dump/", False), ("/dump/secure/", True)]
    # Helpers that take a request are not views of their own: the module's views are routed.
    assert "crm.views.build_csv" not in routes


def test_drf_routes():
    routes = _routes("drf")
    assert routes["clinic.api.PatientViewSet"][:3] == ("/api/patients/", ["DELETE", "GET", "PATCH", "POST", "PUT"],
                                                       True)
    assert routes["clinic.api.PatientViewSet.export"] == ("/api/patients/export/", ["GET"], True, True, True)
    assert routes["clinic.api.PatientViewSet.download"][:3] == ("/api/patients/public-download/", ["GET"], False)
    assert routes["clinic.api.PatientViewSet.history"][:4] == ("/api/patients/{pk}/history/", ["GET"], True, False)
    # IsAuthenticatedOrReadOnly: reads are open, writes are not.
    assert routes["clinic.api.InvoiceViewSet.bulk"][:3] == ("/api/invoices/bulk/", ["GET"], False)
    assert routes["clinic.api.InvoiceViewSet.bulk_void"][:3] == ("/api/invoices/bulk_void/", ["POST"], True)
    assert routes["clinic.api.CatalogViewSet.export"][2] is True
    # No permission_classes: the settings' DEFAULT_PERMISSION_CLASSES protect it.
    assert routes["clinic.api.SecureExportAPIView"][2] is True
    assert routes["clinic.api.export_mine"][2] is True
    assert routes["clinic.api.export_all"] == ("/api/export/all/", ["GET"], False, True, False)


def test_fastapi_routes():
    routes = _routes("fastapi")
    assert routes["api.routers.employees.export_employees"] == ("/api/employees/export", ["GET"], False, True,
                                                                False)
    for handler in ("export_my_employees", "download_employees", "dump_employees", "backup"):
        assert routes[f"api.routers.employees.{handler}"][2] is True, handler
    assert routes["api.routers.employees.report"] == ("/api/employees/report", ["POST"], False, True, True)
    # include_router(..., dependencies=[...]) and APIRouter(dependencies=[...]).
    assert routes["api.routers.admin.all_employees"][:3] == ("/admin/all_employees", ["GET"], True)
    assert routes["api.routers.admin.secure_export"][:3] == ("/secure/export", ["GET"], True)
    assert routes["api.main.health"] == ("/health", ["GET"], False, False, False)


def test_flask_routes():
    routes = _routes("flask")
    assert routes["shop.app.export_all_customers"][:3] == ("/api/v1/export_all_customers", ["GET"], False)
    for handler in ("export_customers", "download_orders", "backup_orders", "bulk_orders", "CustomerExport"):
        assert routes[f"shop.app.{handler}"][2] is True, handler
    assert routes["shop.app.backup_orders"][1] == ["GET", "POST"]
    # A before_request guard of the blueprint, which is mounted under /admin in another file.
    assert routes["shop.admin.export_customers"][:3] == ("/admin/customers/export", ["GET"], True)
    assert routes["shop.app.dump_customers"][:3] == ("/api/v1/dump", ["GET"], False)
    assert routes["shop.app.OrderExport"][:3] == ("/api/v1/orders/export", ["GET"], False)
    assert routes["shop.app.health"] == ("/health", ["GET"], False, False, False)
    assert routes["shop.app.late_login_export"][2] is False  # login_required above @app.route


def test_queries_carry_their_route_and_the_route_its_queries():
    document = _scan("django").document
    route = next(r for r in document["routes"] if r["handler"] == "crm.views.export_contacts")
    [index] = route["queries"]
    query = next(q for q in document["queries"] if q["index"] == index)
    assert query["route"] == {"path": "/contacts/export/", "methods": [], "handler": "crm.views.export_contacts",
                              "authenticated": False, "export_shaped": True}
    assert query["export"] is True and query["export_reason"] == "rows reach csv.writer at line 27"
    assert [r["use"] for r in query["refs"]] == ["export"]
    # values_list("email", "ssn"): the exported sensitive column is ssn.
    assert query["refs"][0]["sensitive_columns"] == ["ssn"]


def test_text_report_shows_the_route_of_an_export(monkeypatch):
    monkeypatch.chdir(CASES["django"])
    text = render(_scan("django"), "text")
    assert ("crm/views.py:24:12: error bulk-export 'crm_contact' (model Contact) is exported (rows reach "
            "csv.writer at line 27) without a tenant filter on account_id, with sensitive columns ssn: the export "
            "holds every tenant's rows\n"
            "        rows = Contact.objects.values_list(\"email\", \"ssn\")\n"
            "               ^\n"
            "    reached from route ANY /contacts/export/ (crm.views.export_contacts)\n") in text
    assert ("crm/views.py:22:1: error unprotected-export-endpoint route ANY /contacts/export/ "
            "(crm.views.export_contacts) exports data (route path contains export), including sensitive columns "
            "ssn, and has no authentication marker: anyone who finds the URL can download it\n") in text
