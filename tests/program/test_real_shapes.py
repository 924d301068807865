"""Shapes met on real applications (pretix, langflow, label-studio), each as a small project
written to a temporary folder and scanned end to end, with exact findings."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from tenantlint.scan import scan


def _project(root: Path, files: dict[str, str]) -> list[tuple]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip("\n"))
    result = scan(["."], cwd=root)
    return [(f["rule"], f["path"], f["line"], f["severity"]) for f in result.findings]


DRF_MODELS = """
    from django.db import models


    class Organization(models.Model):
        name = models.CharField(max_length=10)


    class Project(models.Model):
        organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
"""


def test_module_qualified_get_object_or_404_and_a_conditional_object_permission_check(tmp_path):
    found = _project(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [organization_id]\nglobal_tables: [Organization]\n",
        "app/__init__.py": "",
        "app/models.py": DRF_MODELS,
        "app/views.py": """
            from rest_framework import generics
            from rest_framework.views import APIView

            from .models import Project


            class Checked(APIView):
                def get(self, request, pk):
                    try:
                        project = Project.objects.filter(pk=request.data.get("project")).first()
                    except ValueError:
                        project = None
                    if project is not None:
                        self.check_object_permissions(request, project)
                    return project


            class Unchecked(APIView):
                def get(self, request, pk):
                    return generics.get_object_or_404(Project, pk=pk)
        """,
        "app/urls.py": """
            from django.urls import path

            from . import views

            urlpatterns = [path("a/<int:pk>/", views.Checked.as_view()), path("b/<int:pk>/", views.Unchecked.as_view())]
        """,
    })
    assert found == [("unscoped-lookup", "app/views.py", 20, "error")]


def test_a_sqlmodel_table_inherits_the_tenant_column_of_its_base(tmp_path):
    found = _project(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [user_id]\n",
        "app/__init__.py": "",
        "app/models.py": """
            from uuid import UUID

            from sqlmodel import Field, SQLModel


            class JobBase(SQLModel):
                job_id: UUID = Field(primary_key=True)
                user_id: UUID = Field(index=True)


            class Job(JobBase, table=True):
                __tablename__ = "job"
        """,
        "app/api.py": """
            from fastapi import APIRouter

            from .models import Job

            router = APIRouter()


            @router.get("/jobs/{job_id}")
            async def read_job(job_id, session):
                return await session.get(Job, job_id)
        """,
    })
    assert found == [("unscoped-lookup", "app/api.py", 10, "error")]


def test_a_write_that_matches_no_row_is_no_unscoped_write(tmp_path):
    """``update(Job).where(false())`` and an UPDATE that sets each column to itself only
    take a lock (langflow's job dedupe and project locks); an UPDATE of every row is reported."""
    found = _project(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [user_id]\n",
        "app/__init__.py": "",
        "app/models.py": """
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


            class Base(DeclarativeBase):
                pass


            class Job(Base):
                __tablename__ = "job"
                id: Mapped[int] = mapped_column(primary_key=True)
                user_id: Mapped[int]
        """,
        "app/jobs.py": """
            from sqlalchemy import false, update

            from .models import Job


            def lock(session):
                session.execute(update(Job).where(false()).values(id=Job.id))


            def reset_all(session):
                session.execute(update(Job).values(user_id=0))


            def lock_one(session, job_id):
                session.execute(update(Job).where(Job.id == job_id).values(id=Job.id))
        """,
    })
    assert found == [("unscoped-write", "app/jobs.py", 11, "error")]


JOBS_MODELS = """
    from uuid import UUID

    from sqlmodel import Field, SQLModel


    class Job(SQLModel, table=True):
        job_id: UUID = Field(primary_key=True)
        user_id: UUID | None = Field(default=None, index=True)
        status: str
"""

JOBS_SERVICE = """
    from uuid import UUID

    from .models import Job


    class JobService:
        async def get_job(self, session, job_id: UUID) -> Job | None:
            return await session.get(Job, job_id)

        async def validate_ownership(self, session, job_id: UUID, user_id: UUID) -> Job:
            job = await self.get_job(session, job_id)
            if job is None:
                raise ValueError("not found")
            if job.user_id is not None and str(job.user_id) != str(user_id):
                raise ValueError("access denied")
            return job

        async def stop(self, session, job_id: UUID, user) -> None:
            await self.validate_ownership(session, job_id, user.id)
            await self.cancel(session, job_id)

        async def cancel(self, session, job_id: UUID) -> None:
            job = await self.get_job(session, job_id)
            job.status = "cancelled"
"""

JOBS_API = """
    from fastapi import APIRouter, Request
    from pydantic import BaseModel

    from .service import JobService

    router = APIRouter()
    jobs = JobService()


    class StopRequest(BaseModel):
        job_id: str


    @router.post("/jobs/stop")
    async def stop_job(request: StopRequest, http_request: Request, session, current_user):
        await jobs.stop(session, request.job_id, current_user)


    @router.post("/jobs/cancel")
    async def cancel_job(request: StopRequest, session, current_user):
        await jobs.cancel(session, request.job_id)
"""


def test_a_body_model_named_request_carries_request_keys_and_a_fetch_then_compare_helper_guards_them(tmp_path):
    """langflow: ``request: WorkflowStopRequest`` is the body, so ``request.job_id`` is a
    request key; ``validate_ownership`` fetches by ``job_id`` and compares the owner (inside
    ``str()``, after an ``is not None`` test), so it verifies ``job_id`` for its callers.
    The handler that skips it is reported."""
    files = {
        "tenantlint.yaml": "tenant_columns: [user_id]\n",
        "app/__init__.py": "",
        "app/models.py": JOBS_MODELS,
        "app/service.py": JOBS_SERVICE,
        "app/api.py": JOBS_API,
    }
    assert _project(tmp_path / "guarded", files) == [("unscoped-lookup", "app/api.py", 21, "error")]
    unguarded = {**files, "app/service.py": JOBS_SERVICE.replace(
        "            if job.user_id is not None and str(job.user_id) != str(user_id):\n"
        "                raise ValueError(\"access denied\")\n", "")}
    assert unguarded["app/service.py"] != files["app/service.py"]
    assert _project(tmp_path / "unguarded", unguarded) == [
        ("unscoped-lookup", "app/api.py", 16, "error"),
        ("unscoped-lookup", "app/api.py", 21, "error"),
    ]


