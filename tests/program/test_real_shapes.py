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
    """``update(Job).where(false())`` only takes a lock (langflow's job dedupe)."""
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
                session.execute(update(Job).values(id=Job.id))
        """,
    })
    assert found == [("unscoped-write", "app/jobs.py", 11, "error")]
