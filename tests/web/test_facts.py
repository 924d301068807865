"""Facts of one file (tenantlint.extract.web): routes, handlers, auth markers, export flows, settings."""

from __future__ import annotations

import textwrap

import pytest

from tenantlint.config import Config
from tenantlint.extract.web import extract_web
from tenantlint.extract.web.words import says_export


def facts(source: str, path: str = "app/views.py", config: Config | None = None) -> dict:
    found = extract_web(path, textwrap.dedent(source).encode(), config or Config())
    return found or {"routes": [], "web": {}}


def handler(source: str, name: str, **kwargs) -> dict:
    found = {h["name"]: h for h in facts(source, **kwargs)["web"].get("handlers", [])}
    return found[name]


# -- authentication markers ------------------------------------------------------------------

@pytest.mark.parametrize("decorator, marker", [
    ("@login_required", "login_required"),
    ("@login_required(login_url='/login/')", "login_required"),
    ("@permission_required('crm.export_contact', raise_exception=True)", "permission_required"),
    ("@user_passes_test(lambda u: u.is_staff)", "user_passes_test"),
    ("@staff_member_required", "staff_member_required"),
    ("@jwt_required()", "jwt_required"),
    ("@auth.login_required", "auth.login_required"),
    ("@roles_required('admin')", "roles_required"),
    ("@tenant_admin_only", "tenant_admin_only"),
    ("@requires_auth", "requires_auth"),
    ("@admin_permission.require(http_exception=403)", "admin_permission.require"),
])
def test_auth_decorators(decorator, marker):
    h = handler(f"{decorator}\ndef export(request):\n    pass\n", "app.views.export")
    assert h["auth"] == [marker]


@pytest.mark.parametrize("decorator", ["@csrf_exempt", "@require_GET", "@require_http_methods(['GET'])",
                                       "@cache_page(60)", "@transaction.atomic", "@jwt_optional", "@never_cache"])
def test_other_decorators_are_no_auth(decorator):
    assert handler(f"{decorator}\ndef export(request):\n    pass\n", "app.views.export")["auth"] == []


def test_configured_auth_decorator():
    config = Config(auth_decorators=("practice_member",))
    h = handler("@practice_member\ndef export(request):\n    pass\n", "app.views.export", config=config)
    assert h["auth"] == ["practice_member"]


def test_public_markers():
    h = handler("@login_not_required\ndef export(request):\n    pass\n", "app.views.export")
    assert (h["auth"], h["public"]) == ([], ["login_not_required"])
    h = handler("@api_view(['GET'])\n@permission_classes([AllowAny])\ndef export(request):\n    pass\n",
                "app.views.export")
    assert (h["auth"], h["public"], h["methods"], h["drf"]) == ([], ["permission_classes: AllowAny"], ["GET"], True)


def test_django_class_markers():
    source = """
    @method_decorator(login_required, name="dispatch")
    class A(View):
        pass

    class B(LoginRequiredMixin, View):
        pass

    class C(braces.PermissionRequiredMixin, TemplateView):
        pass

    class D(View):
        pass
    """
    found = {h["name"]: h for h in facts(source)["web"]["handlers"]}
    assert found["app.views.A"]["auth"] == ["login_required"]
    assert found["app.views.B"]["auth"] == ["LoginRequiredMixin"]
    assert found["app.views.C"]["auth"] == ["braces.PermissionRequiredMixin"]
    assert found["app.views.D"]["auth"] == [] and found["app.views.D"]["view"] is True


@pytest.mark.parametrize("value, verdict", [
    ("[IsAuthenticated]", {"auth": True, "names": ["IsAuthenticated"], "read_public": False}),
    ("(permissions.IsAdminUser,)", {"auth": True, "names": ["IsAdminUser"], "read_public": False}),
    ("[AllowAny]", {"auth": False, "names": ["AllowAny"], "read_public": False}),
    ("[]", {"auth": False, "names": [], "read_public": False}),
    ("[IsAuthenticatedOrReadOnly]", {"auth": True, "names": ["IsAuthenticatedOrReadOnly"], "read_public": True}),
    ("[IsAuthenticated | AllowAny]", {"auth": False, "names": ["IsAuthenticated | AllowAny"],
                                      "read_public": False}),
    ("[IsAuthenticated & IsOwner]", {"auth": True, "names": ["IsAuthenticated"], "read_public": False}),
    ("api_settings.DEFAULT_PERMISSION_CLASSES", {"auth": True, "names": ["api_settings.DEFAULT_PERMISSION_CLASSES"],
                                                 "read_public": False}),
    ("get_permissions_for(self)", {"auth": True, "names": ["get_permissions_for(self)"], "read_public": False}),
])
def test_drf_permission_classes(value, verdict):
    h = handler(f"class A(APIView):\n    permission_classes = {value}\n", "app.views.A")
    assert h["permission_classes"] == verdict and h["drf"] is True