def test_a_detail_view_over_a_whole_table_is_an_idor_by_the_urls_pk(tmp_path):
    """label-studio's FileUploadAPI: a retrieve/update/destroy view whose queryset is the
    whole table hands any row to whoever knows its pk (unscoped-lookup, not a listing);
    a list view over the whole table lists every tenant's rows; an object permission that
    compares the organization guards the detail view."""
    found = _project(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [organization_id]\nglobal_tables: [Organization]\n",
        "app/__init__.py": "",
        "app/models.py": DRF_MODELS,
        "app/views.py": """
            from rest_framework import generics
            from rest_framework.permissions import BasePermission, IsAuthenticated

            from .models import Project


            class SameOrganization(BasePermission):
                def has_object_permission(self, request, view, obj):
                    return obj.organization_id == request.user.organization_id


            class ProjectDetail(generics.RetrieveUpdateDestroyAPIView):
                permission_classes = (IsAuthenticated,)
                queryset = Project.objects.all()


            class ProjectList(generics.ListAPIView):
                permission_classes = (IsAuthenticated,)
                queryset = Project.objects.all()


            class CheckedDetail(generics.RetrieveAPIView):
                permission_classes = (IsAuthenticated, SameOrganization)
                queryset = Project.objects.all()
        """,
        "app/urls.py": """
            from django.urls import path

            from . import views

            urlpatterns = [
                path("p/<int:pk>/", views.ProjectDetail.as_view()),
                path("p/", views.ProjectList.as_view()),
                path("c/<int:pk>/", views.CheckedDetail.as_view()),
            ]
        """,
    })
    assert found == [
        ("unscoped-lookup", "app/views.py", 14, "error"),
        ("missing-tenant-filter", "app/views.py", 19, "error"),
    ]


BOARD_MODELS = DRF_MODELS.replace("class Project(models.Model):", """class Board(models.Model):
        organization = models.ForeignKey(Organization, on_delete=models.CASCADE)


    class Card(models.Model):
        board = models.ForeignKey(Board, on_delete=models.CASCADE)


    class Project(models.Model):""")

BOARD_SERIALIZERS = """
    from rest_framework import serializers

    from .models import Board, Card


    class OpenCard(serializers.ModelSerializer):
        board = serializers.PrimaryKeyRelatedField(queryset=Board.objects.all())


    class FieldChecked(serializers.ModelSerializer):
        board = serializers.PrimaryKeyRelatedField(queryset=Board.objects.all())

        def validate_board(self, board):
            if board.organization_id != self.context["request"].user.organization_id:
                raise serializers.ValidationError("no such board")
            return board


    class WholeChecked(serializers.ModelSerializer):
        board = serializers.PrimaryKeyRelatedField(queryset=Board.objects.all())

        def validate(self, attrs):
            if attrs["board"].organization_id != self.context["request"].user.organization_id:
                raise serializers.ValidationError("no such board")
            return attrs


    class ReplacedChecked(serializers.ModelSerializer):
        board = serializers.PrimaryKeyRelatedField(queryset=Board.objects.none())

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["board"].queryset = Board.objects.all()

        def validate_board(self, board):
            if self.context["request"].user.organization_id != board.organization_id:
                raise serializers.ValidationError("unknown board")
            return board


    class Narrowed(serializers.ModelSerializer):
        board = serializers.PrimaryKeyRelatedField(queryset=Board.objects.all())

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            user = self.context["request"].user
            self.fields["board"].queryset = Board.objects.filter(organization_id=user.organization_id)
"""

BOARD_VIEWS = """
    from rest_framework import generics

    from . import serializers


    class A(generics.CreateAPIView):
        serializer_class = serializers.OpenCard


    class B(generics.CreateAPIView):
        serializer_class = serializers.FieldChecked


    class C(generics.CreateAPIView):
        serializer_class = serializers.WholeChecked


    class D(generics.CreateAPIView):
        serializer_class = serializers.Narrowed


    class E(generics.CreateAPIView):
        serializer_class = serializers.ReplacedChecked
"""


def test_serializer_primary_key_fields_and_their_validators(tmp_path):
    """A PrimaryKeyRelatedField over the whole table fetches whatever board id the client
    sends (unscoped-lookup at the field); ``validate_board()``, ``validate()`` comparing the
    row's organization, or ``__init__`` replacing the queryset with a scoped one guard it.
    A queryset set in ``__init__`` (pretix) is judged like one at the field. Removing each
    guard brings the finding back at its field."""
    files = {
        "tenantlint.yaml": "tenant_columns: [organization_id, board_id]\nglobal_tables: [Organization]\n",
        "app/__init__.py": "",
        "app/models.py": BOARD_MODELS,
        "app/serializers.py": BOARD_SERIALIZERS,
        "app/views.py": BOARD_VIEWS,
        "app/urls.py": """
            from django.urls import path

            from . import views

            urlpatterns = [path(f"{v.__name__}/", v.as_view()) for v in (views.A, views.B, views.C, views.D, views.E)]
        """,
    }
    assert _project(tmp_path / "all", files) == [("unscoped-lookup", "app/serializers.py", 7, "error")]
    guards = {  # the guard's lines, and the field it protects
        "validate_board": ('        if board.organization_id != self.context["request"].user.organization_id:\n'
                           '            raise serializers.ValidationError("no such board")\n', 11),
        "validate": ('        if attrs["board"].organization_id != self.context["request"].user.organization_id:\n'
                     '            raise serializers.ValidationError("no such board")\n', 20),
        "narrowed": ('        self.fields["board"].queryset = Board.objects.filter(organization_id=user.organization_id)\n',
                     42),
        "replaced, then validated": ('        if self.context["request"].user.organization_id != board.organization_id:\n'
                                     '            raise serializers.ValidationError("unknown board")\n', 33),
    }
    for name, (lines, field_line) in guards.items():
        source = dedent(BOARD_SERIALIZERS).lstrip("\n")
        assert lines in source, name
        copy = {**files, "app/serializers.py": source.replace(lines, "")}
        assert _project(tmp_path / name, copy) == [
            ("unscoped-lookup", "app/serializers.py", 7, "error"),
            ("unscoped-lookup", "app/serializers.py", field_line, "error"),
        ], name


FLOW_MODELS = """
    from uuid import UUID

    from sqlmodel import Field, SQLModel


    class Flow(SQLModel, table=True):
        id: UUID = Field(primary_key=True)
        user_id: UUID = Field(index=True)
        name: str
"""
# A FastAPI + SQLModel project whose tenant is the owning user (langflow's shape).
FLOW_APP = {"tenantlint.yaml": "tenant_columns: [user_id]\n", "app/__init__.py": "", "app/models.py": FLOW_MODELS}


