"""Facts of many files: cache look-up, prefilter, then extraction in worker processes.

Per file, in order: read the bytes; with a cache, facts of the same path and content
come from it; else the prefilter may decide that the file holds nothing (empty facts,
no parse); else the file is extracted. Extraction is pure, so it runs in a
``ProcessPoolExecutor`` when there is enough of it, and the facts come back in the
order of ``files`` whatever the number of jobs: the output does not depend on it.
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass
from pathlib import Path

from tenantlint.config import Config
from tenantlint.discover import display_path, read_source
from tenantlint.extract import extract
from tenantlint.extract.facts import error, new_file_facts
from tenantlint.lifeline import die_with_parent

# Below this much source to parse (~0.2 s of work), starting workers costs more than it saves.
MIN_PARALLEL_BYTES = 64_000
ISOLATED_BYTES = 1_000_000  # a file this large is parsed in a worker process, whatever else there is
LOADED_PER_PARALLEL_BYTE = 4  # with the cache holding N bytes' facts, fork for N/4 bytes of parsing
CHUNKS_PER_JOB = 4  # several chunks per worker even out files of very different sizes


@dataclass
class RunStats:
    """What a run did, for tests and benchmarks."""

    files: int = 0
    cached: int = 0  # facts taken from the cache
    skipped: int = 0  # held nothing the prefilter lets through: not parsed
    extracted: int = 0  # parsed
    workers: int = 0  # worker processes used; 0 when everything ran in-process


def default_jobs() -> int:
    """CPUs this process may run on (a container's limit, unlike ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def extract_files(
    files: list[Path],
    cwd: Path,
    config: Config,
    jobs: int = 1,
    cache_dir: Path | None = None,
    *,
    prefilter: bool = True,
    stats: RunStats | None = None,
    digests: dict[str, str] | None = None,
) -> tuple[list[dict], list[dict]]:
    """Facts of ``files`` (in their order) and the errors of reading or extracting them.

    ``cache_dir`` None means no cache. A file that cannot be read has an error and no facts.
    With a cache, ``digests`` (if given) receives each read file's content hash by display
    path, so that whole-project caches need not read the files again.
    """
    from tenantlint.extract import add_program_facts
    from tenantlint.extract.prefilter import skipped_tree

    stats = stats if stats is not None else RunStats()
    stats.files += len(files)
    cache = None
    if cache_dir is not None:
        from tenantlint.cache import FactsCache

        cache = FactsCache.open(Path(cache_dir), config, prefilter=prefilter)
    slots: list[dict | None] = []
    errors: list[dict] = []
    pending: list[tuple[int, str, bytes, str | None]] = []  # (slot, path, bytes, content hash)
    loaded = 0  # bytes of source whose facts came from the cache
    for file in files:
        rel = display_path(file, cwd)
        try:
            data = read_source(file)
        except OSError as exc:
            errors.append(error(rel, 0, f"cannot read: {exc.strerror or exc}", "read"))
            continue
        sha = None
        if cache is not None:
            from tenantlint.cache import digest

            sha = digest(data)
            if digests is not None:
                digests[rel] = sha
            facts = cache.get(rel, sha)
            if facts is not None:
                stats.cached += 1
                loaded += len(data)
                slots.append(facts)
                continue
        tree = skipped_tree(rel, data, config) if prefilter else None
        if tree is not None:
            stats.skipped += 1
            facts = new_file_facts(rel, "sql" if rel.endswith(".sql") else "python")
            add_program_facts(rel, data, config, facts, tree)  # no query here, but calls the program stage follows
            if cache is not None:
                cache.put(rel, sha, facts)
            slots.append(facts)
            continue
        pending.append((len(slots), rel, data, sha))
        slots.append(None)
    stats.extracted += len(pending)
    for dialect, group in _by_dialect(pending, files, cwd, config).items():
        group_config = config if dialect == config.dialect else config.with_overrides(dialect=dialect)
        for (slot, rel, _, sha), facts in zip(group, _extract_all(group, group_config, jobs, stats, loaded),
                                              strict=True):
            slots[slot] = facts
            if cache is not None:
                cache.put(rel, sha, facts)
    all_facts = [facts for facts in slots if facts is not None]
    for facts in all_facts:
        errors.extend(facts.get("errors", []))
    return all_facts, errors