def test_drf_actions():
    source = """
    class A(viewsets.ModelViewSet):
        @action(detail=False, methods=["get", "post"], url_path="export-all", permission_classes=[AllowAny])
        def export(self, request):
            pass

        @action(detail=True)
        def history(self, request, pk=None):
            pass
    """
    found = {h["name"]: h for h in facts(source)["web"]["handlers"]}
    assert found["app.views.A.export"]["action"] == {
        "detail": False, "methods": ["GET", "POST"], "url_path": "export-all",
        "permission_classes": {"auth": False, "names": ["AllowAny"], "read_public": False}}
    assert found["app.views.A.history"]["action"] == {"detail": True, "methods": ["GET"], "url_path": "history"}
    assert found["app.views.A.export"]["line"] == 4 and found["app.views.A.export"]["column"] == 5
    assert found["app.views.A"]["inherited"] == ["create", "destroy", "list", "partial_update", "retrieve", "update"]


def test_fastapi_dependencies():
    source = """
    from typing import Annotated
    from fastapi import Depends, Security
    from fastapi.security import OAuth2PasswordBearer
    from app.deps import AuthUser, User, get_db

    scheme = OAuth2PasswordBearer(tokenUrl="token")
    CurrentUser = Annotated[dict, Depends(get_current_user)]

    def a(user=Depends(get_current_user)): ...
    def b(user: Annotated[dict, Depends(get_current_user)]): ...
    def c(user: CurrentUser): ...
    def d(token: str = Depends(scheme)): ...
    def e(key=Security(api_key_header)): ...
    def f(user: AuthUser): ...
    def g(db=Depends(get_db), payload: User = None): ...
    """
    config = Config(export_patterns=("*",))  # record every function
    found = {h["name"]: h["auth"] for h in facts(source, config=config)["web"]["handlers"]}
    assert found == {
        "app.views.a": ["Depends(get_current_user)"], "app.views.b": ["Depends(get_current_user)"],
        "app.views.c": ["Depends(get_current_user)"], "app.views.d": ["Depends(scheme)"],
        "app.views.e": ["Security(api_key_header)"], "app.views.f": ["Annotated dependency AuthUser"],
        "app.views.g": [],
    }


# -- routes ------------------------------------------------------------------------------------

def test_flask_routes_groups_and_mounts():
    source = """
    from flask import Blueprint, Flask
    from app.admin import admin_bp

    app = Flask(__name__)
    bp = Blueprint("api", __name__, url_prefix="/api")
    app.register_blueprint(admin_bp, url_prefix="/admin")

    @bp.route("/export", methods=["GET", "POST"])
    def export():
        pass

    @app.get("/dump")
    def dump():
        pass

    def backup():
        pass

    app.add_url_rule("/backup", view_func=login_required(backup))
    app.add_url_rule("/x", "x", ExportView.as_view("x"))
    """
    found = facts(source, path="app/main.py")
    routes = [(r["framework"], r["path"], r["methods"], r["handler"], r["group"], r["auth"], r["line"])
              for r in found["routes"]]
    assert routes == [
        ("flask", "/export", ["GET", "POST"], "app.main.export", "app.main.bp", [], 9),
        ("flask", "/dump", ["GET"], "app.main.dump", "app.main.app", [], 13),
        ("flask", "/backup", ["GET"], "app.main.backup", "app.main.app", ["login_required"], 20),
        ("flask", "/x", ["GET"], "ExportView", "app.main.app", [], 21),
    ]
    assert found["web"]["groups"] == [
        {"name": "app.main.app", "framework": "flask", "prefix": "", "auth": []},
        {"name": "app.main.bp", "framework": "flask", "prefix": "/api", "auth": []},
    ]
    assert found["web"]["mounts"] == [{"group": "app.admin.admin_bp", "parent": "app.main.app", "prefix": "/admin",
                                       "auth": [], "replace": True}]
    # backup is neither decorated nor a view, but a route points at it.
    assert "app.main.backup" in {h["name"] for h in found["web"]["handlers"]}