def test_ids_the_caller_cannot_choose_make_no_idor(tmp_path):
    """langflow: a row a dependency returned (after its own owner filter), re-read by its
    id, and a probe by ``uuid.uuid4()`` are no IDOR; an id decoded from the URL by a
    helper still is the URL's id."""
    found = _project(tmp_path, {
        **FLOW_APP,
        "app/api.py": """
            import uuid
            from typing import Annotated

            from fastapi import APIRouter, Depends, HTTPException
            from sqlmodel import select

            from .models import Flow

            router = APIRouter()


            async def current_user():
                return None


            async def get_flow(flow_id: uuid.UUID, session, user=Depends(current_user)) -> Flow:
                flow = (await session.exec(select(Flow).where(Flow.id == flow_id, Flow.user_id == user.id))).first()
                if flow is None:
                    raise HTTPException(status_code=404)
                return flow


            AuthorizedFlow = Annotated[Flow, Depends(get_flow)]


            async def reread(session, flow: Flow):
                return (await session.exec(select(Flow).where(Flow.id == flow.id))).first()


            def decode(token):
                return uuid.UUID(token[4:])


            @router.post("/a/{flow_id}")
            async def through_an_alias(flow: AuthorizedFlow, session):
                return await reread(session, flow)


            @router.post("/b/{flow_id}")
            async def through_depends(session, flow: Flow = Depends(get_flow)):
                return await reread(session, flow)


            @router.get("/probe")
            async def probe(session):
                return (await session.exec(select(Flow).where(Flow.id == uuid.uuid4()))).first()


            @router.get("/c/{token}")
            async def by_token(token: str, session):
                return (await session.exec(select(Flow).where(Flow.id == decode(token)))).first()
        """,
    })
    assert found == [("unscoped-lookup", "app/api.py", 51, "error")]


def test_sqlmodel_col_null_owner_rows_copied_owner_and_filtered_lists(tmp_path):
    """langflow: ``col(Flow.user_id) == uid`` is a tenant filter; ``Flow.user_id.is_(None)``
    selects rows of no tenant (starter folders); an owner copied to a local and compared
    later, and a list comprehension that keeps only the caller's rows, tie the rows to
    the caller. The same handlers without the filter or the comparison are reported."""
    api = """
        from uuid import UUID

        from fastapi import APIRouter, Depends, HTTPException
        from sqlmodel import col, select

        from .models import Flow

        router = APIRouter()


        async def signed_in():
            return None


        @router.get("/a/{flow_id}")
        async def wrapped(flow_id: UUID, session, current_user=Depends(signed_in)):
            stmt = select(Flow).where(col(Flow.id) == flow_id).where(col(Flow.user_id) == current_user.id)
            return (await session.exec(stmt)).first()


        @router.get("/starter")
        async def starter(session, current_user=Depends(signed_in)):
            return (await session.exec(select(Flow).where(Flow.name == "Starter", Flow.user_id.is_(None)))).first()


        @router.get("/b/{flow_id}")
        async def copied(flow_id: UUID, session, current_user=Depends(signed_in)):
            flow = (await session.exec(select(Flow).where(Flow.id == flow_id))).first()
            owner = flow.user_id
            if owner != current_user.id:
                raise HTTPException(status_code=404)
            return flow


        @router.get("/c")
        async def filtered(name: str, session, current_user=Depends(signed_in)):
            rows = list(await session.exec(select(Flow).where(Flow.name == name)))
            rows = [r for r in rows if r.user_id == current_user.id]
            return rows
    """
    files = {**FLOW_APP, "app/api.py": api}
    assert _project(tmp_path / "safe", files) == []
    unsafe = (api.replace(".where(col(Flow.user_id) == current_user.id)", "")
              .replace(", Flow.user_id.is_(None)", "")
              .replace("            if owner != current_user.id:\n                raise HTTPException(status_code=404)\n", "")
              .replace("            rows = [r for r in rows if r.user_id == current_user.id]\n", ""))
    assert unsafe.count("current_user.id") == 0 and "is_(None)" not in unsafe
    assert _project(tmp_path / "unsafe", {**files, "app/api.py": unsafe}) == [
        ("unscoped-lookup", "app/api.py", 17, "error"),
        ("missing-tenant-filter", "app/api.py", 23, "error"),
        ("unscoped-lookup", "app/api.py", 28, "error"),
        ("missing-tenant-filter", "app/api.py", 35, "error"),
    ]


def test_a_fetch_by_a_list_of_ids_is_judged_by_where_the_ids_come_from(tmp_path):
    """``Flow.id.in_(ids)`` is a fetch by primary keys: ids the client sent make it an IDOR
    (several rows at once); ids a scoped query produced (langflow's project moves) do not."""
    found = _project(tmp_path, {
        **FLOW_APP,
        "app/api.py": """
            from fastapi import APIRouter, Depends
            from sqlmodel import select

            from .models import Flow

            router = APIRouter()


            async def signed_in():
                return None


            @router.post("/names")
            async def names(ids: list[str], session, user=Depends(signed_in)):
                return (await session.exec(select(Flow.name).where(Flow.id.in_(ids)))).all()


            @router.post("/mine")
            async def mine(session, user=Depends(signed_in)):
                owned = (await session.exec(select(Flow.id).where(Flow.user_id == user.id))).all()
                return (await session.exec(select(Flow.name).where(Flow.id.in_(owned)))).all()
        """,
    })
    assert found == [("unscoped-lookup", "app/api.py", 15, "error")]


def test_a_conditional_expression_keeps_the_provenance_of_its_branches(tmp_path):
    """langflow's ``operation(record_or_id)``: ``x.id if isinstance(x, Row) else UUID(str(x))``
    is the row's id or the given id, never "unknown" because of the isinstance() test."""
    found = _project(tmp_path, {
        **FLOW_APP,
        "app/api.py": """
            from uuid import UUID

            from fastapi import APIRouter, Depends
            from sqlmodel import select

            from .models import Flow

            router = APIRouter()


            async def signed_in():
                return None


            async def operation(session, flow_or_id):
                flow_id = flow_or_id.id if isinstance(flow_or_id, Flow) else UUID(str(flow_or_id))
                return await session.get(Flow, flow_id)


            @router.get("/own/{name}")
            async def own(name: str, session, user=Depends(signed_in)):
                flow = (await session.exec(select(Flow).where(Flow.user_id == user.id, Flow.name == name))).first()
                return await operation(session, flow)


            @router.get("/any/{flow_id}")
            async def any_flow(flow_id: str, session, user=Depends(signed_in)):
                return await operation(session, flow_id)
        """,
    })
    assert found == [("unscoped-lookup", "app/api.py", 28, "error")]


