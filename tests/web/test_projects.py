"""Whole-project behaviour of routes: defaults from settings, views no URL reaches, helpers,
source roots, cross-file mounts, the example user policy, caching."""

from __future__ import annotations

import textwrap
from pathlib import Path

import jsonschema

from tenantlint.policy_test import run_policy_tests
from tenantlint.rules import load_rules
from tenantlint.scan import scan
from tenantlint.schema import input_schema
from tests.conftest import FIXTURES, ROOT

MODELS = """
from django.db import models


class Contact(models.Model):
    account = models.ForeignKey("Account", on_delete=models.CASCADE)
    email = models.EmailField()
"""
CONFIG = "tenant_columns: [account_id]\n"
VIEWSET = """
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.models import Contact


class ContactViewSet(viewsets.ModelViewSet):
    def get_queryset(self):
        return Contact.objects.filter(account=self.request.user.account)

    @action(detail=False)
    def export(self, request):
        return Response(list(self.get_queryset().values("email")))
"""


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"tenantlint.yaml": CONFIG, "crm/models.py": MODELS, **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


def places(result) -> list[tuple]:
    return [(f["rule"], f["path"], f["line"]) for f in result.findings]


def routes(result) -> dict[str, dict]:
    return {r["handler"]: r for r in result.document["routes"]}


def test_drf_without_settings_is_open_as_drf_is(tmp_path):
    """DRF's own default is AllowAny: a viewset with no permission_classes is public."""
    result = scan(["."], cwd=project(tmp_path, {"crm/api.py": VIEWSET}))
    assert places(result) == [("unprotected-export-endpoint", "crm/api.py", 14)]
    route = routes(result)["crm.api.ContactViewSet.export"]
    assert (route["path"], route["routed"], route["authenticated"]) == ("", False, False)
    assert result.findings[0]["message"].startswith("view crm.api.ContactViewSet.export (no URL route seen)")


def test_drf_default_permission_classes_protect_it(tmp_path):
    settings = 'REST_FRAMEWORK = {"DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"]}\n'
    result = scan(["."], cwd=project(tmp_path, {"crm/api.py": VIEWSET, "proj/settings.py": settings}))
    assert places(result) == []
    assert routes(result)["crm.api.ContactViewSet.export"]["auth"] == ["DEFAULT_PERMISSION_CLASSES: IsAuthenticated"]


def test_login_required_middleware_protects_views_unless_exempt(tmp_path):
    views = """
    from django.contrib.auth.decorators import login_not_required
    from django.http import JsonResponse

    from crm.models import Contact


    def export_contacts(request):
        return JsonResponse({"rows": list(Contact.objects.filter(account=request.user.account).values("email"))})


    @login_not_required
    def public_export(request):
        return JsonResponse({"rows": list(Contact.objects.filter(account=request.user.account).values("email"))})
    """
    settings = 'MIDDLEWARE = ["django.contrib.auth.middleware.LoginRequiredMiddleware"]\n'
    result = scan(["."], cwd=project(tmp_path, {"crm/views.py": views, "proj/settings.py": settings}))
    assert places(result) == [("unprotected-export-endpoint", "crm/views.py", 13)]


def test_helpers_taking_a_request_are_no_views(tmp_path):
    views = """
    import csv

    from django.contrib.auth.decorators import login_required
    from django.http import HttpResponse

    from crm.models import Contact


    def export_csv(request, queryset):
        response = HttpResponse(content_type="text/csv")
        csv.writer(response).writerows(queryset.values_list("email"))
        return response


    @login_required
    def export_contacts(request):
        return export_csv(request, Contact.objects.filter(account=request.user.account))
    """
    result = scan(["."], cwd=project(tmp_path, {"crm/views.py": views}))
    assert places(result) == []
    assert list(routes(result)) == ["crm.views.export_contacts"]