class CacheWarming:
    """Forked processes that put the facts of a few files into the cache while the scan
    does other work (finding and loading the rest of the project); :meth:`wait` before
    reading them. If one fails, its files are simply not in the cache: the scan parses them."""

    def __init__(self, pids: list[int]):
        self.pids = pids

    def wait(self) -> None:
        while self.pids:
            with contextlib.suppress(ChildProcessError, InterruptedError):
                os.waitpid(self.pids[-1], 0)
            self.pids.pop()


def warm_cache(files: list[Path], cwd: Path, config: Config, cache_dir: Path | None,
               jobs: int) -> CacheWarming | None:
    """Start parsing ``files`` (a hook's changed files) into the cache on other CPUs.
    A pre-commit run spends as long importing the parser and parsing three files as it
    does finding and loading the other files' facts: side by side, they take half the time.
    Large files (a project's central models and services) are shared among up to ``jobs``
    children, one per ``MIN_PARALLEL_BYTES`` of source, each also paying the parser's import.
    None where it cannot help or is unsafe: one CPU, no cache, no ``fork``, or other threads
    (a forked child could inherit a lock they hold)."""
    import threading

    if jobs < 2 or cache_dir is None or not files or not hasattr(os, "fork") or threading.active_count() > 1:
        return None
    parent = os.getpid()
    pids = []
    for share in _shares(files, jobs):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:  # pragma: no cover - the child; measured by the cache it fills
            code = 1
            try:
                _worker_start(parent, config.max_memory)
                extract_files(share, cwd, config, jobs=1, cache_dir=cache_dir)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    return CacheWarming(pids) if pids else None


