"""Worker processes change nothing but the time: same facts, same report (issue 8)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
from pathlib import Path

import pytest

from tenantlint.extract import runner
from tenantlint.config import load_config
from tenantlint.discover import discover
from tenantlint.extract.runner import RunStats, extract_files
from tenantlint.scan import scan
from tests.conftest import run_cli
from tests.speed.cases import case_dirs, case_id, representative_cases

forking = pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                             reason="patches reach worker processes only when they are forked")


@pytest.fixture
def always_parallel(monkeypatch):
    """Small trees would run in-process; make every multi-file run use workers."""
    monkeypatch.setattr(runner, "MIN_PARALLEL_BYTES", 0)


def _files(case: Path):
    config = load_config(start=case)
    return discover(["."], config, cwd=case).files, config


def test_every_example_file_is_in_one_of_the_cases():
    """The cases are the projects (one config each); a file outside them would go untested."""
    from tests.speed.cases import source_files

    cases = case_dirs()
    assert [f for f in source_files() if not any(c in f.parents for c in cases)] == []


@pytest.mark.parametrize("case", representative_cases(), ids=case_id)
def test_scan_with_workers_reports_the_same(case, always_parallel):
    one = scan(["."], cwd=case, jobs=1)
    two = scan(["."], cwd=case, jobs=2)
    assert json.dumps(one.to_json(), sort_keys=True) == json.dumps(two.to_json(), sort_keys=True)
    assert one.document == two.document


def test_facts_come_back_in_file_order(always_parallel):
    case = max(case_dirs(), key=lambda c: len(_files(c)[0])).resolve()  # the shared cases: behind a symlink in CI
    files, config = _files(case)
    stats = RunStats()
    parallel = extract_files(files, case, config, jobs=3, stats=stats)
    assert stats.workers > 0 and stats.extracted > 1
    assert parallel == extract_files(files, case, config, jobs=1)
    assert [f["path"] for f in parallel[0]] == [p.resolve().relative_to(case).as_posix() for p in files]


def test_chunks_balance_bytes_and_keep_every_file():
    items = [(f"f{i}.py", b"x" * size) for i, size in enumerate([900, 10, 500, 400, 300, 50, 50, 1])]
    chunks = runner._chunks(items, 3)
    assert sorted(i for chunk in chunks for i, _, _ in chunk) == list(range(len(items)))
    loads = sorted(sum(len(d) for _, _, d in chunk) for chunk in chunks)
    assert loads[-1] == 900  # the largest file alone; the rest share the other chunks
    assert runner._chunks(items[:1], 8) == [[(0, "f0.py", items[0][1])]]


@forking
def test_a_worker_that_dies_costs_one_file(tmp_path, always_parallel, monkeypatch):
    real = runner.extract

    def crashing(path, data, config):
        if path.endswith("boom.sql"):
            os.kill(os.getpid(), signal.SIGKILL)  # as a segfault would, minus the core dump
        return real(path, data, config)

    monkeypatch.setattr(runner, "extract", crashing)
    for name in ("a.sql", "boom.sql", "c.sql", "d.sql"):
        (tmp_path / name).write_text("SELECT id FROM notes WHERE tenant_id = %s;\n")
    files = sorted(tmp_path.glob("*.sql"))
    config = load_config(start=tmp_path)
    facts, errors = extract_files(files, tmp_path, config, jobs=2)
    assert [f["path"] for f in facts] == ["a.sql", "boom.sql", "c.sql", "d.sql"]
    assert [(e["path"], e["kind"]) for e in errors] == [("boom.sql", "crash")]
    assert all(f["queries"] for f in facts if f["path"] != "boom.sql")


def test_cli_jobs_output_is_identical(tmp_path):
    case = next((c for c in case_dirs() if (c / "tenantlint.yaml").is_file()), None)
    tree = tmp_path / "tree"
    shutil.copytree(case, tree, ignore=shutil.ignore_patterns(".tenantlint_cache"))
    outputs = []
    for jobs in ("1", "2"):
        proc = run_cli("scan", ".", "--format", "json", "--no-cache", "--jobs", jobs, cwd=tree)
        assert proc.returncode in (0, 1), proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    assert not (tree / ".tenantlint_cache").exists()


def test_few_changed_files_of_a_cached_tree_parse_in_process(tmp_path, monkeypatch):
    """A pre-commit run: the cache holds the tree, two files changed. Forking a process
    that holds the cached facts costs more than parsing two files, so no worker starts;
    a cold scan of the same bytes does use workers. (Sizes scaled down by the minimum.)"""
    monkeypatch.setattr(runner, "MIN_PARALLEL_BYTES", 8_000)
    body = "from app.models import Deal\n\ndef get(i):\n    return Deal.objects.get(pk=i)\n" * 120
    for i in range(12):
        (tmp_path / f"m{i}.py").write_text(body + f"# {i}\n")
    config = load_config(start=tmp_path)
    files = sorted(tmp_path.glob("m*.py"))
    cold = RunStats()
    extract_files(files, tmp_path, config, jobs=2, cache_dir=tmp_path / ".c", stats=cold)
    assert cold.workers == 2
    for f in files[:2]:
        f.write_text(f.read_text() + "# changed\n")
    warm = RunStats()
    extract_files(files, tmp_path, config, jobs=2, cache_dir=tmp_path / ".c", stats=warm)
    assert (warm.cached, warm.extracted, warm.workers) == (10, 2, 0)
