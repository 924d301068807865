"""The whole-program stage on two fixture projects: contexts, paths, guards, provenance.

``deals`` is FastAPI + SQLAlchemy with a data layer, guard helpers, an admin dependency,
celery, click, a migration and ``__main__``; ``boards`` is Django/DRF with a permission
class, a decorator that verifies the URL's ids, the ``or`` trap, django-scopes, a foreign
key written from the request, and keys from a checked row or the server-side session;
``workspaces`` is the Django model, manager and generic-view shapes of issue 13.
"Removing the guard produces the finding" is checked for each guard kind on a copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tenantlint.config import config_from_mapping
from tenantlint.scan import scan
from tests.markers import compare

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "program"


def _found(root: Path, **options) -> list[tuple]:
    result = scan(["."], cwd=root, **options)
    return [(f["rule"], f["path"], f["line"], f["severity"], f.get("context")) for f in result.findings]


DEALS = [
    ("unscoped-lookup", "deals/api.py", 37, "error", "request"),     # no check after the fetch
    ("unscoped-lookup", "deals/api.py", 45, "error", "request"),     # a check that is not about the tenant
    ("unscoped-write", "deals/api.py", 54, "error", "request"),      # delete through a singleton's method
    ("unscoped-lookup", "deals/api.py", 67, "error", "request"),     # key from the URL, no check
    ("missing-tenant-filter", "deals/api.py", 72, "info", "admin"),  # staff-only dependency
    ("missing-tenant-filter", "deals/api.py", 78, "info", "admin"),  # under `if user.is_staff:`
    ("unscoped-lookup", "deals/api.py", 85, "error", "request"),     # through a recursive helper
    ("unscoped-write", "deals/api.py", 91, "error", "request"),      # request data handed to a task
    ("missing-tenant-filter", "deals/store.py", 34, "info", "unreachable"),
    ("unscoped-write", "deals/tasks.py", 11, "info", "background"),
    ("missing-tenant-filter", "deals/tasks.py", 16, "info", "background"),
    ("missing-tenant-filter", "deals/tasks.py", 22, "info", "command"),    # click command
    ("missing-tenant-filter", "deals/tasks.py", 26, "info", "migration"),  # RunPython target
    ("missing-tenant-filter", "deals/tasks.py", 30, "info", "command"),    # if __name__ == "__main__"
    ("unscoped-lookup", "deals/tasks.py", 36, "info", "background"),  # kwargs["deal_id"] of a checked row's id
]
# Not reported: a parent verified by a guard (via_note), `org_id = x OR org_id IS NULL`
# (shared), a task handed a checked row's id (touch_later)

BOARDS = [
    ("unscoped-lookup", "boards/views.py", 21, "error", "request"),
    ("unscoped-lookup", "boards/views.py", 38, "error", "request"),  # is_member or is_team_admin
    ("unprotected-export-endpoint", "boards/views.py", 63, "error", None),
    ("missing-tenant-filter", "boards/views.py", 66, "error", "request"),  # scopes_disabled()
    ("unscoped-write", "boards/views.py", 73, "error", "request"),  # a foreign key from request.data
    ("unscoped-lookup", "boards/views.py", 94, "error", "request"),  # int(request.GET[...]) stays the request's
]


WORKSPACES = [
    ("unscoped-lookup", "core/api.py", 9, "error", "request"),     # a ModelSerializer's implicit board field
    ("unscoped-lookup", "core/views.py", 12, "error", "request"),  # fields from project mixins
    ("unscoped-lookup", "core/views.py", 17, "error", "request"),  # a custom manager class
    ("unscoped-lookup", "core/views.py", 22, "error", "request"),  # QuerySet.as_manager()
    ("unscoped-lookup", "core/views.py", 32, "error", "request"),  # generics.get_object_or_404
    ("unscoped-lookup", "core/views.py", 37, "error", "request"),  # shortcuts.get_object_or_404
    ("unscoped-lookup", "core/views.py", 42, "error", "request"),  # one-to-one primary key
    ("unscoped-lookup", "core/views.py", 52, "error", "request"),  # AutoOneToOneField to "core.BOARD"
    ("unscoped-write", "core/views.py", 63, "error", "request"),   # foreign key to "core.BOARD"
    ("unscoped-lookup", "core/views.py", 68, "error", "request"),  # UpdateView.model
    ("unscoped-lookup", "core/views.py", 72, "error", "request"),  # DeleteView.queryset
    ("unscoped-lookup", "core/views.py", 76, "error", "request"),  # DetailView.model
    ("unscoped-lookup", "core/views.py", 80, "error", "request"),  # SingleObjectMixin + get_object()
]


def test_deals_exact_findings_by_context():
    assert _found(FIXTURES / "deals") == DEALS


def test_boards_exact_findings():
    assert _found(FIXTURES / "boards") == BOARDS


def test_runtime_scoping_libraries_exact_findings():
    """Issue 14: SQLAlchemy loader criteria scope ORM statements (not text()), django-multitenant
    managers and a project manager filtering by the current tenant scope theirs (not a plain
    manager of the model's own)."""
    assert _found(FIXTURES / "criteria") == [
        ("missing-tenant-filter", "app/api.py", 23, "error", "request"),  # text(): no criteria
        ("missing-tenant-filter", "app/api.py", 28, "error", "request"),  # not a TenantMixin model
    ]
    assert _found(FIXTURES / "multitenant") == [
        ("missing-tenant-filter", "shop/tasks.py", 10, "info", "background"),  # no current tenant in a task
        ("unscoped-lookup", "shop/views.py", 18, "error", "request"),
        ("unscoped-lookup", "shop/views.py", 23, "error", "request"),
        ("unscoped-lookup", "shop/views.py", 33, "error", "request"),  # beside the current-store manager
    ]
    assert _found(FIXTURES / "schemas") == [  # django-tenants: TENANT_APPS models, raw SQL too
        ("missing-tenant-filter", "clinic/tasks.py", 12, "info", "background"),  # every tenant, from a task
        ("unscoped-lookup", "clinic/views.py", 23, "error", "request"),  # a SHARED_APPS model
        ("missing-tenant-filter", "clinic/views.py", 30, "error", "request"),  # names schema tenant_b
        ("missing-tenant-filter", "clinic/views.py", 38, "error", "request"),  # SET search_path
        ("missing-tenant-filter", "clinic/views.py", 47, "error", "request"),  # schema_context in a loop
        ("missing-tenant-filter", "clinic/views.py", 60, "error", "request"),  # connection.set_tenant()
    ]
    messages = {f["line"]: f["message"] for f in scan(["."], cwd=FIXTURES / "schemas").findings}
    assert messages[30].endswith("(names the schema tenant_b: it reads that schema's rows, whatever the request's "
                                 "tenant (django-tenants sets the search_path, not the schema written))")
    assert messages[38].startswith("the connection's schema (search_path) is switched to %s: ")
    assert "(schema_context() inside a loop over tenants: each pass reads another tenant's schema)" in messages[47]
    assert messages[60].startswith('the connection\'s schema (search_path) is switched to '
                                   'Practice.objects.get(pk=request.data["practice"]): ')
    reasons = {q["line"]: q["refs"][0]["reason"] for q in scan(["."], cwd=FIXTURES / "multitenant").document["queries"]}
    assert reasons[8] == "django-multitenant TenantModel: filtered by the tenant set_current_tenant() set"
    assert reasons[13] == "django-multitenant OrderManager (objects): filtered by the current tenant"
    assert reasons[28] == "manager CurrentStoreManager filters store by the current tenant in get_queryset()"


def test_an_installed_query_class_scopes_session_query_only(tmp_path):
    """Issue 14: a Query subclass given to sessionmaker(query_cls=...) filters session.query();
    select() and text() never go through it; a query class nobody installs scopes nothing."""
    assert _found(FIXTURES / "queryclass") == [
        ("unprotected-export-endpoint", "app/api.py", 18, "error", None),
        ("missing-tenant-filter", "app/api.py", 21, "error", "request"),
        ("unprotected-export-endpoint", "app/api.py", 26, "error", None),
        ("missing-tenant-filter", "app/api.py", 29, "error", "request"),
    ]
    shutil.copytree(FIXTURES / "queryclass", tmp_path / "p")
    db = tmp_path / "p" / "app" / "db.py"
    db.write_text(db.read_text().replace("sessionmaker(query_cls=PracticeQuery)", "sessionmaker()"))
    assert ("missing-tenant-filter", "app/api.py", 13, "error", "request") in _found(tmp_path / "p")


def test_a_search_path_switch_is_a_finding_only_under_schema_per_tenant(tmp_path):
    """Without django-tenants' TENANT_APPS, a SET search_path picks no tenant; with them, the
    same handler is reported (the settings file is all that differs)."""
    shutil.copytree(FIXTURES / "schemas", tmp_path / "p")
    (tmp_path / "p" / "config" / "settings.py").write_text("INSTALLED_APPS = ['clinic', 'customers']\n")
    found = _found(tmp_path / "p")
    assert [f for f in found if f[2] in (38, 60)] == []
    assert ("missing-tenant-filter", "clinic/views.py", 38, "error", "request") in _found(FIXTURES / "schemas")


def test_workspaces_exact_findings():
    assert _found(FIXTURES / "workspaces") == WORKSPACES


def test_a_one_to_one_keyed_child_takes_its_parents_tenant_through_the_link():
    tables = scan(["."], cwd=FIXTURES / "workspaces").document["tables"]
    assert {name: tables[name]["tenant_column"] for name in ("core_boardsettings", "core_boardprofile", "core_job")} \
        == {"core_boardsettings": "board__teamspace_id", "core_boardprofile": "board__teamspace_id",
            "core_job": "teamspace_id"}


@pytest.mark.parametrize("case", ["deals", "boards", "workspaces", "criteria", "multitenant", "schemas",
                                  "queryclass"])
def test_markers(case):
    result = scan(["."], cwd=FIXTURES / case)
    reported = [f for f in result.findings if f["severity"] != "info"]
    missed, false = compare(FIXTURES / case, reported)
    assert not missed and not false


def test_a_finding_in_the_data_layer_points_at_the_handler_call_with_its_path():
    result = scan(["."], cwd=FIXTURES / "deals")
    finding = next(f for f in result.findings if f["line"] == 37 and f["path"] == "deals/api.py")
    assert finding["paths"] == [[
        {"function": "deals.api.rename", "path": "deals/api.py", "line": 37},
        {"function": "deals.store.DealStore.get", "path": "deals/store.py", "line": 9},
    ]]
    assert finding["related"][0]["path"] == "deals/store.py" and finding["related"][0]["line"] == 9
    assert "deal_id from the request" in finding["message"]
    assert "reached from PUT /deals/{deal_id} (deals.api.rename)" in finding["message"]


def test_the_query_document_carries_contexts_paths_and_guarded_sites():
    doc = scan(["."], cwd=FIXTURES / "deals").document
    get = next(q for q in doc["queries"] if q["path"] == "deals/store.py" and q["line"] == 9)
    assert get["contexts"] == ["background", "request"]
    guards = {(s["line"], s["guard"]["kind"]) for s in get["sites"] if s["guard"]}
    # the comparison after the fetch, the helper two calls deep, the guard named in config,
    # a guard of the row's parent (deal.note_id), the helper before a hand-over to a task,
    # a helper three calls deep, a guard method inherited from a base class
    assert guards == {(14, "check"), (22, "guard"), (29, "guard"), (59, "guard"), (102, "guard"), (114, "guard"),
                      (121, "guard"), (128, "guard")}
    note = next(q for q in doc["queries"] if q["path"] == "deals/store.py" and q["line"] == 19)
    keys = {s["line"]: s["key"] for s in note["sites"]}
    assert keys == {61: "server", 67: "request"}  # deal.note_id of a checked row; the URL's note_id


def test_context_levels_come_from_config(tmp_path):
    root = tmp_path / "deals"
    shutil.copytree(FIXTURES / "deals", root)
    config = root / "tenantlint.yaml"
    config.write_text(config.read_text() + "contexts: {background: error, command: off}\n")
    found = _found(root)
    assert ("unscoped-write", "deals/tasks.py", 11, "error", "background") in found
    assert not [f for f in found if f[4] == "command"]


def test_a_library_with_no_entry_point_is_judged_alone(tmp_path):
    shutil.copytree(FIXTURES / "deals" / "deals", tmp_path / "deals")
    shutil.copy(FIXTURES / "deals" / "tenantlint.yaml", tmp_path)
    for name in ("api.py", "tasks.py", "migrations"):
        target = tmp_path / "deals" / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    assert _found(tmp_path) == [
        ("unscoped-lookup", "deals/store.py", 9, "error", "alone"),
        ("unscoped-write", "deals/store.py", 12, "error", "alone"),
        ("unscoped-lookup", "deals/store.py", 19, "error", "alone"),
        ("missing-tenant-filter", "deals/store.py", 23, "error", "alone"),
        ("unscoped-lookup", "deals/store.py", 29, "error", "alone"),
        ("missing-tenant-filter", "deals/store.py", 34, "error", "alone"),
    ]


# (fixture, file, lines to delete (1-based, inclusive), expected finding after)
REMOVED_GUARDS = [
    ("deals", "deals/api.py", (15, 16), ("unscoped-lookup", "deals/api.py", 14, "error", "request")),
    ("deals", "deals/api.py", (23, 23), ("unscoped-lookup", "deals/api.py", 22, "error", "request")),
    ("deals", "deals/api.py", (30, 30), ("unscoped-lookup", "deals/api.py", 29, "error", "request")),
    ("deals", "deals/api.py", (60, 60), ("unscoped-lookup", "deals/api.py", 59, "error", "request")),
    ("deals", "deals/api.py", (122, 122), ("unscoped-lookup", "deals/api.py", 121, "error", "request")),
    ("deals", "deals/api.py", (129, 129), ("unscoped-lookup", "deals/api.py", 128, "error", "request")),
    ("boards", "boards/views.py", (11, 11), ("unscoped-lookup", "boards/views.py", 13, "error", "request")),
    ("boards", "boards/views.py", (25, 25), ("unscoped-lookup", "boards/views.py", 26, "error", "request")),
    ("boards", "boards/views.py", (47, 48), ("unscoped-lookup", "boards/views.py", 47, "error", "request")),
]


@pytest.mark.parametrize("case, file, lines, expected", REMOVED_GUARDS,
                         ids=["check", "helper", "config-guard", "helper-then-key", "helper-three-deep",
                              "base-class-method", "permission-class", "decorator", "membership-check"])
def test_removing_the_guard_produces_the_finding(tmp_path, case, file, lines, expected):
    root = tmp_path / case
    shutil.copytree(FIXTURES / case, root)
    before = _found(root)
    assert expected not in before
    source = (root / file).read_text().splitlines(keepends=True)
    del source[lines[0] - 1:lines[1]]
    (root / file).write_text("".join(source))
    assert expected in _found(root)


def test_config_keys_are_validated():
    from tenantlint.errors import ConfigError

    with pytest.raises(ConfigError, match="contexts.backgrund.*did you mean 'background'"):
        config_from_mapping({"contexts": {"backgrund": "info"}})
    with pytest.raises(ConfigError, match="contexts.command"):
        config_from_mapping({"contexts": {"command": "loud"}})
    for bad in (["a b"], [-1], [True]):
        with pytest.raises(ConfigError, match="guards\\[0\\].checks"):
            config_from_mapping({"guards": [{"function": "x.y", "checks": bad}]})
    assert config_from_mapping({"guards": [{"function": "x.y", "checks": [1, "obj"]}]}).guards[0]["checks"] == [1, "obj"]
    cfg = config_from_mapping({"job_launchers": ["start_job"], "admin_markers": ["is_operator"],
                               "entry_points": ["rpc.*"], "guards": [{"function": "acl.check"}]})
    assert cfg.guards == ({"function": "acl.check", "checks": [0]},)


def test_foreign_key_write_message_names_the_key_and_the_target():
    result = scan(["."], cwd=FIXTURES / "boards")
    finding = next(f for f in result.findings if f["rule"] == "unscoped-write")
    assert finding["message"].startswith(
        "write to 'boards_card' (model Card) sets board_id (a foreign key) from the request with no check "
        "that the Board row belongs to the caller's tenant")


def test_a_hook_run_on_the_handler_file_reports_the_data_layer_query_at_its_call():
    """Pre-commit passes the changed files; the unchanged data layer comes in as context."""
    found = _found(FIXTURES / "deals", jobs=1) and scan(["deals/api.py"], cwd=FIXTURES / "deals")
    assert [(f["rule"], f["path"], f["line"]) for f in found.findings if f["severity"] == "error"] == [
        (rule, path, line) for rule, path, line, severity, _ in DEALS if severity == "error"]


def test_the_message_says_what_was_checked_instead():
    result = scan(["."], cwd=FIXTURES / "deals")
    finding = next(f for f in result.findings if f["path"] == "deals/api.py" and f["line"] == 45)
    assert ("(deal_id from the request; checked: deal is not None and deal.title.startswith('secret') "
            "(line 46), Depends(current_user), none of it about the tenant; reached from") in finding["message"]


@pytest.mark.parametrize("fixture", ["deals", "boards"])
def test_given_files_report_what_the_whole_scan_reports_in_them(fixture, tmp_path):
    """A pre-commit run (files by name, the rest of the project as context) yields exactly
    the whole scan's findings in those files, although the engine sees neither the context
    files' queries nor their routes."""
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    whole = scan(["."], cwd=root).findings
    for path in sorted({f["path"] for f in whole}):
        given = scan([path], cwd=root).findings
        assert [(f["rule"], f["line"], f.get("context")) for f in given] == \
            [(f["rule"], f["line"], f.get("context")) for f in whole if f["path"] == path], path
