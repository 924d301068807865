"""The linker: inheritance by import path, tables inherited from bases, parent-object filters."""

from tenantlint.config import Config
from tenantlint.program.link import link

CFG = Config(tenant_columns=("org_id",))


def _model(name, module, table, tenant=None, bases=(), base_paths=(), abstract=False, relations=None):
    return {"name": table, "model": name, "module": module, "columns": [tenant] if tenant else [],
            "tenant_column": tenant, "bases": list(bases), "base_paths": list(base_paths),
            "abstract": abstract, "relations": relations or {}}


def _files(*tables, refs=()):
    queries = [{"path": "v.py", "line": i + 1, "column": 1, "refs": [r]} for i, r in enumerate(refs)]
    return [{"path": "m.py", "tables": list(tables), "queries": queries, "fields": [], "routes": [],
             "constants": {}}]


def test_bases_are_followed_by_import_path_not_by_name():
    doc = link(_files(
        _model("Device", "app.models", "app_device", tenant="org_id"),
        _model("WebAuthnDevice", "app.auth", "app_webauthn", bases=["Device"],
               base_paths=["django_otp.models.Device"]),
        _model("TenantBase", "core.models", None, tenant="org_id", abstract=True),
        _model("Invoice", "app.models", "app_invoice", bases=["TenantBase"], base_paths=["core.models.TenantBase"]),
    ), CFG)
    assert doc["tables"]["app_webauthn"]["tenant_owned"] is False
    assert doc["tables"]["app_invoice"]["tenant_owned"] is True


def test_a_model_without_a_table_uses_its_concrete_base_table():
    ref = {"table": None, "model": "Proxy", "use": "read", "scope": "none", "reason": ""}
    doc = link(_files(
        _model("Patient", "app.models", "app_patient", tenant="org_id"),
        _model("Proxy", "app.models", None, bases=["Patient"], base_paths=["app.models.Patient"]),
        refs=[ref]), CFG)
    assert doc["queries"][0]["refs"][0]["table"] == "app_patient"
    assert doc["queries"][0]["refs"][0]["tenant_owned"] is True


def test_children_filtered_by_a_tenant_owned_parent_object_are_join_scoped():
    by_parent = {"table": None, "model": "Note", "use": "read", "scope": "none", "reason": "",
                 "parent_lookups": ["patient"]}
    by_other = {**by_parent, "parent_lookups": ["author"]}
    doc = link(_files(
        _model("Patient", "app.models", "app_patient", tenant="org_id"),
        _model("User", "app.models", "app_user"),
        _model("Note", "app.models", "app_note", tenant="org_id", relations={"patient": "Patient", "author": "User"}),
        refs=[by_parent, by_other]), CFG)
    assert [q["refs"][0]["scope"] for q in doc["queries"]] == ["join", "none"]