def test_fastapi_routers():
    source = """
    from fastapi import APIRouter, Depends, FastAPI
    from app.routers import items

    app = FastAPI(dependencies=[Depends(verify_token)])
    router = APIRouter(prefix="/items", dependencies=[Depends(get_db)])
    app.include_router(items.router, prefix="/v1", dependencies=[Depends(require_user)])

    @router.api_route("/export", methods=["GET", "HEAD"], dependencies=[Depends(audit_user)])
    async def export():
        pass
    """
    found = facts(source, path="app/main.py")
    [route] = found["routes"]
    assert (route["framework"], route["path"], route["methods"], route["auth"]) == (
        "fastapi", "/export", ["GET", "HEAD"], ["Depends(audit_user)"])
    groups = {g["name"]: (g["prefix"], g["auth"]) for g in found["web"]["groups"]}
    assert groups == {"app.main.app": ("", ["Depends(verify_token)"]), "app.main.router": ("/items", [])}
    assert found["web"]["mounts"] == [{"group": "app.routers.items.router", "parent": "app.main.app",
                                       "prefix": "/v1", "auth": ["Depends(require_user)"], "replace": False}]


def test_django_urls():
    source = r"""
    from django.contrib.auth.decorators import login_required
    from django.urls import include, path, re_path
    from rest_framework.routers import DefaultRouter

    from . import views
    from .views import ExportView, PatientViewSet

    router = DefaultRouter()
    router.register(r"patients", PatientViewSet, basename="patient")

    api_patterns = [path("dump/", views.dump)]

    urlpatterns = [
        path("export/", views.export, name="export"),
        re_path(r"^download/(?P<pk>\d+)/$", login_required(views.download)),
        path("class/", ExportView.as_view()),
        path("csv/", PatientViewSet.as_view({"get": "export"})),
        path("api/", include(router.urls)),
        path("v1/", include((api_patterns, "v1"))),
        path("reports/", include("crm.reports.urls")),
    ]
    urlpatterns += router.urls
    """
    found = facts(source, path="crm/urls.py")
    routes = [(r["framework"], r["path"], r["handler"], r["group"], r["auth"], r.get("actions")) for r in found["routes"]]
    assert routes == [
        ("drf", "patients", "crm.views.PatientViewSet", "crm.urls.router", [], None),
        ("django", "dump/", "crm.views.dump", "crm.urls.api_patterns", [], None),
        ("django", "export/", "crm.views.export", "crm.urls", [], None),
        ("django", r"^download/(?P<pk>\d+)/$", "crm.views.download", "crm.urls", ["login_required"], None),
        ("django", "class/", "crm.views.ExportView", "crm.urls", [], None),
        ("django", "csv/", "crm.views.PatientViewSet", "crm.urls", [], {"get": "export"}),
    ]
    mounts = [(m["group"], m["parent"], m["prefix"]) for m in found["web"]["mounts"]]
    assert mounts == [("crm.urls.router", "crm.urls", "api/"), ("crm.urls.api_patterns", "crm.urls", "v1/"),
                      ("crm.reports.urls", "crm.urls", "reports/"), ("crm.urls.router", "crm.urls", "")]


# -- project settings --------------------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ('REST_FRAMEWORK = {"DEFAULT_PERMISSION_CLASSES": ("rest_framework.permissions.IsAuthenticated",)}',
     {"auth": True, "names": ["IsAuthenticated"], "read_public": False}),
    ('REST_FRAMEWORK = {"PAGE_SIZE": 10}', {"auth": False, "names": [], "read_public": False}),
    ('REST_FRAMEWORK = {}\nREST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] = ["x.AllowAny"]',
     {"auth": False, "names": ["AllowAny"], "read_public": False}),
    ('REST_FRAMEWORK = build_settings()', {"auth": True, "names": ["REST_FRAMEWORK (not a literal)"],
                                          "read_public": False}),
])
def test_drf_default_permissions(source, expected):
    assert facts(source, path="proj/settings.py")["web"]["settings"] == {"drf_default_permissions": expected}


def test_login_required_middleware():
    source = 'MIDDLEWARE = ["a.B"]\nMIDDLEWARE += ["django.contrib.auth.middleware.LoginRequiredMiddleware"]\n'
    assert facts(source, path="proj/settings.py")["web"]["settings"] == {
        "login_required_middleware": "django.contrib.auth.middleware.LoginRequiredMiddleware"}


# -- export flows ------------------------------------------------------------------------------

