"""The OPA engine: ask an OPA server that holds the policies, over its v1 Data API.

For organisations that distribute policy as OPA bundles: the server runs
``opa run --server policies/`` (or loads a bundle) and tenantlint POSTs the input
document to ``/v1/data/tenantlint/rules``. The server holds no tenantlint config, so the
host sends it in the input as ``input.config``. A server that is down, slow or answers
with an error is an EngineError (exit 2), never an empty result.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tenantlint.engine.results import check_violations
from tenantlint.errors import ConfigError, EngineError

DEFAULT_TIMEOUT = 60.0
RULES_PATH = ("tenantlint", "rules")


def evaluate(url: str, input_doc: dict, timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
    """Violations of every ``tenantlint.rules.*`` package loaded on the server at ``url``."""
    try:
        import requests
        from opa_client.opa import OpaClient
    except ImportError as exc:
        raise EngineError("the OPA engine needs opa-python-client: pip install 'tenantlint[opa]'") from exc
    host, port, ssl = _parse_url(url)
    client = OpaClient(host=host, port=port, ssl=ssl, timeout=timeout, retries=1)
    try:
        answer = client.query_rule(input_doc, *RULES_PATH)
    except requests.Timeout as exc:
        raise EngineError(f"the OPA server at {url} did not answer within {timeout:g} s") from exc
    except requests.ConnectionError as exc:
        raise EngineError(f"cannot reach the OPA server at {url}: {_reason(exc)}") from exc
    except requests.HTTPError as exc:
        raise EngineError(f"the OPA server at {url} answered {_http_error(exc.response)}") from exc
    except (requests.RequestException, ValueError) as exc:
        raise EngineError(f"the OPA server at {url} gave no usable answer: {exc}") from exc
    finally:
        client.close_connection()
    if not isinstance(answer, dict) or "result" not in answer:
        raise EngineError(f"the OPA server at {url} has no tenantlint policies (data.tenantlint.rules is "
                          "undefined): start it with `opa run --server <policy folders>`")
    return collect(answer["result"], f"{url} data.{'.'.join(RULES_PATH)}")


def collect(tree: Any, where: str) -> list[dict]:
    """The ``violations`` of every package in ``tree`` (nested packages included)."""
    if not isinstance(tree, dict):
        return []
    violations: list[dict] = []
    for key, value in sorted(tree.items()):
        if key == "violations":
            violations += check_violations(value, where)
        elif isinstance(value, dict):
            violations += collect(value, f"{where}.{key}")
    return violations


def _parse_url(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"OPA URL {url!r} must be http(s)://host[:port] with no path")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ConfigError(f"OPA URL {url!r}: {exc}") from exc
    return parts.hostname, port, parts.scheme == "https"


def _http_error(response) -> str:
    if response is None:
        return "with an error"
    try:
        body = response.json()
        detail = body.get("message") or body.get("code") or ""
        errors = body.get("errors") or []
        locations = [
            f"{e['location']['file']}:{e['location']['row']}: {e.get('message', '')}"
            for e in errors if isinstance(e, dict) and isinstance(e.get("location"), dict)
        ]
        if locations:
            detail = "; ".join(locations)
    except (ValueError, AttributeError, KeyError, TypeError):
        detail = response.text[:200]
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else "")


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused"
    return text.splitlines()[0][:200] if text else type(exc).__name__
