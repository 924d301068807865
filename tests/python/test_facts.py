"""Exact facts (model, scope, line) the Python extractor emits for the fixture projects."""

from __future__ import annotations

import pytest

from tests.python.helpers import PYTHON_CASES, facts_of, refs

CLINIC = PYTHON_CASES / "clinic"
BILLING = PYTHON_CASES / "billing"


def _by_line(facts: dict) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = {}
    for line, name, scope, use in refs(facts):
        out.setdefault(line, []).append((name, scope, use))
    return out


@pytest.mark.parametrize("line, expected", [
    (17, [("Patient", "direct", "read")]),
    (23, [("Patient", "direct", "read")]),
    (30, [("Patient", "none", "read")]),
    (36, [("Patient", "direct", "read")]),
    (43, [("Patient", "none", "read")]),
    (49, [("Patient", "direct", "read")]),
    (61, [("Note", "join", "read")]),
    (67, [("Appointment", "join", "read")]),
    (75, [("Patient", "none", "read")]),
    (82, [("Patient", "direct", "read")]),
    (88, [("Patient", "direct", "read")]),
    (95, [("Patient", "none", "read")]),
    (102, [("Patient", "none", "read")]),
    (108, [("Patient", "direct", "read")]),
    (118, [("Patient", "none", "read")]),
    (125, [("Note", "direct", "read")]),
    (138, [("Patient", "helper", "read")]),
    (144, [("Patient", "helper", "read")]),
    (151, [("Appointment", "none", "read")]),
    (158, [("Note", "none", "write")]),
    (164, [("Note", "direct", "write")]),
    (171, [("Note", "none", "write")]),
    (183, [("Drug", "none", "read")]),
    (191, [("Patient", "direct", "read")]),
    (198, [("Patient", "direct", "read")]),
    (206, [("Patient", "none", "read")]),
    (211, [("Note", "join", "read")]),
    (220, [("Note", "join", "read")]),
    (228, [("Note", "join", "read")]),
    (235, [("Appointment", "none", "read")]),
    (242, [("Appointment", "none", "read")]),
    (248, [("Appointment", "join", "read")]),
    (254, [("Appointment", "anchor", "read")]),
    (260, [("Appointment", "join", "read")]),
    (267, [("Patient", "none", "read")]),
    (275, [("Patient", "none", "read")]),
    (282, [("Patient", "none", "read")]),
])
def test_django_views(line, expected):
    assert _by_line(facts_of(CLINIC, "clinic/views.py"))[line] == expected


def test_django_views_emit_nothing_else():
    facts = facts_of(CLINIC, "clinic/views.py")
    by_line = _by_line(facts)
    # related managers, create(), a get_object_or_404 on a related manager: nothing to judge
    for line in (54, 131, 176):
        assert line not in by_line
    kinds = {q["line"]: (q["kind"], q["lookup"]) for q in facts["queries"]}
    assert kinds[30] == ("lookup", True)
    assert kinds[158] == ("update", False)
    assert kinds[171] == ("delete", True)
    assert kinds[275] == ("lookup", True)


def test_django_query_shape():
    facts = facts_of(CLINIC, "clinic/views.py")
    q = next(q for q in facts["queries"] if q["line"] == 75)
    assert q == {
        "path": "clinic/views.py", "line": 75, "column": 10, "end_line": 75, "end_column": 88,
        "kind": "select", "origin": "django", "function": "clinic.views.search",
        "code": 'Patient.objects.filter(Q(name__icontains=term)| Q(practice=request.practice))',
        "export": False, "lookup": False,
        "refs": [{"table": None, "model": "Patient", "alias": None, "use": "read", "scope": "none",
                  "reason": "no tenant filter", "lookups": [["name__icontains", "practice"]], "manager": "objects"}],
    }


