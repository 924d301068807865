"""The OPA engine: ask an OPA server that holds the policies, over its v1 Data API.

For organisations that distribute policy as OPA bundles: the server runs
``opa run --server policies/`` (or loads a bundle) and tenantlint POSTs the input
document to ``/v1/data/tenantlint/rules``. The server holds no tenantlint config, so the
host sends it in the input as ``input.config``. A server that is down, slow or answers
with an error is an EngineError (exit 2), never an empty result; so is an answer of any
other shape than the documented one (an object of rule packages, each enabled rule's
package with a ``violations`` array): a gate must fail closed, not pass on ``{}``. The
whole request has one deadline (connect, send, the answer's last byte), so a server that
trickles its answer cannot hold a scan forever.
"""

from __future__ import annotations

import threading
from typing import Any, Sequence
from urllib.parse import urlsplit

from tenantlint.engine.results import check_violations
from tenantlint.errors import ConfigError, EngineError

DEFAULT_TIMEOUT = 60.0
RULES_PATH = ("tenantlint", "rules")


def evaluate(url: str, input_doc: dict, timeout: float = DEFAULT_TIMEOUT, expected: Sequence[str] = ()) -> list[dict]:
    """Violations of every ``tenantlint.rules.*`` package loaded on the server at ``url``.
    ``expected``: rule packages (``missing_tenant_filter``) the answer must hold."""
    try:
        import requests
        from opa_client.opa import OpaClient
    except ImportError as exc:
        raise EngineError("the OPA engine needs opa-python-client: pip install 'tenantlint[opa]'") from exc
    host, port, ssl = _parse_url(url)
    client = OpaClient(host=host, port=port, ssl=ssl, timeout=timeout, retries=1)
    try:
        answer = _within(timeout, client, input_doc)
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
    _check_shape(answer["result"], url, expected)
    return collect(answer["result"], f"{url} data.{'.'.join(RULES_PATH)}")


def _within(timeout: float, client, input_doc: dict) -> Any:
    """``client.query_rule`` with one deadline for the whole exchange. requests' own timeout
    is per socket read: a byte every half second would renew it forever. On the deadline
    the connection is closed under the reading thread, which then ends."""
    import requests

    box: dict[str, Any] = {}

    def ask() -> None:
        try:
            box["answer"] = client.query_rule(input_doc, *RULES_PATH)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=ask, name="tenantlint-opa", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        client.close_connection()
        raise requests.Timeout(f"no complete answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("answer")


def _check_shape(result: Any, url: str, expected: Sequence[str]) -> None:
    """The documented shape, or an EngineError saying what was wrong (fail closed)."""
    where = f"the OPA server at {url}"
    if not isinstance(result, dict):
        raise EngineError(f"{where} answered data.tenantlint.rules = {_kind(result)}, not an object of rule "
                          "packages: is it running tenantlint's policies?")
    if not _has_violations(result):
        raise EngineError(f"{where} answered data.tenantlint.rules with no rule package holding `violations`: "
                          "0 findings would be a pass it never judged")
    missing = [p for p in expected if not isinstance(result.get(p), dict) or "violations" not in result[p]]
    if missing:
        raise EngineError(f"{where} does not evaluate {', '.join(f'data.tenantlint.rules.{p}' for p in missing)}: "
                          "load those policies on the server, or disable their rules in the config")


def _has_violations(tree: Any) -> bool:
    return isinstance(tree, dict) and ("violations" in tree or any(_has_violations(v) for v in tree.values()))


def _kind(value: Any) -> str:
    return "null" if value is None else {list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


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