def _shares(files: list[Path], jobs: int) -> list[list[Path]]:
    """``files`` split for the warming children: by size, largest first, each to the
    lightest share; as many shares as CPUs, files and ``MIN_PARALLEL_BYTES`` of source allow."""
    sizes = {}
    for file in files:
        try:
            sizes[file] = file.stat().st_size
        except OSError:
            sizes[file] = 0
    count = max(1, min(jobs, len(files), sum(sizes.values()) // MIN_PARALLEL_BYTES))
    shares: list[list[Path]] = [[] for _ in range(count)]
    loads = [0] * count
    for file in sorted(files, key=lambda f: -sizes[f]):
        lightest = loads.index(min(loads))
        shares[lightest].append(file)
        loads[lightest] += sizes[file]
    return shares


def _by_dialect(pending: list, files: list[Path], cwd: Path, config: Config) -> dict[str, list]:
    """The files to parse grouped by SQL dialect (config ``dialects``: a project that talks to
    PostgreSQL and SQLite); one group, the config's dialect, when it sets none."""
    if not config.dialects:
        return {config.dialect: pending} if pending else {}
    root = Path(config.root) if config.root else cwd
    where = {display_path(file, cwd): file for file in files}
    groups: dict[str, list] = {}
    for item in pending:
        file = where.get(item[1])
        try:
            rel = file.resolve().relative_to(root.resolve()).as_posix() if file else item[1]
        except ValueError:
            rel = item[1]
        groups.setdefault(config.dialect_for(rel), []).append(item)
    return groups


def _extract_all(pending: list, config: Config, jobs: int, stats: RunStats, loaded: int) -> list[dict]:
    """Workers pay off only for enough work: forking a process that holds the cached facts
    of a large tree (``loaded`` bytes of their source) costs seconds, more than parsing the
    few files of a pre-commit run here (pretix, 10 files: 3.4 s with 2 workers, 1.4 s here)."""
    items = [(rel, data) for _, rel, data, _ in pending]
    work = sum(len(d) for _, d in items)
    if any(len(data) > ISOLATED_BYTES for _, data in items):  # a dump: in a worker, under max_memory
        return _extract_parallel(items, config, max(1, jobs), stats)
    if jobs <= 1 or len(items) < 2 or work < max(MIN_PARALLEL_BYTES, loaded // LOADED_PER_PARALLEL_BYTE):
        return [extract(rel, data, config) for rel, data in items]
    return _extract_parallel(items, config, jobs, stats)


def _extract_parallel(items: list[tuple[str, bytes]], config: Config, jobs: int, stats: RunStats) -> list[dict]:
    """Facts of ``items`` from ``jobs`` worker processes, in the order of ``items``."""
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    chunks = _chunks(items, jobs * CHUNKS_PER_JOB)
    workers = min(jobs, len(chunks))
    if multiprocessing.get_start_method() == "fork":
        _preload(items)
    stats.workers = max(stats.workers, workers)
    results: list[dict | None] = [None] * len(items)
    try:
        with _worker_pool(workers, config) as pool:
            futures = [(chunk, pool.submit(_extract_chunk, [(rel, data) for _, rel, data in chunk], config))
                       for chunk in chunks]
            for chunk, future in futures:
                try:
                    for (index, _, _), facts in zip(chunk, future.result(), strict=True):
                        results[index] = facts
                except BrokenProcessPool:
                    pass
    except BrokenProcessPool:
        pass
    left = [i for i, facts in enumerate(results) if facts is None]
    if left:  # a worker died (a crash in a native parser): find the file, keep the rest
        for i, facts in zip(left, _extract_one_by_one([items[i] for i in left], config), strict=True):
            results[i] = facts
    return results  # type: ignore[return-value]


@contextlib.contextmanager
def _worker_pool(workers: int, config: Config):
    """A pool of parser workers that die with the scan (:func:`_worker_start`); an interrupt
    (Ctrl-C, SIGTERM) kills them at once instead of waiting for their chunks."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_start,
                             initargs=(os.getpid(), config.max_memory)) as pool:
        try:
            yield pool
        except BaseException:
            _stop(pool)
            raise


def _worker_start(parent: int, max_memory: int) -> None:
    """A parser worker dies with the scan, and its heap may grow by ``max_memory`` at most:
    past it, allocation fails, the file gets an "out of memory" error and the worker goes
    on. The cap counts from what the worker inherited (a parent that loaded a library
    reserving gigabytes of address space, as rego-cpp does, must not starve it)."""
    die_with_parent(parent)
    try:
        import resource

        limit = _data_size() + max_memory
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    except (ImportError, ValueError, OSError):  # not on this platform, or not allowed
        pass


def _data_size() -> int:
    """This process's data segment in bytes (VmData, what RLIMIT_DATA counts); 0 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _stop(pool) -> None:
    """Kill the pool's workers and drop its queue (``shutdown`` alone waits for running chunks)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _preload(items: list[tuple[str, bytes]]) -> None:
    """Import the extractors before forking: each worker then starts with them loaded
    instead of importing libcst and sqlglot itself (~0.4 s per process)."""
    if any(rel.endswith(".py") for rel, _ in items):
        import tenantlint.extract.python  # noqa: F401
    if any(rel.endswith(".sql") for rel, _ in items):  # SQL in Python code loads it in the worker, if any
        import tenantlint.extract.sql.scope  # noqa: F401
        import tenantlint.extract.sql.statements  # noqa: F401


def _chunks(items: list[tuple[str, bytes]], count: int) -> list[list[tuple[int, str, bytes]]]:
    """Split into at most ``count`` chunks of about equal bytes, largest files first (LPT)."""
    count = max(1, min(count, len(items)))
    chunks: list[list[tuple[int, str, bytes]]] = [[] for _ in range(count)]
    sizes = [0] * count
    for index in sorted(range(len(items)), key=lambda i: -len(items[i][1])):
        lightest = sizes.index(min(sizes))
        chunks[lightest].append((index, *items[index]))
        sizes[lightest] += len(items[index][1]) + 1
    return [c for c in chunks if c]


def _extract_chunk(chunk: list[tuple[str, bytes]], config: Config) -> list[dict]:
    """Run in a worker process (forked from a scan that paused the cyclic collector). A
    parse allocates hundreds of thousands of objects and leaves little cyclic garbage:
    the collector runs after each file rather than every few hundred allocations."""
    gc.disable()
    out = []
    for rel, data in chunk:
        out.append(extract(rel, data, config))
        gc.collect(0)
    gc.collect()
    return out


def _extract_one_by_one(items: list[tuple[str, bytes]], config: Config) -> list[dict]:
    """After a worker died: one worker, one file per task, so that the file that kills a
    worker is known (the oldest unfinished task) and gets an error; the others go on."""
    from concurrent.futures.process import BrokenProcessPool

    results: list[dict] = []
    while len(results) < len(items):
        rest = items[len(results):]
        with _worker_pool(1, config) as pool:
            futures = [pool.submit(_extract_chunk, [(rel, data)], config) for rel, data in rest]
            for (rel, _), future in zip(rest, futures, strict=True):
                try:
                    results.extend(future.result())
                except BrokenProcessPool:
                    results.append(_crashed(rel))
                    break
    return results


def _crashed(path: str) -> dict:
    facts = new_file_facts(path, "sql" if path.endswith(".sql") else "python")
    facts["errors"].append(error(path, 0, "analysis crashed its worker process (a bug in a parser?): "
                                          "file not analysed", "crash"))
    return facts
