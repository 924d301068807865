"""Who must be logged in to reach a route: markers, permission classes, project defaults.

In order of strength: markers on the registration (a wrapper in ``urls.py``, a router's
dependencies), on the handler and its project base classes, on the groups it is mounted in;
then DRF permission classes (the action's, the class's, the nearest base's); then the
project default (``DEFAULT_PERMISSION_CLASSES``, a login-required middleware). What we
cannot see (a base class outside the scan, a permission list built by a function, a
``get_permissions`` override) counts as protecting: a guess must not become a finding.
"""

from __future__ import annotations

from tenantlint.extract.web.auth import dependency_word
from tenantlint.extract.web.handlers import HTTP_METHODS, VIEWSET_ACTIONS

VERBS = {*HTTP_METHODS, *VIEWSET_ACTIONS}


def function_auth(base: dict, handler: dict, project, methods: list, outer: tuple = ()) -> tuple[bool, list, list]:
    """(authenticated, markers, why-default) of a function view."""
    marks = [*base["auth"], *(m for m in handler.get("auth", []) if m not in outer)]
    public = [*base["public"], *handler.get("public", [])]
    default, why = _default(project, handler.get("drf") or base.get("framework") == "drf",
                            base.get("framework") in ("django", "drf", "ninja", None), methods)
    authenticated = bool(marks) or (default and not public)
    return authenticated, marks, [why] if authenticated and not marks and why else []


def class_auth(base: dict, classes: list[dict], unseen: list[str], drf: bool, methods: list,
               method: dict | None, project) -> tuple[bool, list, list]:
    """(authenticated, markers, why-default) of a class-based view or one of its actions."""
    marks = [*base["auth"], *(m for c in classes for m in c.get("auth", []))]
    public = [*base["public"], *(p for c in classes for p in c.get("public", []))]
    if method is not None:
        marks += method.get("auth", [])
        public += method.get("public", [])
    else:
        marks += _handler_markers(classes, project)
    perms = _permission_classes(classes, method)
    if any(c.get("get_permissions") for c in classes):
        marks.append("get_permissions()")
    elif perms is not None:
        if _permits(perms, methods):
            marks.append("permission_classes: " + ", ".join(perms.get("names", [])))
        else:
            public.append("permission_classes: " + (", ".join(perms.get("names", [])) or "[]"))
    if unseen and perms is None:
        marks += [f"base class {b.rsplit('.', 1)[-1]} (not analysed)" for b in unseen]
    default, why = (False, "") if perms is not None else _default(project, drf, not drf, methods)
    authenticated = bool(marks) or (default and not public)
    return authenticated, marks, [why] if authenticated and not marks and why else []


def _handler_markers(classes: list[dict], project) -> list[str]:
    """Markers on the methods that answer requests: a decorated ``dispatch`` covers them all;
    otherwise every ``get``/``post``/... the class defines must carry one."""
    members = [m for c in classes for m in project.members.get(c["name"], [])]
    dispatch = [m for m in members if m["name"].endswith(".dispatch") and m.get("auth")]
    if dispatch:
        return list(dispatch[0]["auth"])
    verbs = [m for m in members if m["name"].rsplit(".", 1)[-1] in VERBS]
    if verbs and all(m.get("auth") for m in verbs):
        return sorted({a for m in verbs for a in m["auth"]})
    return []


def _default(project, drf: bool, django: bool, methods: list) -> tuple[bool, str]:
    """The project's default for a view with no marker: (protected, why)."""
    if drf:
        perms = project.settings.get("drf_default_permissions")
        if perms is None:
            return False, ""
        return _permits(perms, methods), "DEFAULT_PERMISSION_CLASSES: " + ", ".join(perms.get("names", []))
    if django and project.settings.get("login_required_middleware"):
        return True, project.settings["login_required_middleware"]
    return False, ""


def _permits(verdict: dict, methods: list) -> bool:
    """A permission verdict requires authentication for these methods (reads may be open)."""
    if not verdict.get("auth"):
        return False
    reads = not methods or any(m in ("GET", "HEAD", "OPTIONS") for m in methods)
    return not (verdict.get("read_public") and reads)


def _permission_classes(classes: list[dict], method: dict | None) -> dict | None:
    if method is not None and method.get("action", {}).get("permission_classes"):
        return method["action"]["permission_classes"]
    for c in classes:
        if c.get("permission_classes") is not None:
            return c["permission_classes"]
    return None


def nested_dependency_auth(graph, handler: str | None, depth: int = 3) -> str | None:
    """A FastAPI dependency of the handler that itself depends on the caller's identity
    (``flow = Depends(get_flow)`` where ``get_flow(user=Depends(current_user))``): the
    route is authenticated through it. Returns a marker naming the chain, or None."""
    found = graph.find(handler)
    if found not in graph.functions:
        return None
    return _identity_dependency(graph, found, depth, [])


def _identity_dependency(graph, name: str, depth: int, chain: list[str]) -> str | None:
    for target in (graph.functions[name].get("deps") or {}).values():
        dep = graph.resolve_callable(target)
        label = target.rsplit(".", 1)[-1]
        if chain and dependency_word(label):
            return " → ".join(f"Depends({c})" for c in [*chain, label])
        if dep and dep not in chain and depth > 0:
            marker = _identity_dependency(graph, dep, depth - 1, [*chain, label])
            if marker:
                return marker
    return None