def test_a_base_view_whose_subclasses_narrow_or_gate_its_queryset(tmp_path):
    """pretix's FailedSyncJobsView: the base lists every row; the routed subclasses either
    narrow ``super().get_queryset()`` to their organization or are administrator views
    (info). A subclass that neither narrows nor gates is reported at its call into the base."""
    found = _project(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [organization_id]\nglobal_tables: [Organization]\n",
        "app/__init__.py": "",
        "app/models.py": DRF_MODELS,
        "app/views.py": """
            from django.views.generic import ListView

            from .mixins import AdministratorPermissionRequiredMixin
            from .models import Project


            class Jobs:
                def get_queryset(self):
                    return Project.objects.filter(name__startswith="x")


            class GlobalJobs(AdministratorPermissionRequiredMixin, Jobs, ListView):
                pass


            class OrganizationJobs(Jobs, ListView):
                def get_queryset(self):
                    return super().get_queryset().filter(organization=self.request.organization)


            class LeakyJobs(Jobs, ListView):
                def get_queryset(self):
                    return super().get_queryset().order_by("name")
        """,
        "app/mixins.py": """
            class AdministratorPermissionRequiredMixin:
                pass
        """,
        "app/urls.py": """
            from django.urls import path

            from . import views

            urlpatterns = [
                path("global/", views.GlobalJobs.as_view()),
                path("org/", views.OrganizationJobs.as_view()),
                path("leak/", views.LeakyJobs.as_view()),
            ]
        """,
    })
    assert found == [
        ("missing-tenant-filter", "app/views.py", 9, "info"),  # GlobalJobs: administrators only
        ("missing-tenant-filter", "app/views.py", 23, "error"),  # LeakyJobs
    ]


def test_a_base_views_model_that_every_routed_subclass_replaces_serves_no_request(tmp_path):
    """pretix's ``RefundExportListView`` / ``DownloadRefundExportView``: an unrouted base with
    ``model = RefundExport``, whose routed subclasses fetch their own rows (``get_queryset()``,
    a detail view's ``get_object()``, no ``super()``): the base's rows serve no request (info,
    unreachable). A routed subclass that keeps the base's rows is a request path."""
    found = _project(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [organization_id]\nglobal_tables: [Organization]\n",
        "app/__init__.py": "",
        "app/models.py": DRF_MODELS,
        "app/views.py": """
            from django.shortcuts import get_object_or_404
            from django.views.generic import DetailView, ListView

            from .models import Project


            class Listing(ListView):
                model = Project


            class OrganizationListing(Listing):
                def get_queryset(self):
                    return Project.objects.filter(organization=self.request.organization)


            class Download(DetailView):
                model = Project


            class OrganizationDownload(Download):
                def get_object(self, *args, **kwargs):
                    return get_object_or_404(Project, organization=self.request.organization, pk=self.kwargs["pk"])


            class Kept(ListView):
                model = Project


            class KeptListing(Kept):
                template_name = "x.html"
        """,
        "app/urls.py": """
            from django.urls import path

            from . import views

            urlpatterns = [
                path("list/", views.OrganizationListing.as_view()),
                path("download/<int:pk>/", views.OrganizationDownload.as_view()),
                path("kept/", views.KeptListing.as_view()),
            ]
        """,
    })
    assert found == [
        ("missing-tenant-filter", "app/views.py", 8, "info"),  # Listing's rows: no route uses them
        ("unscoped-lookup", "app/views.py", 17, "info"),  # Download's: OrganizationDownload fetches its own
        ("missing-tenant-filter", "app/views.py", 26, "error"),  # KeptListing lists the base's rows
    ]


def test_a_views_private_helper_is_reached_through_its_handler(tmp_path):
    """label-studio's ``_create_memory_efficient(self, project)``: a private helper of a view
    is no handler; its ``project`` is the row the handler fetched with scope, so the foreign
    key written from ``project.id`` is the server's. The same helper given the request's
    id is reported at the handler's call."""
    found = _project(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [organization_id, project_id]\nglobal_tables: [Organization]\n",
        "app/__init__.py": "",
        "app/models.py": DRF_MODELS + """

    class Prediction(models.Model):
        project = models.ForeignKey(Project, on_delete=models.CASCADE)
""",
        "app/views.py": """
            from rest_framework.views import APIView

            from .models import Prediction, Project


            class Import(APIView):
                def post(self, request, pk):
                    project = Project.objects.get(pk=pk, organization=request.user.organization)
                    self._create(project.id)
                    self._create(request.data["project"])

                def _create(self, project_id):
                    Prediction.objects.create(project_id=project_id)
        """,
        "app/urls.py": """
            from django.urls import path

            from . import views

            urlpatterns = [path("import/<int:pk>/", views.Import.as_view())]
        """,
    })
    assert found == [("unscoped-write", "app/views.py", 10, "error")]


def test_a_dependency_fetching_by_the_paths_id_is_judged_at_the_handlers_that_use_it(tmp_path):
    """langflow's ``get_flow`` dependency: FastAPI fills its ``flow_id`` from the path of
    each handler that depends on it. With its owner check, nothing; with the check deleted
    (the removed-guard experiment), an IDOR at each handler that depends on it."""
    api = """
        from typing import Annotated
        from uuid import UUID

        from fastapi import APIRouter, Depends, HTTPException

        from .models import Flow

        router = APIRouter()


        async def current_user():
            return None


        async def get_flow(flow_id: UUID, session, user=Depends(current_user)):
            flow = await session.get(Flow, flow_id)
            if not flow or flow.user_id != user.id:
                raise HTTPException(status_code=404)
            return flow


        @router.get("/files/{flow_id}/{name}")
        async def download(name: str, flow: Annotated[Flow, Depends(get_flow)]):
            return name


        @router.get("/images/{flow_id}/{name}")
        async def image(name: str, flow=Depends(get_flow)):
            return name
    """
    files = {**FLOW_APP, "app/api.py": api}
    assert _project(tmp_path / "checked", files) == []
    unchecked = api.replace("            if not flow or flow.user_id != user.id:\n"
                            "                raise HTTPException(status_code=404)\n", "")
    assert unchecked != api
    assert _project(tmp_path / "unchecked", {**files, "app/api.py": unchecked}) == [
        ("unscoped-lookup", "app/api.py", 21, "error"),
        ("unscoped-lookup", "app/api.py", 26, "error"),
    ]


def test_authentication_through_a_dependency_of_a_dependency(tmp_path):
    """A download route whose only dependency loads the flow for the current user is
    authenticated through it; one whose dependencies never reach the caller is not."""
    found = _project(tmp_path, {
        **FLOW_APP,
        "app/api.py": """
            from fastapi import APIRouter, Depends

            router = APIRouter()


            async def current_user():
                return None


            async def settings():
                return {}


            async def owned_flow(flow_id: str, user=Depends(current_user)):
                return flow_id


            async def database(config=Depends(settings)):
                return config


            @router.get("/download/{flow_id}")
            async def download(flow=Depends(owned_flow)):
                return flow


            @router.get("/export/all")
            async def export_all(db=Depends(database)):
                return db
        """,
    })
    assert found == [("unprotected-export-endpoint", "app/api.py", 28, "error")]