def test_routes_resolve_through_a_source_root(tmp_path):
    """Files under src/ have module names src.crm.*; imports say crm.*."""
    files = {
        "src/crm/models.py": MODELS,
        "src/crm/urls.py": """
            from django.urls import path
            from crm import views
            urlpatterns = [path("contacts/export/", views.export_contacts)]
        """,
        "src/crm/views.py": """
            from django.http import JsonResponse
            from crm.models import Contact

            def export_contacts(request):
                return JsonResponse({"rows": list(Contact.objects.values("email"))})
        """,
    }
    result = scan(["."], cwd=project(tmp_path, files))
    assert places(result) == [("unprotected-export-endpoint", "src/crm/views.py", 5),
                              ("bulk-export", "src/crm/views.py", 6)]
    assert routes(result)["src.crm.views.export_contacts"]["path"] == "/contacts/export/"


def test_flask_blueprint_mounted_and_guarded_from_another_file(tmp_path):
    files = {
        "tenantlint.yaml": "tenant_columns: [org_id]\n",
        "app/models.py": """
            from app import db

            class Item(db.Model):
                __tablename__ = "items"
                id = db.Column(db.Integer, primary_key=True)
                org_id = db.Column(db.Integer)
        """,
        "app/__init__.py": """
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()

            def create_app():
                app = Flask(__name__)
                from app.api import api_bp
                app.register_blueprint(api_bp, url_prefix="/api")
                return app
        """,
        "app/api.py": """
            from flask import Blueprint, jsonify
            from app.models import Item

            api_bp = Blueprint("api", __name__)

            @api_bp.route("/items/export")
            def export_items():
                return jsonify([i.id for i in Item.query.filter_by(org_id=1)])
        """,
        "app/guards.py": """
            from flask_jwt_extended import verify_jwt_in_request
            from app.api import api_bp

            @api_bp.before_request
            def guard():
                verify_jwt_in_request()
        """,
    }
    result = scan(["."], cwd=project(tmp_path, files))
    route = routes(result)["app.api.export_items"]
    assert (route["path"], route["authenticated"], route["auth"]) == ("/api/items/export", True,
                                                                     ["before_request: guard"])


def test_every_document_follows_the_input_schema(tmp_path):
    for case in sorted((FIXTURES / "python").iterdir()):
        if case.is_dir():
            jsonschema.validate(scan(["."], cwd=case).document, input_schema())
    jsonschema.validate(scan(["."], cwd=project(tmp_path, {"crm/api.py": VIEWSET})).document, input_schema())


def test_cached_facts_give_the_same_routes(tmp_path):
    case = FIXTURES / "python" / "routes_drf"
    first = scan(["."], cwd=case, cache_dir=tmp_path / "cache")
    again = scan(["."], cwd=case, cache_dir=tmp_path / "cache")
    assert again.document["routes"] == first.document["routes"] and again.findings == first.findings


# -- the example user policy -------------------------------------------------------------------

EXAMPLE = ROOT / "examples" / "policies" / "audit_logged"


def test_example_policy_tests_pass():
    results = run_policy_tests([str(EXAMPLE)])
    assert results and all(r.passed for r in results), [(r.name, r.detail) for r in results if not r.passed]


def test_example_policy_is_a_documented_rule():
    [rule] = [r for r in load_rules([str(EXAMPLE)]) if r.id == "export-not-audit-logged"]
    assert rule.severity == "warning" and "## Why is this bad?" in rule.description


def test_example_policy_reports_export_routes_without_the_decorator():
    result = scan(["."], cwd=FIXTURES / "python" / "routes_flask", policy_dirs=[str(EXAMPLE)])
    audit = [(f["path"], f["line"]) for f in result.findings if f["rule"] == "export-not-audit-logged"]
    exporting = sorted((r["file"], r["line"]) for r in result.document["routes"] if r["export_shaped"])
    assert audit == exporting and ("shop/app.py", 22) in audit
    assert routes(result)["shop.app.health"]["line"] not in [line for _, line in audit]
    assert all(f["severity"] == "warning" for f in result.findings if f["rule"] == "export-not-audit-logged")