@pytest.mark.parametrize("line, expected", [
    (294, ("Patient", "helper", "patient.practice_id is checked after the fetch")),
    (302, ("Note", "helper", "has_perm() checks note after the fetch")),
    (311, ("Note", "none", "no tenant filter")),
    (319, ("Patient", "helper", "in a branch only staff or superusers reach")),
    (321, ("Patient", "direct", "practice=... filters on the tenant column")),
    (329, ("Patient", "none", "no tenant filter")),
    (336, ("Patient", "helper", "uniqueness check of an identifier: reveals no row")),
    (344, ("Patient", "none", "no tenant filter")),
    (351, ("Note", "join", "patient=... matches an object already loaded or another query's rows")),
    (358, ("Note", "join", "pk=... matches an object already loaded or another query's rows")),
    (363, ("Note", "anchor", "share_token=... matches a secret the caller presents")),
    (370, ("Note", "helper", "inside scope(...)")),
    (377, ("Note", "none", "no tenant filter")),
])
def test_how_correct_code_scopes(line, expected):
    facts = facts_of(CLINIC, "clinic/views.py")
    q = next(q for q in facts["queries"] if q["line"] == line)
    assert [(r["model"], r["scope"], r["reason"]) for r in q["refs"]] == [expected]


def test_sqlalchemy_checks_and_relationship_joins():
    by_line = {q["line"]: q for q in facts_of(BILLING, "billing/service.py")["queries"]}
    assert [(r["model"], r["scope"]) for r in by_line[146]["refs"]] == [("Invoice", "helper")]
    assert [(r["model"], r["scope"]) for r in by_line[153]["refs"]] == [("Invoice", "join"), ("Org", "direct")]
    assert [(r["model"], r["scope"]) for r in by_line[158]["refs"]] == [("Invoice", "none"), ("Org", "direct")]
    assert by_line[162]["dynamic"] == ["where"] and by_line[162]["refs"][0]["scope"] == "helper"


def test_django_parent_lookups_for_the_linker():
    facts = facts_of(CLINIC, "clinic/views.py")
    q = next(q for q in facts["queries"] if q["line"] == 158)
    assert q["refs"][0].get("parent_lookups") is None  # body="" is a literal


@pytest.mark.parametrize("line, expected", [
    (12, [("Patient", "none", "read")]),
    (16, [("Note", "helper", "read")]),
    (19, [("Note", "direct", "read")]),
    (25, [("Appointment", "none", "read")]),
    (29, [("Patient", "helper", "read")]),
    (38, [("Note", "helper", "read")]),
    (43, [("Patient", "none", "read")]),
    (58, [("Note", "none", "read")]),
    (67, [("Note", "none", "read")]),
    (79, [("Patient", "helper", "read")]),
    (83, [("Patient", "direct", "read")]),
    (88, [("Patient", "none", "read")]),
])
def test_class_based_views_forms_serializers(line, expected):
    assert _by_line(facts_of(CLINIC, "clinic/api.py"))[line] == expected


@pytest.mark.parametrize("line, expected", [
    (9, [("Invoice", "direct", "read")]),
    (14, [("Invoice", "none", "read")]),
    (19, [("Invoice", "none", "read")]),
    (23, [("Invoice", "direct", "read")]),
    (29, [("Invoice", "none", "read")]),
    (34, [("Invoice", "direct", "read")]),
    (42, [("Customer", "direct", "read")]),
    (46, [("Customer", "direct", "read")]),
    (51, [("Customer", "none", "read")]),
    (56, [("Customer", "none", "read")]),
    (60, [("LineItem", "join", "read"), ("Invoice", "direct", "read")]),
    (65, [("LineItem", "join", "read"), ("Invoice", "direct", "read")]),
    (69, [("Customer", "direct", "read")]),
    (74, [("Customer", "none", "read")]),
    (79, [("Customer", "none", "read")]),
    (83, [("Customer", "direct", "read")]),
    (88, [("Invoice", "none", "read")]),
    (92, [("Invoice", "direct", "write")]),
    (94, [("Invoice", "none", "write")]),
    (99, [("Invoice", "none", "write")]),
    (103, [("Invoice", "direct", "write")]),
    (105, [("Invoice", "none", "write")]),
    (109, [("Subscription", "direct", "read")]),
    (111, [("Subscription", "none", "read")]),
    (112, [("Plan", "none", "read")]),
    (118, [("Subscription", "none", "read")]),
    (122, [("payments", "direct", "read")]),
    (124, [("payments", "none", "read")]),
    (129, [("Invoice", "helper", "read")]),
    (134, [("Invoice", "direct", "read")]),
    (138, [("Customer", "anchor", "read")]),
    (142, [("Invoice", "direct", "read")]),
])
def test_sqlalchemy(line, expected):
    assert _by_line(facts_of(BILLING, "billing/service.py"))[line] == expected