def test_a_dependency_alias_re_exported_by_a_package(tmp_path):
    """``CurrentUser = Annotated[User, Depends(current_user)]`` in ``app/deps/core.py``,
    imported as ``from app.deps import CurrentUser``: the handler's download route is
    authenticated through ``owned_flow``'s ``CurrentUser`` parameter."""
    found = _project(tmp_path, {
        **FLOW_APP,
        "app/deps/__init__.py": "from .core import CurrentUser\n",
        "app/deps/core.py": """
            from typing import Annotated

            from fastapi import Depends


            async def current_user():
                return None


            CurrentUser = Annotated[dict, Depends(current_user)]
        """,
        "app/api.py": """
            from fastapi import APIRouter, Depends

            from app.deps import CurrentUser

            router = APIRouter()


            async def owned_flow(flow_id: str, user: CurrentUser):
                return flow_id


            @router.get("/download/{flow_id}")
            async def download(flow=Depends(owned_flow)):
                return flow
        """,
    })
    assert found == []


def test_a_generic_view_fetching_its_object_in_its_own_method_is_a_lookup(tmp_path):
    """label-studio's ExportConvertAPI: a ``CreateAPIView`` over a whole table whose ``post``
    calls ``self.get_object()`` fetches one row by the URL's pk (unscoped-lookup), while a
    plain ``GenericAPIView`` that lists is a read of every tenant's rows."""
    found = _project(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [organization_id]\nglobal_tables: [Organization]\n",
        "app/__init__.py": "",
        "app/models.py": DRF_MODELS,
        "app/views.py": """
            from rest_framework import generics

            from .models import Project


            class Convert(generics.CreateAPIView):
                queryset = Project.objects.all()

                def post(self, request, *args, **kwargs):
                    return self.get_object()


            class Everything(generics.GenericAPIView):
                queryset = Project.objects.all()

                def get(self, request):
                    return self.filter_queryset(self.get_queryset())
        """,
        "app/urls.py": """
            from django.urls import path

            from . import views

            urlpatterns = [path("c/<int:pk>/", views.Convert.as_view()), path("all/", views.Everything.as_view())]
        """,
    })
    assert found == [
        ("unscoped-lookup", "app/views.py", 7, "error"),
        ("missing-tenant-filter", "app/views.py", 14, "error"),
    ]


def test_a_comparison_kept_in_a_local_and_tested_later(tmp_path):
    """langflow: ``is_owner = job.user_id == current_user.id`` then ``if not is_owner: raise``
    ties the job to the caller; ``is_named = job.name == "x"`` guards nothing."""
    api = """
        from fastapi import APIRouter, Depends, HTTPException

        from .models import Flow

        router = APIRouter()


        async def signed_in():
            return None


        @router.get("/a/{flow_id}")
        async def owned(flow_id: str, session, current_user=Depends(signed_in)):
            flow = await session.get(Flow, flow_id)
            is_owner = flow.user_id == current_user.id
            if not is_owner:
                raise HTTPException(status_code=404)
            return flow


        @router.get("/b/{flow_id}")
        async def named(flow_id: str, session, current_user=Depends(signed_in)):
            flow = await session.get(Flow, flow_id)
            is_named = flow.name == "x"
            if not is_named:
                raise HTTPException(status_code=404)
            return flow
    """
    assert _project(tmp_path, {**FLOW_APP, "app/api.py": api}) == [("unscoped-lookup", "app/api.py", 23, "error")]


def test_a_condition_defined_by_itself_is_expanded_once(tmp_path):
    """pretix's ``expire_orders``: ``expire = expire and ...`` tested later. Expanding the
    stored condition must not recurse forever (it did, and the file's calls were lost)."""
    found = _project(tmp_path, {
        **FLOW_APP,
        "app/api.py": """
            from fastapi import APIRouter, Depends, HTTPException

            from .models import Flow

            router = APIRouter()


            async def signed_in():
                return None


            @router.get("/a/{flow_id}")
            async def owned(flow_id: str, session, current_user=Depends(signed_in)):
                flow = await session.get(Flow, flow_id)
                ok = flow is not None
                ok = ok and flow.user_id == current_user.id
                if not ok:
                    raise HTTPException(status_code=404)
                return flow
        """,
    })
    assert found == []


def test_ids_collected_into_a_local_container_keep_where_they_come_from(tmp_path):
    """langflow's ``ensure_flow_moves_allowed``: ids gathered with ``setdefault(...).append``
    from a scoped query are the server's; ids gathered from the request body are the
    client's (a fetch by them is an IDOR)."""
    api = """
        from fastapi import APIRouter, Depends
        from sqlmodel import select

        from .models import Flow

        router = APIRouter()


        async def signed_in():
            return None


        @router.post("/mine")
        async def mine(session, user=Depends(signed_in)):
            by_name = {}
            for row in (await session.exec(select(Flow).where(Flow.user_id == user.id))).all():
                by_name.setdefault(row.name, []).append(row.id)
            for name, ids in by_name.items():
                await session.exec(select(Flow.name).where(Flow.id.in_(ids)))


        @router.post("/theirs")
        async def theirs(body: dict, session, user=Depends(signed_in)):
            ids = []
            for item in body["items"]:
                ids.append(item["id"])
            return (await session.exec(select(Flow.name).where(Flow.id.in_(ids)))).all()
    """
    assert _project(tmp_path, {**FLOW_APP, "app/api.py": api}) == [("unscoped-lookup", "app/api.py", 27, "error")]


def test_a_comprehension_binds_the_names_its_element_reads(tmp_path):
    """langflow's ``ensure_flow_moves_allowed``: ``[(fid, ofid) for fid, ofid in pairs if ...]``
    keeps where ``pairs`` came from (the names are bound by the loop, not module globals):
    pairs of the caller's own rows make no finding, pairs from the request body do."""
    api = """
        from fastapi import APIRouter, Depends
        from sqlmodel import col, select

        from .models import Flow

        router = APIRouter()


        async def signed_in():
            return None


        async def names_of(session, pairs, skip):
            ids = [fid for fid, name in pairs if name != skip]
            return (await session.exec(select(Flow.name).where(col(Flow.id).in_(ids)))).all()


        @router.post("/mine")
        async def mine(session, user=Depends(signed_in)):
            rows = (await session.exec(select(Flow.id, Flow.name).where(Flow.user_id == user.id))).all()
            return await names_of(session, list(rows), None)


        @router.post("/theirs")
        async def theirs(body: dict, session, user=Depends(signed_in)):
            return await names_of(session, body["pairs"], None)
    """
    assert _project(tmp_path, {**FLOW_APP, "app/api.py": api}) == [("unscoped-lookup", "app/api.py", 26, "error")]


