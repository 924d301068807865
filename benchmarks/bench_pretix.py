"""tenantlint against Bandit on a large real Django codebase, side by side in one run.

Downloads a pinned pretix release (``pip download --no-deps``), unpacks the wheel into
``benchmarks/_work/``, and times on that tree, for ``--rounds`` rounds:

- tenantlint, cold cache and warm cache, with ``--jobs 1`` and with the default jobs;
- Bandit (``bandit -r -q``, all checks) on the same files;
- the pre-commit shape: 10 (and 3) Python files changed, scanned by name, the project's models
  taken from the warm cache; the 3 largest files (the central models and services, the worst
  case: parsing them is most of the run); and Bandit on the same 3 files, as a hook runs it
  (it judges each file alone, tenantlint the whole program).

It prints medians, ratios to Bandit, and peak memory (largest process, and all processes
of the command at once). Needs network access to PyPI for the first run only.

    python benchmarks/bench_pretix.py                 # 3 rounds
    python benchmarks/bench_pretix.py --rounds 5 --check-prefilter --profile
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"
PRETIX_VERSION = "2026.8.0"
BANDIT_VERSION = "1.9.4"
CONFIG = """\
# tenantlint settings for the pretix benchmark: events and organizers are the tenants.
tenant_columns: [event_id, organizer_id]
exclude: ["**/tests/**", "**/test/**", "**/migrations/**"]
"""
BANDIT_EXCLUDE = "*/tests/*,*/test/*,*/migrations/*"
CHANGED_FILES = 10


@dataclass
class Run:
    seconds: float
    max_rss: int  # bytes, the largest single process (getrusage of the waited child)
    tree_rss: int  # bytes, all processes of the command at once (sampled from /proc)
    cpu: float  # seconds of CPU, the command and all its processes (user + system)
    returncode: int
    output: str = ""
    stderr: str = ""


@dataclass
class Series:
    name: str
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def peak(self) -> int:
        return max(r.max_rss for r in self.runs)

    @property
    def tree_peak(self) -> int:
        return max(r.tree_rss for r in self.runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="0: only the checks asked for")
    parser.add_argument("--version", default=PRETIX_VERSION, help="pretix release to scan")
    parser.add_argument("--bandit", help="bandit executable (default: installed into benchmarks/_work)")
    parser.add_argument("--skip-bandit", action="store_true")
    parser.add_argument("--check-prefilter", action="store_true",
                        help="also extract every file the prefilter skips and check it has no facts")
    parser.add_argument("--profile", action="store_true", help="also profile one in-process extraction (cProfile)")
    args = parser.parse_args()

    tree = prepare_tree(args.version)
    files = [p for p in sorted((tree / "pretix").rglob("*.py")) if not excluded(p.relative_to(tree))]
    size = sum(p.stat().st_size for p in files)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    print(f"pretix {args.version}: {len(files)} Python files, {lines / 1000:.0f} k lines, {size / 1e6:.1f} MB "
          f"(tests and migrations excluded)")
    print(f"machine: {os.cpu_count()} CPUs, {memory_gib():.0f} GiB, Python {platform.python_version()}, "
          f"{platform.platform()}; load average before: {load()}")
    prefilter_report(tree, files)
    bandit = None if args.skip_bandit else find_bandit(args.bandit)

    series = {name: Series(name) for name in (
        "tenantlint cold, default jobs", "tenantlint warm, default jobs",
        "tenantlint cold, --jobs 1", "tenantlint warm, --jobs 1",
        "pre-commit: 10 changed files, warm", "pre-commit: 3 changed files, warm",
        "pre-commit: 3 largest files, warm", "bandit -r", "bandit: the same 3 changed files")}
    changed = pick_changed(files, tree)
    few = changed[::4][:3]  # the shape: a hook run on three files
    largest = sorted(files, key=lambda f: f.stat().st_size)[-3:]  # a commit to the central models and services
    print(f"pre-commit shape: {len(changed)} files, {sum(f.stat().st_size for f in changed) / 1000:.0f} kB; "
          f"and {len(few)} of them, {sum(f.stat().st_size for f in few) / 1000:.0f} kB; the 3 largest files, "
          f"{sum(f.stat().st_size for f in largest) / 1000:.0f} kB")
    compile_package()
    for round_no in range(1, args.rounds + 1):
        print(f"round {round_no}/{args.rounds} ...", flush=True)
        for jobs, label in ((None, "default jobs"), (1, "--jobs 1")):
            with tempfile.TemporaryDirectory(prefix="tenantlint-cache-") as cache:
                cold = tenantlint(tree, cache, jobs)
                warm = tenantlint(tree, cache, jobs)
                check_same(cold, warm)
                series[f"tenantlint cold, {label}"].runs.append(cold)
                series[f"tenantlint warm, {label}"].runs.append(warm)
                if jobs is None:
                    series["pre-commit: 3 changed files, warm"].runs.append(pre_commit(tree, cache, few, round_no))
                    series["pre-commit: 10 changed files, warm"].runs.append(pre_commit(tree, cache, changed, round_no))
                    series["pre-commit: 3 largest files, warm"].runs.append(
                        pre_commit(tree, cache, largest, round_no))
        if bandit:
            series["bandit -r"].runs.append(run_bandit(bandit, tree))
            series["bandit: the same 3 changed files"].runs.append(
                run_bandit(bandit, tree, [f.relative_to(tree).as_posix() for f in few]))
    if args.rounds > 0:
        report(series, cold_output=series["tenantlint cold, default jobs"].runs[-1].output)
        print(f"load average after: {load()} (other processes on the machine slow both tools and the workers)")
    if args.check_prefilter:
        check_prefilter(tree, files)
    if args.profile:
        profile(tree, files)


# -- the tree ------------------------------------------------------------------------


def prepare_tree(version: str) -> Path:
    """benchmarks/_work/pretix-<version>/ with the wheel's ``pretix`` package and a config."""
    tree = WORK / f"pretix-{version}"
    if not (tree / "pretix").is_dir():
        download = WORK / "downloads"
        download.mkdir(parents=True, exist_ok=True)
        wheel = next(download.glob(f"pretix-{version}-*.whl"), None)
        if wheel is None:
            print(f"downloading pretix {version} ...", flush=True)
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"pretix=={version}",
                            "-d", str(download)], check=True)
            wheel = next(download.glob(f"pretix-{version}-*.whl"))
        partial = tree.with_name(tree.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(partial, [n for n in zf.namelist() if n.startswith("pretix/")])
        shutil.rmtree(tree, ignore_errors=True)
        partial.rename(tree)
    (tree / "tenantlint.yaml").write_text(CONFIG, encoding="utf-8")
    return tree


def excluded(rel: Path) -> bool:
    return any(part in ("tests", "test", "migrations") for part in rel.parts[:-1])


def compile_package() -> None:
    """Byte-compile tenantlint as ``pip install`` does for Bandit (an editable install, or
    PYTHONDONTWRITEBYTECODE, would make every run compile its modules again)."""
    import tenantlint

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(tenantlint.__file__).parent)], check=False)