def test_given_files_are_judged_with_the_project_routes_and_settings(tmp_path):
    """A pre-commit hook passes views.py alone: urls.py and settings still decide."""
    files = {
        "crm/api.py": VIEWSET,
        "crm/urls.py": """
            from django.urls import include, path
            from rest_framework.routers import DefaultRouter
            from crm.api import ContactViewSet

            router = DefaultRouter()
            router.register("contacts", ContactViewSet)
            urlpatterns = [path("api/", include(router.urls))]
        """,
        "proj/settings.py": 'REST_FRAMEWORK = {"DEFAULT_PERMISSION_CLASSES": ["x.IsAuthenticated"]}\n',
    }
    root = project(tmp_path, files)
    full = scan(["."], cwd=root)
    given = scan(["crm/api.py"], cwd=root)
    assert places(given) == places(full) == []
    assert routes(given)["crm.api.ContactViewSet.export"]["path"] == "/api/contacts/export/"
    assert routes(given)["crm.api.ContactViewSet.export"]["authenticated"] is True


def test_django_ninja_routes(tmp_path):
    api = """
    from ninja import NinjaAPI, Router
    from ninja.security import django_auth

    from crm.models import Contact

    api = NinjaAPI()
    secure = Router(auth=django_auth)


    @api.get("/contacts/export")
    def export_contacts(request):
        return list(Contact.objects.values("email"))


    @api.get("/contacts/mine/export", auth=django_auth)
    def export_mine(request):
        return list(Contact.objects.filter(account=request.user.account).values("email"))


    @secure.get("/dump")
    def dump(request):
        return list(Contact.objects.filter(account=request.user.account).values("email"))


    api.add_router("/secure", secure)
    """
    result = scan(["."], cwd=project(tmp_path, {"crm/api.py": api}))
    assert places(result) == [("unprotected-export-endpoint", "crm/api.py", 12), ("bulk-export", "crm/api.py", 13)]
    found = routes(result)
    assert (found["crm.api.dump"]["path"], found["crm.api.dump"]["auth"]) == ("/secure/dump", ["auth=django_auth"])
    assert found["crm.api.export_mine"]["framework"] == "ninja"


def test_class_views_protected_on_their_methods(tmp_path):
    files = {
        "tenantlint.yaml": "tenant_columns: [org_id]\n",
        "app/models.py": """
            from app.db import db

            class Item(db.Model):
                __tablename__ = "items"
                id = db.Column(db.Integer, primary_key=True)
                org_id = db.Column(db.Integer)
        """,
        "app/api.py": """
            from flask_jwt_extended import jwt_required
            from flask_restx import Namespace, Resource

            from app.models import Item

            ns = Namespace("items")


            @ns.route("/export")
            class ItemExport(Resource):
                def get(self):
                    return [i.id for i in Item.query.filter_by(org_id=ns.org_id)]


            @ns.route("/export/secure")
            class SecureItemExport(Resource):
                @jwt_required()
                def get(self):
                    return [i.id for i in Item.query.filter_by(org_id=ns.org_id)]
        """,
        "app/views.py": """
            from django.contrib.auth.decorators import login_required
            from django.http import JsonResponse
            from django.utils.decorators import method_decorator
            from django.views import View


            class DispatchExport(View):
                @method_decorator(login_required)
                def dispatch(self, *args, **kwargs):
                    return super().dispatch(*args, **kwargs)

                def get(self, request):
                    return JsonResponse({})
        """,
    }
    result = scan(["."], cwd=project(tmp_path, files))
    found = routes(result)
    assert (found["app.api.ItemExport"]["path"], found["app.api.ItemExport"]["authenticated"]) == ("/export", False)
    assert found["app.api.SecureItemExport"]["auth"] == ["jwt_required"]
    assert found["app.views.DispatchExport"]["auth"] == ["login_required"]
    assert places(result) == [("unprotected-export-endpoint", "app/api.py", 11)]  # the class line
