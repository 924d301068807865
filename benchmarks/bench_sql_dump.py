"""Time and peak memory on large SQL dumps (1, 5 and 30 MB), against a home-made script.

A database dump committed to a repository is the largest SQL a scan meets. tenantlint
analyses it piece by piece, so its memory should stay flat as the dump grows; the peer is
what a home-made check would do, ``sqlglot.parse`` of the whole text (it needs every
statement's tree at once). Both run on the same generated dumps in one run; the script
prints seconds, peak RSS (all processes of the command) and the ratios.

    python benchmarks/bench_sql_dump.py [--sizes 1,5,30] [--peer-timeout 900]

The dumps mix DDL, INSERT rows (most of a dump), a few SELECT/UPDATE statements and a
plpgsql function whose body holds semicolons. tenantlint runs with ``max_file_size`` and
``file_timeout`` raised so that it analyses the whole dump (by default a 30 MB file is
over ``max_file_size`` and reported, not read).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pretix import measure  # noqa: E402 - the same wall-time and process-tree sampler

CONFIG = "tenant_columns: [practice_id]\nmax_file_size: 100000000\nfile_timeout: 3600\n"
HEAD = """\
CREATE TABLE practices (id bigint PRIMARY KEY, name text);
CREATE TABLE patients (id bigint PRIMARY KEY, practice_id bigint REFERENCES practices(id), name text, phone text);
CREATE FUNCTION touch() RETURNS trigger AS $$
BEGIN
  NEW.name := trim(NEW.name);
  RETURN NEW;
END $$ LANGUAGE plpgsql;
"""


def dump(size: int) -> str:
    """About ``size`` bytes of dump, every 500th statement a query an application would run."""
    out, total, i = [HEAD], len(HEAD), 0
    while total < size:
        if i % 500 == 0:
            line = f"SELECT name, phone FROM patients WHERE id = {i};\n"
        else:
            line = f"INSERT INTO patients (id, practice_id, name, phone) VALUES ({i}, {i % 1500}, 'Patient {i}', '+1-555-{i % 10000:04d}');\n"
        out.append(line)
        total += len(line)
        i += 1
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,5,30", help="dump sizes in MB, comma-separated")
    parser.add_argument("--peer-timeout", type=float, default=900.0, help="seconds before the peer is stopped")
    args = parser.parse_args()
    print(f"{'dump':>6} {'tenantlint':>22} {'sqlglot.parse (whole)':>24} {'time':>7} {'memory':>7}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "tenantlint.yaml").write_text(CONFIG)
        for mb in (float(s) for s in args.sizes.split(",")):
            path = root / "dump.sql"
            path.write_text(dump(int(mb * 1_000_000)))
            ours = measure([sys.executable, "-m", "tenantlint", "scan", path.name, "--no-cache", "--format", "json"],
                           root)
            if ours.returncode not in (0, 1):
                sys.exit(f"tenantlint failed ({ours.returncode}): {ours.stderr[-2000:]}")
            peer = measure(["timeout", str(args.peer_timeout), sys.executable, "-c",
                            "import sys, sqlglot; sqlglot.parse(open(sys.argv[1]).read(), read='postgres')",
                            path.name], root)
            finished = peer.returncode == 0
            peer_text = (f"{peer.seconds:7.1f} s {peer.tree_rss / 1e6:7.0f} MB" if finished
                         else f"stopped after {peer.seconds:.0f} s, {peer.tree_rss / 1e6:.0f} MB")
            ratio = (f"{ours.seconds / peer.seconds:6.2f}x {ours.tree_rss / peer.tree_rss:6.2f}x" if finished
                     else "      -       -")
            print(f"{mb:5g}M {ours.seconds:7.1f} s {ours.tree_rss / 1e6:7.0f} MB  {peer_text:>24} {ratio}",
                  flush=True)


if __name__ == "__main__":
    main()