def test_a_count_of_the_callers_rows_matching_the_number_of_keys_verifies_them(tmp_path):
    """langflow's ``validate_project_scoped_flow_version_ids``: ``if matched != len(ids):
    raise`` where ``matched`` counts the caller's rows among ``ids`` ties every id to the
    caller; a count that is not filtered by the tenant ties nothing. The ids keep their
    origin through ``list(dict.fromkeys(...))``, the order-keeping dedupe."""
    api = """
        from fastapi import APIRouter, Depends, HTTPException
        from sqlalchemy import func
        from sqlmodel import col, select

        from .models import Flow

        router = APIRouter()


        async def signed_in():
            return None


        async def validate_owned(session, ids, user_id):
            matched = (await session.exec(
                select(func.count(Flow.id)).where(Flow.user_id == user_id, col(Flow.id).in_(ids)))).one()
            if matched != len(ids):
                raise HTTPException(status_code=404)


        async def validate_known(session, ids):
            if (await session.exec(select(func.count(Flow.id)).where(col(Flow.id).in_(ids)))).one() != len(ids):
                raise HTTPException(status_code=404)


        @router.post("/checked")
        async def checked(body: dict, session, user=Depends(signed_in)):
            ids = list(dict.fromkeys(body["ids"]))
            await validate_owned(session, ids, user.id)
            return (await session.exec(select(Flow.name).where(col(Flow.id).in_(ids)))).all()


        @router.post("/known")
        async def known(body: dict, session, user=Depends(signed_in)):
            ids = body["ids"]
            await validate_known(session, ids)
            return (await session.exec(select(Flow.name).where(col(Flow.id).in_(ids)))).all()
    """
    # /known: the count itself reads rows by the client's ids, and so does the handler
    assert _project(tmp_path, {**FLOW_APP, "app/api.py": api}) == [
        ("unscoped-lookup", "app/api.py", 36, "error"), ("unscoped-lookup", "app/api.py", 37, "error")]


def test_a_read_whose_result_a_call_on_the_path_drops_reports_as_info(tmp_path):
    """langflow's ``_legacy_attribution``: deleting a knowledge base runs ``await
    cleanup(kb_id)`` as a statement, and deep below it every account's bases are read to
    decide which folders to keep. None of those rows comes back to the response: info at
    the handler's dropped call. The same read returned to the client stays an error."""
    found = _project(tmp_path, {
        **FLOW_APP,
        "app/storage.py": """
            from sqlmodel import select

            from .models import Flow


            async def attribution(session):
                return {row.id: row.name for row in (await session.exec(select(Flow))).all()}


            async def cleanup(session, flow_id):
                names = await attribution(session)
                return names.get(flow_id)
        """,
        "app/api.py": """
            from fastapi import APIRouter, Depends

            from .storage import attribution, cleanup

            router = APIRouter()


            async def signed_in():
                return None


            @router.delete("/flows/{flow_id}")
            async def delete(flow_id, session, user=Depends(signed_in)):
                await cleanup(session, flow_id)


            @router.get("/names")
            async def names(session, user=Depends(signed_in)):
                return await attribution(session)
        """,
    })
    assert found == [("missing-tenant-filter", "app/api.py", 14, "info"),
                     ("missing-tenant-filter", "app/api.py", 19, "error")]
    info = scan(["."], cwd=tmp_path).findings[0]
    assert info["message"].endswith("none of the rows comes back: cleanup() drops its result at delete() line 14)")


def test_a_statement_handed_to_a_helper_with_the_tenants_condition_is_scoped(tmp_path):
    """langflow's ``restrict_to_owned_or_visible_scope(select(KB), id_column=KB.id,
    owner_clause=KB.user_id == user_id, visibility=...)``: a helper handed the statement and
    an equality on the tenant column (also one bound to a local first, or chosen against
    ``false()``) applies it. Handed another condition, it scopes nothing."""
    api = """
        from fastapi import APIRouter, Depends
        from sqlalchemy import false, true
        from sqlmodel import select

        from .models import Flow
        from .listing import restrict_to_owned_or_visible

        router = APIRouter()


        async def signed_in():
            return None


        @router.get("/flows")
        async def flows(session, user=Depends(signed_in)):
            stmt = restrict_to_owned_or_visible(select(Flow), id_column=Flow.id, owner_clause=Flow.user_id == user.id)
            return (await session.exec(stmt.order_by(Flow.name))).all()


        @router.get("/everything")
        async def everything(session, user=Depends(signed_in)):
            stmt = restrict_to_owned_or_visible(select(Flow), id_column=Flow.id, owner_clause=true())
            return (await session.exec(stmt)).all()


        @router.get("/owned")
        async def owned(session, user=Depends(signed_in)):
            owned_clause = Flow.user_id == user.id
            stmt = restrict_to_owned_or_visible(select(Flow), id_column=Flow.id, owner_clause=owned_clause)
            return (await session.exec(stmt)).all()


        @router.get("/granted")
        async def granted(session, override: bool, user=Depends(signed_in)):
            owned_clause = Flow.user_id == user.id
            stmt = restrict_to_owned_or_visible(select(Flow), id_column=Flow.id,
                                                owner_clause=owned_clause if override else false())
            return (await session.exec(stmt)).all()
    """
    listing = """
        def restrict_to_owned_or_visible(stmt, *, id_column, owner_clause):
            return stmt.where(owner_clause)
    """
    assert _project(tmp_path, {**FLOW_APP, "app/api.py": api, "app/listing.py": listing}) == [
        ("missing-tenant-filter", "app/api.py", 23, "error")]
    scopes = {q["function"].rsplit(".", 1)[-1]: [r["scope"] for r in q["refs"]]
              for q in scan(["."], cwd=tmp_path).document["queries"]}
    assert scopes == {"flows": ["helper"], "everything": ["none"], "owned": ["helper"], "granted": ["helper"]}


def test_a_correlated_subquery_is_judged_with_its_outer_statement(tmp_path):
    """langflow's deployment listing: ``select(Folder.name).where(Folder.id ==
    Flow.folder_id).correlate(Flow)`` yields the folder of each outer row; the outer
    statement carries (or misses) the tenant filter."""
    api = """
        from fastapi import APIRouter, Depends
        from sqlmodel import select

        from .models import Flow

        router = APIRouter()


        async def signed_in():
            return None


        @router.get("/flows")
        async def flows(session, user=Depends(signed_in)):
            first = select(Flow.name).where(Flow.id == Flow.id).correlate(Flow).scalar_subquery()
            return (await session.exec(select(Flow.id, first).where(Flow.user_id == user.id))).all()


        @router.get("/everyone")
        async def everyone(session, user=Depends(signed_in)):
            first = select(Flow.name).where(Flow.id == Flow.id).correlate(Flow).scalar_subquery()
            return (await session.exec(select(Flow.id, first))).all()
    """
    assert _project(tmp_path, {**FLOW_APP, "app/api.py": api}) == [("missing-tenant-filter", "app/api.py", 22, "error")]


