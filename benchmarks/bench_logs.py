"""Throughput and peak memory of ``tenantlint logs`` on a generated PostgreSQL log, beside pgbadger.

Incident responders read server logs of many gigabytes; pgbadger is the tool they know. Both
read the same generated stderr log (``log_line_prefix = '%m [%p] %q%u@%d '``, one statement
per line, a few shapes repeated with different values, some multi-line statements) in one
run; the script prints seconds, MB/s, statements/s and peak RSS of all each command's
processes, and the ratios. pgbadger only reports; tenantlint also judges every shape and
counts each actor's tenants.

    python benchmarks/bench_logs.py [--size-mb 1024] [--pgbadger PATH]

(``apt-get install pgbadger``; without it the tenantlint side still runs.)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pretix import measure  # noqa: E402 - the same wall-time and process-tree sampler

SCHEMA = """\
CREATE TABLE practices (id bigint PRIMARY KEY, name text);
CREATE TABLE patients (id bigint PRIMARY KEY, practice_id bigint REFERENCES practices(id), name text, phone text);
CREATE TABLE notes (id bigint PRIMARY KEY, practice_id bigint REFERENCES practices(id), body text);
"""
PREFIX = "%m [%p] %q%u@%d "
SHAPES = [
    "SELECT name, phone FROM patients WHERE practice_id = {p} AND id = {i}",
    "UPDATE notes SET body = 'n{i}' WHERE practice_id = {p} AND id = {i}",
    "SELECT id, body FROM notes WHERE practice_id = {p} ORDER BY id LIMIT 50",
    "SELECT name FROM patients WHERE name LIKE 'a{i}%'",  # every practice: a finding
    "INSERT INTO notes (id, practice_id, body) VALUES ({i}, {p}, 'x')",
]


def write_log(path: Path, size: int) -> int:
    """About ``size`` bytes of log; the number of statements."""
    written, count = 0, 0
    with path.open("w", encoding="utf-8") as out:
        while written < size:
            p, i = count % 1500 + 1, count
            sql = SHAPES[count % len(SHAPES)].format(p=p, i=i)
            if count % 97 == 0:
                sql = sql.replace(" FROM ", "\n\tFROM ", 1)
            stamp = f"2026-03-02 10:{count // 60000 % 60:02d}:{count // 1000 % 60:02d}.{count % 1000:03d} UTC"
            line = f"{stamp} [{4000 + count % 50}] app@clinic LOG:  statement: {sql}\n"
            out.write(line)
            written += len(line)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=1024.0)
    parser.add_argument("--pgbadger", default=shutil.which("pgbadger"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "schema.sql").write_text(SCHEMA)
        (root / "tenantlint.yaml").write_text(
            "tenant_columns: [practice_id]\nrules: {cross-tenant-activity: {options: {shared_actors: [app]}}}\n")
        log = root / "postgresql.log"
        statements = write_log(log, int(args.size_mb * 1e6))
        mb = log.stat().st_size / 1e6
        print(f"log: {mb:.0f} MB, {statements:,} statements")
        rows = [("tenantlint logs", measure([sys.executable, "-m", "tenantlint", "logs", log.name, "--schema",
                                              "schema.sql", "--prefix", PREFIX, "--format", "json"], root))]
        if args.pgbadger:
            rows.append(("pgbadger", measure([args.pgbadger, "--prefix", PREFIX, "-o", "out.html", "-q", "-j", "1",
                                              log.name], root)))
        print(f"{'':16} {'seconds':>8} {'MB/s':>7} {'stmts/s':>10} {'peak MB':>8}")
        for name, run in rows:
            print(f"{name:16} {run.seconds:8.1f} {mb / run.seconds:7.1f} {statements / run.seconds:10,.0f} "
                  f"{run.tree_rss / 1e6:8.0f}  (exit {run.returncode})")
        if len(rows) == 2:
            ours, theirs = rows[0][1], rows[1][1]
            print(f"ratio tenantlint/pgbadger: time {ours.seconds / theirs.seconds:.2f}x, "
                  f"memory {ours.tree_rss / max(theirs.tree_rss, 1):.2f}x")


if __name__ == "__main__":
    main()
