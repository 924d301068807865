"""A real PostgreSQL server for the row-level security tests, started once per session.

The server refuses to run as root, so under root it runs as the ``postgres`` user, in a
temporary folder, listening on a free port of 127.0.0.1 only, with trust authentication
(nothing but this machine can reach it). Without a PostgreSQL installation the tests are
skipped with the reason, except under CI (``CI`` set), where ``.ci/run`` installs one.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Postgres:
    """A running server: ``sql(text, user=..., db=...)`` runs psql and returns its rows."""

    def __init__(self, bin_dir: Path, port: int, log: Path | None = None, data: Path | None = None):
        self.bin_dir, self.port, self.log, self.data = bin_dir, port, log, data  # log: pg_ctl's stderr log

    def sql(self, text: str, user: str = "postgres", db: str = "postgres", check: bool = True) -> list[list[str]]:
        proc = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", db,
             "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-F", "|"],
            input=text, capture_output=True, text=True, timeout=60)
        if check and proc.returncode != 0:
            raise AssertionError(f"psql failed ({proc.returncode}): {proc.stderr}")
        if proc.returncode != 0:
            raise PsqlError(proc.stderr.strip())
        return [line.split("|") for line in proc.stdout.splitlines() if line]


class PsqlError(Exception):
    pass


def _server(options: str = ""):
    """Start a server in a temporary folder (``options``: more ``-c name=value``); yield it, stop it."""
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        if os.environ.get("CI"):  # CI installs it (.ci/run): missing there is a failure, not a skip
            pytest.fail("PostgreSQL is not installed (initdb/pg_ctl not found) though CI is set")
        pytest.skip("PostgreSQL is not installed (initdb/pg_ctl not found); .ci/run installs it")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    folder = tempfile.mkdtemp(prefix="tenantlint-pg-")
    data = os.path.join(folder, "data")
    if as_root:
        shutil.chown(folder, "postgres")
    port = _free_port()
    try:
        subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--no-locale"], check=True, capture_output=True, timeout=120)
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", data, "-w", "-l", os.path.join(folder, "log"),
                        "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off {options}",
                        "start"], check=True, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL from {bin_dir}: {exc}")
    try:
        yield Postgres(bin_dir, port, Path(folder) / "log", Path(data))
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    yield from _server()


_PGAUDIT = ",pgaudit" if any(glob.glob("/usr/lib/postgresql/*/lib/pgaudit.so")) else ""


@pytest.fixture(scope="session")
def logging_postgres():
    """A server that writes stderr, csvlog and jsonlog logs of every statement (its ``data``
    folder's ``log/pg.log``, ``.csv``, ``.json``) and keeps pg_stat_statements."""
    yield from _server("-c logging_collector=on -c log_destination=stderr,csvlog,jsonlog -c log_directory=log "
                       "-c log_filename=pg -c log_statement=all "
                       f"-c shared_preload_libraries=pg_stat_statements{_PGAUDIT} "
                       "-c log_line_prefix='%m [%p] %q%u@%d ' -c log_min_messages=warning")
