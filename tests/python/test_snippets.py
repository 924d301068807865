"""Small shapes, one at a time: what each produces, exactly."""

from __future__ import annotations

import textwrap

import pytest

from tenantlint.config import Config
from tenantlint.extract.python import extract_python
from tenantlint.extract.python.context import module_name

CONFIG = Config(tenant_columns=("org_id",), scoping_functions=("only_mine",))


def _facts(source: str, path: str = "app/views.py", config: Config = CONFIG) -> dict:
    return extract_python(path, textwrap.dedent(source).encode(), config)


def _refs(source: str, **kw) -> list[tuple]:
    facts = _facts(source, **kw)
    return [(q["line"], r["model"] or r["table"], r["scope"]) for q in facts["queries"] for r in q["refs"]]


def test_module_names():
    assert module_name("crm/views.py") == "crm.views"
    assert module_name("crm/__init__.py") == "crm"
    assert module_name("manage.py") == "manage"


def test_relative_imports_are_resolved_against_the_package():
    facts = _facts("""
        from . import queries
        from .models import Contact as C
        from ..core.sql import ALL
        import sqlalchemy as sa
        import os.path
    """, path="crm/api/views.py")
    assert facts["imports"] == {"queries": "crm.api.queries", "C": "crm.api.models.Contact",
                                "ALL": "crm.core.sql.ALL", "sa": "sqlalchemy", "os": "os"}


def test_parent_lookups_are_left_for_the_linker():
    facts = _facts("""
        def f(owner):
            return Deal.objects.filter(contact=owner, amount__gt=5)
    """)
    ref = facts["queries"][0]["refs"][0]
    assert (ref["scope"], ref["parent_lookups"], ref["lookups"]) == ("none", ["contact"], [["contact"], ["amount__gt"]])


def test_sql_ref_through_a_module_attribute():
    facts = _facts("""
        from crm import queries

        def f(cursor):
            cursor.execute(queries.EVERYTHING)
    """)
    assert [(q["line"], q["sql_ref"], q["kind"]) for q in facts["queries"]] == [(5, "crm.queries.EVERYTHING", None)]


def test_class_attribute_sql():
    assert _refs("""
        class Repo:
            SQL = "SELECT id FROM contacts"

            def all(self, cursor):
                cursor.execute(self.SQL)
    """) == [(6, "contacts", "none")]


def test_queryset_returned_by_a_helper_is_judged_with_its_callers():
    assert _refs("""
        def base():
            return Contact.objects.select_related("org")

        def view(request):
            return base().filter(org=request.org)

        class View:
            def _visible(self):
                return Deal.objects.all()

            def get(self, request):
                return self._visible().filter(org_id=request.org.id)

        def other():
            return Note.objects.all()

        def careless(request):
            return other().filter(title="x")
    """) == [(3, "Contact", "direct"), (10, "Deal", "direct"), (16, "Note", "none")]


def test_scoping_function_by_config_and_by_name():
    assert _refs("""
        def a(request):
            return only_mine(Contact.objects.all(), request)

        def b(request):
            return Contact.objects.for_org(request.org)

        def c(request):
            return Contact.objects.visible_to(request.user)

        def d(request):
            return Contact.objects.active()
    """) == [(3, "Contact", "helper"), (6, "Contact", "helper"), (9, "Contact", "helper"), (12, "Contact", "none")]


def test_get_or_create_and_update_or_create():
    facts = _facts("""
        def f(request, email):
            a, _ = Contact.objects.get_or_create(email=email, defaults={"org": request.org})
            b, _ = Contact.objects.update_or_create(email=email, org=request.org, defaults={"x": 1})
    """)
    got = [(q["line"], [(r["scope"], r["use"]) for r in q["refs"]]) for q in facts["queries"]]
    assert got == [(3, [("none", "read")]), (4, [("direct", "write")])]


def test_create_and_bulk_create_are_no_reads():
    assert _refs("""
        def f(request):
            Contact.objects.create(org=request.org)
            Contact.objects.bulk_create([Contact(org=request.org)])
    """) == []


def test_values_of_known_non_models_are_ignored():
    assert _refs("""
        def f(request):
            request.GET.get("x")
            settings.FOO.get("y")
            Path.home().exists()
            datetime.now().date()
    """) == []


def test_reports_say_why():
    facts = _facts("""
        def f(cursor, where):
            cursor.execute("SELECT * FROM contacts WHERE " + where)
    """)
    q = facts["queries"][0]
    assert q["dynamic"] == ["where"] and "dynamic fragment" in q["refs"][0]["reason"]


def test_no_config_tenant_columns_still_work():
    assert _refs("""
        def f(request):
            return Contact.objects.filter(organization=request.org)
    """, config=Config()) == [(3, "Contact", "direct")]


@pytest.mark.parametrize("source", [
    "Contact.objects.raw('SELECT * FROM contacts')",
    "connection.cursor().execute('SELECT * FROM contacts')",
    "conn.exec_driver_sql('SELECT * FROM contacts')",
    "await conn.fetch('SELECT * FROM contacts')",
    "db.session.execute(sa.text('SELECT * FROM contacts'))",
    "pandas.read_sql_query(sql='SELECT * FROM contacts', con=engine)",
    "cur.copy_expert('COPY contacts TO STDOUT', f)",
])
def test_raw_sql_sinks(source):
    facts = _facts(f"async def f(conn, cur, engine, f):\n    {source}\n")
    assert [r["table"] for q in facts["queries"] for r in q["refs"]] == ["contacts"]