def pick_changed(files: list[Path], tree: Path) -> list[Path]:
    """Ten files spread evenly over those the prefilter lets through (a commit touches code
    that tenantlint parses; skipped files would cost nothing)."""
    from tenantlint.config import load_config
    from tenantlint.extract.prefilter import skippable

    config = load_config(start=tree)
    parsed = [f for f in files if not skippable(f.relative_to(tree).as_posix(), f.read_bytes(), config)]
    step = len(parsed) / CHANGED_FILES
    return [parsed[int(i * step)] for i in range(CHANGED_FILES)]


# -- running the tools ---------------------------------------------------------------


def tenantlint_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tenantlint", *args]


def tenantlint(tree: Path, cache: str, jobs: int | None) -> Run:
    args = ["scan", "pretix", "--format", "json", "--cache-dir", cache]
    if jobs:
        args += ["--jobs", str(jobs)]
    run = measure(tenantlint_command(*args), tree)
    if run.returncode not in (0, 1):
        sys.exit(f"tenantlint failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return run


def pre_commit(tree: Path, cache: str, changed: list[Path], round_no: int) -> Run:
    """Change files (a comment line on top: every line moves, so neither their facts nor
    the policies' answer are in the cache), scan them by name as a pre-commit hook does,
    then put them back. Each run starts from a copy of the warm cache: a hook's files put
    back are stale in the cache it leaves, and a later shape would parse them as context."""
    originals = {f: f.read_bytes() for f in changed}
    with tempfile.TemporaryDirectory(prefix="tenantlint-hook-cache-") as scratch:
        own = Path(scratch) / "cache"
        shutil.copytree(cache, own)
        try:
            for f in changed:
                f.write_bytes(f"# changed by the benchmark, round {round_no}\n".encode() + originals[f])
            rel = [f.relative_to(tree).as_posix() for f in changed]
            run = measure(tenantlint_command("scan", *rel, "--format", "json", "--cache-dir", str(own)), tree)
        finally:
            for f, data in originals.items():
                f.write_bytes(data)
    if run.returncode not in (0, 1):
        sys.exit(f"tenantlint (pre-commit shape) failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return run


def find_bandit(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    venv = WORK / "bandit-venv"
    exe = venv / "bin" / "bandit"
    if not exe.exists():
        print(f"installing bandit {BANDIT_VERSION} into {venv} ...", flush=True)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                            f"bandit=={BANDIT_VERSION}"], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"cannot install bandit ({exc}); pass --bandit PATH or --skip-bandit", file=sys.stderr)
            sys.exit(2)
    return str(exe)


def run_bandit(bandit: str, tree: Path, given: list[str] | None = None) -> Run:
    """``bandit -r pretix``, or Bandit on the ``given`` files as a pre-commit hook runs it."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        where = given if given else ["-r", "pretix"]
        run = measure([bandit, "-q", "-x", BANDIT_EXCLUDE, "-f", "json", "-o", out.name, *where], tree)
        scanned = len([k for k in json.loads(Path(out.name).read_text()).get("metrics", {}) if k != "_totals"])
    run.output = f"bandit scanned {scanned} files"
    return run


def measure(cmd: list[str], cwd: Path) -> Run:
    """Wall time, largest process's peak RSS (wait4 rusage: the child and its waited
    descendants) and the peak of all its processes' RSS together (sampled every 10 ms)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        output, stderr = (f.read().decode("utf-8", "replace") for f in (out, err))
    cpu = usage.ru_utime + usage.ru_stime
    return Run(seconds, usage.ru_maxrss * 1024, sampler.peak, cpu, proc.returncode, output, stderr)


