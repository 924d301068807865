"""Every kind of entry point gives its context (fixture ``jobs``: one unscoped helper,
``all_orders()``, called from each kind of entry point)."""

from __future__ import annotations

from pathlib import Path

from tenantlint.scan import scan

JOBS = Path(__file__).resolve().parent.parent / "fixtures" / "program" / "jobs"


def test_each_entry_point_kind_reports_in_its_context():
    result = scan(["."], cwd=JOBS)
    found = [(f["path"], f["line"], f["severity"], f["context"]) for f in result.findings]
    assert found == [
        ("alembic/versions/0001_backfill.py", 7, "info", "migration"),  # an Alembic revision
        ("shop/admin.py", 8, "info", "admin"),  # a ModelAdmin
        ("shop/cli.py", 10, "info", "command"),  # a typer command
        ("shop/cli.py", 14, "info", "command"),  # a console script of pyproject.toml
        ("shop/jobs.py", 18, "info", "background"),  # rq: queue.enqueue(rq_job)
        ("shop/jobs.py", 22, "info", "background"),  # apscheduler: scheduler.add_job(scheduled)
        ("shop/jobs.py", 26, "info", "background"),  # config job_launchers: start_job(launched)
        ("shop/jobs.py", 30, "info", "background"),  # asyncio.create_task(poller())
        ("shop/jobs.py", 39, "info", "background"),  # @dramatiq.actor
        ("shop/jobs.py", 44, "info", "background"),  # huey @db_task()
        ("shop/jobs.py", 49, "info", "background"),  # Django signal @receiver
        ("shop/management/commands/orders_report.py", 8, "info", "command"),  # BaseCommand.handle
        ("shop/views.py", 21, "info", "admin"),  # DRF IsAdminUser
        ("shop/views.py", 27, "error", "request"),  # a FastAPI route
        ("shop/views.py", 32, "info", "startup"),  # @app.on_event("startup")
    ]
    assert {f["rule"] for f in result.findings} == {"missing-tenant-filter"}


def test_every_finding_names_its_entry_point():
    doc = scan(["."], cwd=JOBS).document
    query = next(q for q in doc["queries"] if q["path"] == "shop/models.py")
    entries = {(s["path"], s["line"]): s["entry"] for s in query["sites"]}
    assert entries[("shop/jobs.py", 39)] == "@actor"
    assert entries[("shop/management/commands/orders_report.py", 8)] == "management command"
    assert entries[("shop/cli.py", 14)] == "console script"
    assert entries[("shop/views.py", 27)] == "GET /orders"