def test_rows_followed_from_the_sink_back_to_the_query():
    source = """
    def export(request):
        qs = Contact.objects.all()
        qs = qs.filter(active=True)
        total = qs.count()
        response = HttpResponse(content_type="text/csv")
        writer = csv.writer(response)
        for c in qs.iterator():
            writer.writerow([c.email, total])
        return response
    """
    h = handler(source, "app.views.export")
    # Lines 3 and 4 build qs, line 8 iterates it, line 9 writes; count() carries no rows.
    assert h["sink_spans"] == [[3, 10, 3, 31], [4, 10, 4, 32], [5, 13, 5, 23], [6, 42, 6, 52], [8, 14, 8, 27],
                               [9, 25, 9, 41]]
    assert h["holes"] == [[5, 13, 5, 23]]
    assert h["sinks"] == ["HttpResponse", "writerow"]


@pytest.mark.parametrize("body, sinks", [
    ("pd.read_sql(SQL, conn).to_csv(path)", ["to_csv"]),
    ("return StreamingHttpResponse((w.writerow(r) for r in rows), content_type='text/csv')",
     ["StreamingHttpResponse", "writerow"]),
    ("return FileResponse(open(path, 'rb'))", ["FileResponse"]),
    ("json.dump(list(rows), f)", ["dump"]),
    ("return send_file(buf, mimetype='text/csv')", ["send_file"]),
    ("ws = Workbook().active\n    ws.append(row)", ["append"]),
    ("return HttpResponse(data, headers={'Content-Disposition': 'attachment; filename=x.csv'})", ["HttpResponse"]),
    ("return JsonResponse({'rows': list(rows)})", []),
    ("return render(request, 'list.html', {'rows': rows})", []),
])
def test_sinks(body, sinks):
    h = handler(f"def f(request):\n    {body}\n", "app.views.f")
    assert h["sinks"] == sinks


def test_response_spans_of_a_view():
    h = handler("def f(request):\n    rows = list(Contact.objects.values('email'))\n"
                "    return JsonResponse({'rows': rows, 'n': len(rows)})\n", "app.views.f")
    assert (h["sink_spans"], h["response_spans"]) == ([], [[2, 12, 2, 49], [3, 25, 3, 55]])
    assert h["return_spans"] == [[2, 12, 2, 49], [3, 12, 3, 56]]  # the returned JsonResponse(...)
    assert h["holes"] == [[3, 45, 3, 54]]


def test_a_queryset_returned_by_an_unrouted_helper_is_not_an_export(tmp_path):
    from tenantlint.scan import scan

    (tmp_path / "tenantlint.yaml").write_text("tenant_columns: [org_id]\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "models.py").write_text(
        "from django.db import models\n\n\nclass Project(models.Model):\n"
        "    org = models.ForeignKey('Org', on_delete=models.CASCADE)\n")
    (tmp_path / "app" / "views.py").write_text(
        "from .models import Project\n\n\ndef visible(request):\n"
        "    return Project.objects.exclude(org=request.user.org)\n")
    found = [(f["rule"], f["line"]) for f in scan(["."], cwd=tmp_path).findings]
    assert found == [("missing-tenant-filter", 5)]


def test_functions_that_are_no_handlers_are_not_recorded():
    source = """
    def helper(rows):
        return [r.id for r in rows]

    class Contact(TimestampMixin, models.Model):
        pass

    class ContactExportResource(resources.ModelResource):
        pass
    """
    assert facts(source) == {"routes": [], "web": {}}


# -- words, robustness -------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("export_contacts", True), ("ContactExportView", True), ("/api/v1/export_all_patients", True),
    ("download", True), ("backups", True), ("all_patients", True), ("allPatients", True), ("bulk-update", False),
    ("install_app", False), ("passport", False), ("all", False), ("exportable", True), ("contact_list", False),
])
def test_export_words(name, expected):
    assert says_export(name, Config().export_patterns) is expected


def test_glob_export_patterns():
    assert says_export("csv_feed", ("*_feed",)) and not says_export("feed_csv", ("*_feed",))


@pytest.mark.parametrize("source", [b"def f(request:\n", b"\xff\xfe request", b"x = " + b"(" * 300 + b")" * 300])
def test_bad_input_gives_no_facts(source):
    assert extract_web("app/views.py", source, Config()) is None


def test_pytest_fixtures_taking_request_are_no_views():
    source = """
    import pytest

    @pytest.fixture
    def export_rows(request):
        return request.param
    """
    assert all(not h["view"] for h in facts(source, path="tests/conftest.py")["web"].get("handlers", []))