class TreeSampler(threading.Thread):
    """Sums the RSS of a process and its descendants from /proc (Linux; 0 elsewhere)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self._done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, sum(rss(p) for p in descendants(self.pid)))

    def stop(self) -> None:
        self._done.set()
        self.join()


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            pass
    return out


def rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def check_same(cold: Run, warm: Run) -> None:
    if json.loads(cold.output) != json.loads(warm.output):
        sys.exit("a warm-cache scan reported something else than the cold scan")


# -- reporting -----------------------------------------------------------------------


def report(series: dict[str, Series], cold_output: str) -> None:
    result = json.loads(cold_output)
    summary = result["summary"]
    print(f"\ntenantlint {result['tool']['version']}: {summary['files']} files, {summary['findings']} findings, "
          f"{summary['errors']} errors\n")
    bandit = series["bandit -r"]
    print(f"{'':38} {'median s':>8} {'min s':>6} {'max s':>6} {'vs bandit':>9} {'CPU s':>6} "
          f"{'peak MB':>7} {'all MB':>6}")
    for s in series.values():
        if not s.runs:
            continue
        ratio = f"{s.median / bandit.median:.2f}x" if bandit.runs else "-"
        times = [r.seconds for r in s.runs]
        print(f"{s.name:38} {s.median:8.2f} {min(times):6.2f} {max(times):6.2f} {ratio:>9} {s.cpu:6.1f} "
              f"{s.peak / 2**20:7.0f} {s.tree_peak / 2**20:6.0f}")
    print("(median s: wall clock; CPU s: median CPU time of all the command's processes; peak MB: the largest\n"
          " process; all MB: all its processes at once)")
    if bandit.runs:
        print(f"({bandit.runs[-1].output})")
    hook_peer = series["bandit: the same 3 changed files"]
    if hook_peer.runs:
        hook = series["pre-commit: 3 changed files, warm"]
        print(f"pre-commit on 3 files: tenantlint (the whole program) {hook.median:.2f} s, Bandit (those files "
              f"alone) {hook_peer.median:.2f} s: {hook.median / hook_peer.median:.1f}x")
    cold, warm = series["tenantlint cold, default jobs"], series["tenantlint warm, default jobs"]
    pre = series["pre-commit: 3 changed files, warm"]
    peak = max(s.peak for s in series.values() if s.runs and s is not bandit)
    print("\ntargets:")
    if bandit.runs:
        target("cold scan, default jobs, faster than Bandit", cold.median < bandit.median,
               f"{cold.median:.2f} s vs {bandit.median:.2f} s")
    target("warm re-scan under 1/10 of cold", warm.median < cold.median / 10,
           f"{warm.median:.2f} s = 1/{cold.median / warm.median:.1f}")
    target("pre-commit on 3 files about 1 s (under 1.5 s)", pre.median < 1.5, f"{pre.median:.2f} s")
    target("peak memory (largest process) under 500 MB", peak < 500 * 2**20, f"{peak / 2**20:.0f} MB")


def target(name: str, ok: bool, detail: str) -> None:
    print(f"  [{'ok' if ok else 'MISSED'}] {name}: {detail}")


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return 0.0


# -- optional checks -----------------------------------------------------------------


def prefilter_report(tree: Path, files: list[Path]) -> None:
    from tenantlint.config import load_config
    from tenantlint.extract.prefilter import skippable

    config = load_config(start=tree)
    kept = [f for f in files if not skippable(f.relative_to(tree).as_posix(), f.read_bytes(), config)]
    kept_bytes = sum(f.stat().st_size for f in kept) / sum(f.stat().st_size for f in files)
    print(f"prefilter: parses {len(kept)} of {len(files)} files, {kept_bytes:.0%} of the bytes")


def check_prefilter(tree: Path, files: list[Path]) -> None:
    """Every file the prefilter skips, through the full extractor: it must have no facts."""
    from tenantlint.config import load_config
    from tenantlint.extract import extract
    from tenantlint.extract.prefilter import skippable

    config = load_config(start=tree)
    keys = ("tables", "queries", "routes", "fields", "constants", "suppressions", "errors")
    skipped = [f for f in files if skippable(f.relative_to(tree).as_posix(), f.read_bytes(), config)]
    wrong = []
    for f in skipped:
        facts = extract(f.relative_to(tree).as_posix(), f.read_bytes(), config)
        if any(facts.get(k) for k in keys):
            wrong.append(f.relative_to(tree).as_posix())
    print(f"\nprefilter check: {len(skipped)} skipped files extracted in full, {len(wrong)} had facts"
          + (f": {wrong}" if wrong else ""))


def profile(tree: Path, files: list[Path]) -> None:
    """Where one in-process extraction of the tree spends its time."""
    import cProfile
    import pstats

    from tenantlint.config import load_config
    from tenantlint.extract.runner import extract_files

    config = load_config(start=tree)
    profiler = cProfile.Profile()
    profiler.enable()
    extract_files(files, tree, config, jobs=1)
    profiler.disable()
    print("\nprofile of one extraction, --jobs 1, no cache (top 35 by cumulative time):")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