def test_a_branch_that_needs_a_flag_the_caller_leaves_off_is_not_a_path(tmp_path):
    """langflow's ``_resolve_new_flow_owner(..., widen_for_authz=False)``: ``if not widen:
    return creator`` before the unscoped lookup; only a caller that passes the flag reaches
    it. Also ``if folder_id is None: return`` with ``folder_id=None`` passed."""
    api = """
        from fastapi import APIRouter, Depends

        from .models import Flow

        router = APIRouter()


        async def signed_in():
            return None


        async def owner_of(session, flow_id, creator, *, widen=False):
            if not widen or flow_id is None:
                return creator
            flow = await session.get(Flow, flow_id)
            return flow.user_id


        @router.post("/a/{flow_id}")
        async def plain(flow_id: str, session, user=Depends(signed_in)):
            return await owner_of(session, flow_id, user.id)


        @router.post("/b/{flow_id}")
        async def no_folder(flow_id: str, session, user=Depends(signed_in)):
            return await owner_of(session, None, user.id, widen=True)


        @router.post("/c/{flow_id}")
        async def widened(flow_id: str, session, user=Depends(signed_in)):
            return await owner_of(session, flow_id, user.id, widen=True)
    """
    assert _project(tmp_path, {**FLOW_APP, "app/api.py": api}) == [("unscoped-lookup", "app/api.py", 31, "error")]


def test_a_flag_passed_along_keeps_its_callers_default(tmp_path):
    """langflow: ``_new_flow(..., widen=False)`` passes ``widen=widen`` on to the helper that
    needs it: only a handler that sets it reaches the lookup."""
    api = """
        from fastapi import APIRouter, Depends

        from .models import Flow

        router = APIRouter()


        async def signed_in():
            return None


        async def owner_of(session, flow_id, creator, *, widen):
            if not widen:
                return creator
            return (await session.get(Flow, flow_id)).user_id


        async def new_flow(session, flow_id, creator, widen=False):
            return await owner_of(session, flow_id, creator, widen=widen)


        @router.post("/a/{flow_id}")
        async def plain(flow_id: str, session, user=Depends(signed_in)):
            return await new_flow(session, flow_id, user.id)


        @router.post("/b/{flow_id}")
        async def widened(flow_id: str, session, user=Depends(signed_in)):
            return await new_flow(session, flow_id, user.id, widen=True)
    """
    assert _project(tmp_path, {**FLOW_APP, "app/api.py": api}) == [("unscoped-lookup", "app/api.py", 29, "error")]


def test_a_helper_that_fetches_by_the_key_and_the_tenant_or_raises_guards_the_key(tmp_path):
    """langflow: ``flow = await _get_user_flow(session, flow_id, current_user.id)`` fetches
    with ``Flow.user_id == user_id`` and raises 404 when there is no row; the handler's
    later queries by ``flow_id`` (or ``flow.id``) are about the caller's own flow. The same
    query reached by a handler that skips the helper is reported."""
    found = _project(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [user_id]\n",
        "app/__init__.py": "",
        "app/models.py": """
            from uuid import UUID

            from sqlmodel import Field, SQLModel


            class User(SQLModel, table=True):
                id: UUID = Field(primary_key=True)


            class Flow(SQLModel, table=True):
                id: UUID = Field(primary_key=True)
                user_id: UUID = Field(foreign_key="user.id")


            class FlowVersion(SQLModel, table=True):
                id: UUID = Field(primary_key=True)
                flow_id: UUID = Field(foreign_key="flow.id")
                user_id: UUID = Field(foreign_key="user.id")
        """,
        "app/crud.py": """
            from sqlmodel import select

            from app.models import FlowVersion


            async def versions_of(session, flow_id):
                result = await session.exec(select(FlowVersion).where(FlowVersion.flow_id == flow_id))
                return result.all()
        """,
        "app/routes.py": """
            from uuid import UUID

            from fastapi import APIRouter, Depends, HTTPException
            from sqlmodel import select

            from app.crud import versions_of
            from app.models import Flow

            router = APIRouter()


            async def _get_user_flow(session, flow_id: UUID, user_id: UUID) -> Flow:
                result = await session.exec(select(Flow).where(Flow.id == flow_id, Flow.user_id == user_id))
                flow = result.first()
                if not flow:
                    raise HTTPException(status_code=404, detail="Flow not found")
                return flow


            @router.get("/flows/{flow_id}/versions")
            async def by_key(flow_id: UUID, session=Depends(get_session), current_user=Depends(get_current_user)):
                await _get_user_flow(session, flow_id, current_user.id)
                return await versions_of(session, flow_id)


            @router.get("/flows/{flow_id}/versions2")
            async def by_row(flow_id: UUID, session=Depends(get_session), current_user=Depends(get_current_user)):
                flow = await _get_user_flow(session, flow_id, current_user.id)
                return await versions_of(session, flow.id)


            @router.get("/flows/{flow_id}/versions3")
            async def unchecked(flow_id: UUID, session=Depends(get_session), current_user=Depends(get_current_user)):
                return await versions_of(session, flow_id)
        """,
    })
    assert found == [("missing-tenant-filter", "app/routes.py", 34, "error")]


def test_a_row_bound_in_two_branches_is_verified_only_by_what_both_verify(tmp_path):
    """langflow's webhook: ``flow = await session.get(Flow, flow_id)`` in one branch, a query
    scoped to ``user_id`` in the other, then ``if flow is None: raise``. The scoped branch
    does not vouch for the unscoped one: the lookup by the URL's id is still reported."""
    found = _project(tmp_path, {
        "tenantlint.yaml": "tenant_columns: [user_id]\n",
        "app/__init__.py": "",
        "app/models.py": """
            from uuid import UUID

            from sqlmodel import Field, SQLModel


            class Flow(SQLModel, table=True):
                id: UUID = Field(primary_key=True)
                user_id: UUID
                name: str
        """,
        "app/routes.py": """
            from uuid import UUID

            from fastapi import APIRouter, Depends, HTTPException
            from sqlmodel import select

            from app.models import Flow

            router = APIRouter()


            async def flow_of(session, flow_id_or_name: str, user_id: UUID | None = None) -> Flow:
                try:
                    flow = await session.get(Flow, UUID(flow_id_or_name))
                except ValueError:
                    stmt = select(Flow).where(Flow.name == flow_id_or_name)
                    if user_id is not None:
                        stmt = stmt.where(Flow.user_id == user_id)
                    flow = (await session.exec(stmt)).first()
                if flow is None:
                    raise HTTPException(status_code=404)
                return flow


            @router.post("/webhook/{flow_id_or_name}")
            async def webhook(flow_id_or_name: str, session=Depends(get_session)):
                flow = await flow_of(session, flow_id_or_name)
                return flow.name
        """,
    })
    assert found == [("unscoped-lookup", "app/routes.py", 26, "error")]