def test_sqlalchemy_lookups_and_kinds():
    facts = facts_of(BILLING, "billing/service.py")
    kinds = {q["line"]: (q["kind"], q["lookup"], q["origin"]) for q in facts["queries"]}
    assert kinds[19] == ("lookup", True, "sqlalchemy")
    assert kinds[23] == ("lookup", True, "sqlalchemy")
    assert kinds[56] == ("lookup", True, "sqlalchemy")
    assert kinds[111] == ("lookup", True, "sqlalchemy")
    assert kinds[94] == ("update", False, "sqlalchemy")
    assert kinds[105] == ("delete", False, "sqlalchemy")
    assert kinds[14] == ("select", False, "sqlalchemy")


@pytest.mark.parametrize("line, expected", [
    (26, [("patients", "none", "read")]),
    (27, [("patients", "direct", "read")]),
    (32, [("patients", "direct", "read")]),
    (34, [("patients", "none", "read")]),
    (38, [("patients", "direct", "read")]),
    (40, [("patients", "none", "read")]),
    (42, [("patients", "none", "read")]),
    (43, [("patients", "direct", "read")]),
    (51, [("patients", "direct", "read")]),
    (55, [("patients", "helper", "read")]),
    (60, [("clinic_note", "none", "write")]),
    (61, [("clinic_note", "direct", "write")]),
    (19, [("clinic_appointment", "none", "read")]),
    (82, [("patients", "none", "read")]),
    (83, [("patients", "direct", "read")]),
    (88, [("clinic_note", "none", "read")]),
    (89, [("clinic_note", "direct", "read")]),
    (91, [("patients", "none", "read")]),
    (97, [("patients", "none", "read")]),
    (98, [("patients", "direct", "read")]),
    (99, [("Note", "direct", "read")]),
    (100, [("clinic_appointment", "direct", "read")]),
    (106, [("Note", "direct", "read")]),
    (108, [("Note", "none", "read")]),
    (114, [("clinic_note", "none", "export")]),
    (126, [("patients", "none", "read"), ("clinic_note", "none", "read")]),
])
def test_raw_sql(line, expected):
    assert _by_line(facts_of(CLINIC, "clinic/reports.py"))[line] == expected


def test_raw_sql_never_from_docstrings_logs_or_messages():
    facts = facts_of(CLINIC, "clinic/reports.py")
    lines = {q["line"] for q in facts["queries"]}
    assert not lines & {22, 23, 118, 119, 120 - 100}  # docstring, logger.info, VACUUM, prose, raise
    assert [e for e in facts["errors"]] == []


def test_imported_constants_become_sql_refs():
    facts = facts_of(CLINIC, "clinic/reports.py")
    pending = [(q["line"], q["sql_ref"], q["refs"]) for q in facts["queries"] if q.get("sql_ref")]
    assert pending == [
        (66, "clinic.queries.ALL_NOTES", []),
        (67, "clinic.queries.NOTES_OF_PRACTICE", []),
        (69, "clinic.queries.ALL_NOTES", []),
    ]
    assert facts["imports"]["ALL_NOTES"] == "clinic.queries.ALL_NOTES"
    assert facts["imports"]["queries"] == "clinic.queries"


def test_module_constants():
    facts = facts_of(CLINIC, "clinic/queries.py")
    assert facts["constants"] == {
        "ALL_NOTES": {"sql": "SELECT id, body FROM clinic_note ORDER BY id", "line": 4},
        "NOTES_OF_PRACTICE": {"sql": "SELECT id, body FROM clinic_note WHERE practice_id = %(practice)s", "line": 6},
    }


def test_constant_used_twice_is_reported_at_the_constant():
    facts = facts_of(CLINIC, "clinic/reports.py")
    at_constant = [q for q in facts["queries"] if q["line"] == 19]
    assert len(at_constant) == 1 and at_constant[0]["function"] is None
    assert not [q for q in facts["queries"] if q["line"] in (73, 77)]


