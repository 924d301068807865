"""Facts of one file, whatever it holds: the one place that turns bad input into an error entry.

``extract(path, data, config)`` is pure, so it can run in a worker process and be cached
by content hash. It never raises for a bad file: it returns facts with an ``errors`` entry.
"""

from __future__ import annotations

import contextlib
import signal
import threading

from tenantlint.config import Config
from tenantlint.extract.facts import error, new_file_facts
from tenantlint.gate.suppressions import MARKER, collect as collect_suppressions


class _FileTimeout(BaseException):
    """Raised inside a pathological file's analysis when its time is up. Not an Exception:
    a library's ``except Exception`` (sqlglot's tokenizer turns any error into its own
    TokenError, which our fallback then retried with no timer) must not swallow it."""


def extract(path: str, data: bytes, config: Config) -> dict:
    """Facts of the file at ``path`` (display path) whose bytes are ``data``."""
    language = "sql" if path.endswith(".sql") else "python"
    if len(data) > config.max_file_size:
        return _failed(path, language, f"file is larger than max_file_size ({config.max_file_size} bytes)",
                       "limit")
    if b"\0" in data[:8192]:
        return _failed(path, language, "binary file (contains NUL bytes)", "read")
    if not data.strip():
        return new_file_facts(path, language)
    try:
        with _time_limit(config.file_timeout):
            if language == "sql":
                from tenantlint.extract.sql import extract_sql

                facts = extract_sql(path, _decode_sql(data), config)
            else:
                from tenantlint.extract.python import extract_python

                facts = extract_python(path, data, config)
                _add_ast_facts(path, data, config, facts)
            if MARKER in data:  # the filter stage needs them; other files pay nothing
                facts["suppressions"] = collect_suppressions(path, data, language)
            return facts
    except _FileTimeout:
        return _failed(path, language, f"analysis took longer than file_timeout ({config.file_timeout:g} s)",
                       "limit")
    except UnicodeDecodeError as exc:
        return _failed(path, language, f"not valid UTF-8 text (byte {exc.start})", "read")
    except RecursionError:
        return _failed(path, language, "nested too deeply to analyse (recursion limit)", "limit")
    except MemoryError:
        return _failed(path, language, "out of memory while analysing", "limit")


def _add_ast_facts(path: str, data: bytes, config: Config, facts: dict) -> None:
    """Routes, handlers and export code (:mod:`tenantlint.extract.web`) and the function facts of the
    whole-program stage (:mod:`tenantlint.extract.python.calls`): one cheap ``ast`` parse for both."""
    if any(e.get("kind") in ("limit", "read") for e in facts["errors"]):
        return
    from tenantlint.extract.web import extract_web, parse_module

    try:
        mod = parse_module(path, data, config)
    except RecursionError:
        mod = None
    if mod is None:
        return
    found = _part(path, facts, "route extraction", lambda: extract_web(path, data, config, mod))
    if found:
        facts["routes"] = found["routes"]
        facts["web"] = found["web"]
    _add_calls(path, facts, mod)


def _add_calls(path: str, facts: dict, mod) -> None:
    from tenantlint.extract.python.calls import extract_calls, program_shape

    program = _part(path, facts, "call analysis", lambda: extract_calls(mod))
    if program:
        facts["program"] = {**program, "shape": program_shape(program)}


def _part(path: str, facts: dict, what: str, run):
    """One part of a file's facts; a failure is an error entry and the other parts stay."""
    try:
        return run()
    except RecursionError:
        facts["errors"].append(error(path, 0, f"{what} gave up: the code nests too deeply; "
                                              "what this file calls is not followed", "limit"))
    except Exception as exc:  # noqa: BLE001 - one part of a file's facts: keep the rest
        facts["errors"].append(error(path, 0, f"internal error in {what}: {type(exc).__name__}: {exc}", "internal"))
    return None


def add_program_facts(path: str, data: bytes, config: Config, facts: dict, tree=None) -> None:
    """Only the function facts of a Python file that holds no query, model or route (``tree``:
    its ``ast``, when already parsed): a service layer between a handler and the data layer
    is still part of every path. A give-up is an error entry, as for any file."""
    if not path.endswith(".py") or b"def " not in data:
        return
    from tenantlint.extract.web import parse_module
    from tenantlint.extract.web.names import Module

    try:
        mod = Module(path, tree, config, data.decode("utf-8", "replace")) if tree is not None else (
            parse_module(path, data, config))
    except (RecursionError, MemoryError):
        mod = None
    if mod is not None:
        _add_calls(path, facts, mod)


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Stop one file's analysis after ``seconds`` (SIGALRM: main thread of a process only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise _FileTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _decode_sql(data: bytes) -> bytes:
    """No byte-order mark, and every line break a LF: statements are located by counting LFs,
    and a file saved with CR-only line endings would be one long first line."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    data.decode("utf-8")  # raises UnicodeDecodeError for the caller to report
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in data else data


def _failed(path: str, language: str, message: str, kind: str) -> dict:
    facts = new_file_facts(path, language)
    facts["errors"].append(error(path, 0, message, kind))
    return facts