def test_a_config_guard_checks_keyword_arguments(tmp_path):
    """langflow: ``await ensure_flow_permission(current_user, FlowAction.READ, flow_id=flow.id,
    flow_user_id=flow.user_id)`` decides through an authorization plugin the call graph
    cannot follow; ``guards: [{function: "*.ensure_*_permission", checks: [flow_id]}]`` says
    it verifies the row. Without the config entry the fetch by the URL's id is reported."""
    files = {
        "app/__init__.py": "",
        "app/models.py": """
            from uuid import UUID

            from sqlmodel import Field, SQLModel


            class Flow(SQLModel, table=True):
                id: UUID = Field(primary_key=True)
                user_id: UUID
        """,
        "app/routes.py": """
            from uuid import UUID

            from fastapi import APIRouter, Depends, HTTPException

            from app.models import Flow
            from authz.guards import ensure_flow_permission

            router = APIRouter()


            @router.get("/flows/{flow_id}")
            async def read_flow(flow_id: UUID, session=Depends(get_session), current_user=Depends(get_current_user)):
                flow = await session.get(Flow, flow_id)
                if flow is None:
                    raise HTTPException(status_code=404)
                await ensure_flow_permission(current_user, "read", flow_id=flow.id, flow_user_id=flow.user_id)
                return flow
        """,
    }
    plain = _project(tmp_path / "plain", {**files, "tenantlint.yaml": "tenant_columns: [user_id]\n"})
    assert plain == [("unscoped-lookup", "app/routes.py", 13, "error")]
    guarded = _project(tmp_path / "guarded", {**files, "tenantlint.yaml": (
        "tenant_columns: [user_id]\n"
        "guards: [{function: \"*.ensure_*_permission\", checks: [flow_id, kb_id]}]\n")})
    assert guarded == []


# langflow's shared messages: a Message table and a key made from the caller and a flow.
MESSAGES = {
    "tenantlint.yaml": "tenant_columns: [user_id]\n",
    "app/__init__.py": "",
    "app/models.py": """
        from uuid import UUID

        from sqlmodel import Field, SQLModel


        class Message(SQLModel, table=True):
            id: UUID = Field(primary_key=True)
            flow_id: UUID
            user_id: UUID
    """,
}
MESSAGE_ROUTES = """
            from uuid import NAMESPACE_URL, UUID, uuid5

            from fastapi import APIRouter, Depends
            from sqlmodel import col, select

            from app.models import Message

            router = APIRouter()


            def _virtual_flow_id(user_id: UUID, source_flow_id: UUID) -> UUID:
                return uuid5(NAMESPACE_URL, f"user:{user_id}_{source_flow_id}")

"""


def test_a_key_derived_from_the_caller_is_the_callers_own(tmp_path):
    """langflow: ``virtual_flow_id = _compute_shared_message_flow_id(current_user.id,
    source_flow_id)`` (a uuid5 of both) keys the caller's own copy of a shared flow's
    messages; the request's ``source_flow_id`` alone still keys any tenant's rows."""
    found = _project(tmp_path, {
        **MESSAGES,
        "app/routes.py": MESSAGE_ROUTES + """
            @router.get("/messages/shared")
            async def shared(source_flow_id: UUID, session=Depends(get_session), current_user=Depends(get_current_user)):
                virtual_flow_id = _virtual_flow_id(current_user.id, source_flow_id)
                return await session.exec(select(Message).where(Message.flow_id == virtual_flow_id))


            @router.get("/messages/other")
            async def other(source_flow_id: UUID, session=Depends(get_session), current_user=Depends(get_current_user)):
                flow_id = UUID(str(source_flow_id))
                return await session.exec(select(Message).where(Message.flow_id == flow_id))


            @router.delete("/messages/shared/{session_id}")
            async def delete_shared(session_id: str, source_flow_id: UUID, session=Depends(get_session),
                                    current_user=Depends(get_current_user)):
                virtual_flow_id = _virtual_flow_id(current_user.id, source_flow_id)
                stmt = select(Message).where(Message.flow_id == virtual_flow_id).where(Message.session_id == session_id)
                return await session.exec(stmt)


            @router.delete("/messages/any/{session_id}")
            async def delete_any(session_id: str, session=Depends(get_session), current_user=Depends(get_current_user)):
                return await session.exec(select(Message).where(Message.session_id == session_id))
        """,
    })
    # the derived key keeps the rows the caller's whatever else the request narrows by
    assert found == [("missing-tenant-filter", "app/routes.py", 24, "error"),
                     ("missing-tenant-filter", "app/routes.py", 37, "error")]


def test_a_statement_narrowed_on_later_lines_is_looked_up_by_those_keys(tmp_path):
    """langflow: ``stmt = select(MessageTable)`` then ``stmt = stmt.where(MessageTable.flow_id
    == virtual_flow_id)``: the key of the caller's own rows is on the later line. Expression
    builders inside the narrowing (``col(M.id).in_(...)``) are no keys; a job that narrows by
    its own parameters still reads every tenant's rows."""
    found = _project(tmp_path, {
        **MESSAGES,
        "app/routes.py": MESSAGE_ROUTES + """
            @router.get("/messages/shared")
            async def shared(source_flow_id: UUID, session=Depends(get_session), current_user=Depends(get_current_user)):
                virtual_flow_id = _virtual_flow_id(current_user.id, source_flow_id)
                stmt = select(Message)
                stmt = stmt.where(Message.flow_id == virtual_flow_id)
                return await session.exec(stmt)


            @router.get("/messages/of")
            async def of_flow(source_flow_id: UUID, session=Depends(get_session), current_user=Depends(get_current_user)):
                stmt = select(Message)
                stmt = stmt.where(Message.flow_id == source_flow_id)
                return await session.exec(stmt)
        """,
        "app/jobs.py": """
            from sqlmodel import col, select

            from app.models import Message


            async def purge(session, flow_ids):
                stmt = select(Message).limit(100)
                stmt = stmt.where(col(Message.flow_id).in_(flow_ids))
                return await session.exec(stmt)
        """,
    })
    assert found == [("missing-tenant-filter", "app/jobs.py", 7, "info"),
                     ("missing-tenant-filter", "app/routes.py", 25, "error")]