def test_django_tables_and_fields():
    core = facts_of(CLINIC, "core/models.py")
    assert [(t["model"], t["name"], t["tenant_column"], t["abstract"], t["bases"]) for t in core["tables"]] == [
        ("Practice", "core_practice", None, False, ["Model"]),
        ("TenantModel", None, "practice_id", True, ["Model"]),
    ]
    facts = facts_of(CLINIC, "clinic/models.py")
    tables = {t["model"]: t for t in facts["tables"]}
    patient = tables["Patient"]
    assert (patient["name"], patient["tenant_column"], patient["bases"], patient["base_paths"]) == (
        "patients", None, ["TenantModel"], ["core.models.TenantModel"])
    assert patient["managers"] == {"objects": "PatientQuerySet.as_manager"}
    assert tables["Note"]["columns"] == ["id", "practice_id", "patient_id", "body", "diagnosis"]
    assert tables["Note"]["relations"] == {"practice": "Practice", "patient": "Patient"}
    assert (tables["Note"]["name"], tables["Note"]["tenant_column"], tables["Note"]["line"]) == (
        "clinic_note", "practice_id", 23)
    assert tables["ArchivedPatient"]["name"] is None and tables["ArchivedPatient"].get("proxy") is True
    assert "PatientQuerySet" not in tables
    fields = {(f["model"], f["name"]): f for f in facts["fields"]}
    assert fields[("Note", "diagnosis")] == {
        "path": "clinic/models.py", "table": "clinic_note", "model": "Note", "name": "diagnosis",
        "type": "CharField", "column_name": "diagnosis", "line": 28, "column": 5}
    assert fields[("Patient", "secret_notes")]["type"] == "EncryptedTextField"
    assert fields[("Note", "patient")]["column_name"] == "patient_id"


def test_sqlalchemy_tables_and_fields():
    facts = facts_of(BILLING, "billing/models.py")
    tables = {t["model"] or t["name"]: t for t in facts["tables"]}
    assert tables["Base"]["abstract"] and tables["Base"]["name"] is None
    assert (tables["OrgMixin"]["abstract"], tables["OrgMixin"]["columns"], tables["OrgMixin"]["tenant_column"]) == (
        True, ["org_id"], "org_id")
    customer = tables["Customer"]
    assert (customer["name"], customer["tenant_column"], customer["bases"]) == (
        "customers", None, ["OrgMixin", "Base"])
    assert customer["relations"] == {"invoices": "Invoice"}
    invoice = tables["Invoice"]
    assert (invoice["name"], invoice["tenant_column"], invoice["line"]) == ("invoices", "org_id", 37)
    assert invoice["foreign_keys"] == {"org_id": "orgs.id", "customer_id": "customers.id"}
    assert invoice["relations"] == {"customer": "Customer", "org": "Org"}
    assert (tables["Subscription"]["name"], tables["Subscription"]["tenant_column"]) == ("subscription", "org_id")
    assert tables["payments"]["model"] is None and tables["payments"]["tenant_column"] == "org_id"
    fields = {(f["model"] or f["table"], f["name"]): f for f in facts["fields"]}
    assert (fields[("Invoice", "card_number")]["type"], fields[("Invoice", "card_number")]["line"]) == ("String", 45)
    assert fields[("Invoice", "card_holder")]["type"] == "StringEncryptedType"
    assert fields[("Customer", "email")]["type"] == "String"
    assert fields[("Customer", "api_token")]["type"] == "str"
    assert fields[("payments", "amount")]["type"] == "Integer"


@pytest.mark.parametrize("name, secret", [
    ("share_token", True), ("api_key", True), ("state_digest", True), ("browser_nonce_hash", True),
    ("reset_token_digest", True), ("nonce", True), ("digest", False), ("name", False),
    ("user_id", False), ("public_id", False),
])
def test_secret_columns_a_lookup_may_match_on(name, secret):
    """Matching on a secret the caller presents (a token, an OAuth state digest) selects the
    caller's own row: langflow's one-time OAuth states are matched by their digest."""
    from tenantlint.extract.python.tree import is_secret_field

    assert is_secret_field(name) is secret
