"""Authentication markers: what makes a route require a logged-in caller.

Each check returns the markers it found as text (``login_required``,
``permission_classes: IsAuthenticated``, ``Depends(get_current_user)``) so that a report can
say why a route counts as protected. Explicit public markers (``AllowAny``,
``login_not_required``, ``permission_classes = []``) are returned separately: they override
a project default.
"""

from __future__ import annotations

import ast
import re

from tenantlint.extract.web.names import Module, callee, dotted, elements, keyword, last

# Words in a decorator's name that say it checks the caller (``login_required``,
# ``jwt_required``, ``tenant_admin_only``, ``require_login``, ``auth.login_required``).
_AUTH_WORDS = {"login", "logged", "auth", "authenticated", "authentication", "authorize", "authorized", "authorise",
               "authorised", "authorization", "jwt", "token", "permission", "permissions", "perm", "perms", "role",
               "roles", "staff", "superuser", "oauth", "oidc", "sso", "signed", "secure", "secured", "protected",
               "privileged", "member", "members", "membership", "admin", "apikey", "api_key",
               "credentials", "principal", "scopes", "identity", "verified"}
# Words that say it does something else (``csrf_exempt``, ``jwt_optional``, ``cache_page``).
_OTHER_WORDS = {"csrf", "exempt", "optional", "not", "no", "skip", "anonymous", "public", "cache", "log", "logging",
                "ratelimit", "throttle", "register", "display", "action", "setter", "getter", "property", "fixture",
                "mark", "patch", "override", "signal", "receiver", "task", "shared", "refresh"}
# ``*_required`` that is not about the caller.
_NOT_AUTH_REQUIRED = {"ajax_required", "https_required", "ssl_required", "json_required", "post_required",
                      "get_required", "params_required", "body_required", "fields_required"}
_HTTP_REQUIRE = re.compile(r"^require_(?:http_methods|GET|POST|PUT|PATCH|DELETE|HEAD|safe|https|ajax|json)$")
# Django class-based view mixins (django.contrib.auth, django-braces, guardian...).
_AUTH_MIXIN = re.compile(r"(?:LoginRequired|PermissionRequired|UserPassesTest|StaffuserRequired|SuperuserRequired|"
                         r"GroupRequired|MultiplePermissionsRequired|PermissionListMixin|Authenticated|"
                         r"Staff(?:Member)?Required|AdminRequired|Auth(?:entication|orization)?Required|"
                         r"RoleRequired|Permission)\w*Mixin$")
# DRF permission classes that let anonymous callers in (for reads, the *ReadOnly ones).
PUBLIC_PERMISSIONS = {"AllowAny"}
READ_PUBLIC_PERMISSIONS = {"IsAuthenticatedOrReadOnly", "DjangoModelPermissionsOrAnonReadOnly", "ReadOnly",
                           "IsAuthenticatedOrReadOnlyPermission"}
# Words in a FastAPI dependency's name that say it resolves the caller.
_DEPENDENCY_WORDS = re.compile(r"user|auth|token|login|jwt|perm|role|admin|api_?key|verify|credential|oauth|"
                               r"principal|identity|bearer|secur|guard|protect|require|current_(?:account|member|"
                               r"tenant|org|client)|session_user|signed", re.I)
_SECURITY_SCHEMES = {"OAuth2PasswordBearer", "OAuth2AuthorizationCodeBearer", "OAuth2", "HTTPBearer", "HTTPBasic",
                     "HTTPDigest", "APIKeyHeader", "APIKeyQuery", "APIKeyCookie", "OpenIdConnect", "SecurityScopes"}


def dependency_word(name: str) -> bool:
    """A dependency named for the caller's identity (``current_user``, ``verify_token``)."""
    return bool(_DEPENDENCY_WORDS.search(name))


def auth_name(name: str | None, config) -> bool:
    """Does a decorator (or wrapper) of this name require authentication?"""
    simple = last(name)
    if not simple or public_name(name):
        return False
    configured = getattr(config, "auth_decorators", ())
    if simple in {last(d) for d in configured} or (name or "") in configured:
        return True
    if _HTTP_REQUIRE.match(simple) or simple in _NOT_AUTH_REQUIRED:
        return False
    words = set(simple.lower().split("_"))
    if words & _OTHER_WORDS:
        return False
    return simple.endswith("_required") or simple.startswith(("require_", "requires_")) or bool(words & _AUTH_WORDS)


def public_name(name: str | None) -> bool:
    """``login_not_required``, ``public``, ``allow_anonymous``: open on purpose."""
    words = last(name).lower().split("_")
    return ("not" in words and "required" in words) or last(name).lower() in (
        "public", "public_view", "allow_anonymous", "anonymous_allowed", "no_auth", "skip_auth", "unauthenticated",
        "auth_exempt", "login_exempt")


def decorator_name(node: ast.AST) -> str:
    """``login_required`` for ``@login_required`` and ``@login_required(login_url=...)``;
    ``permission_required`` for ``@permission_required("x")``; ``cache_page(60)`` -> ``cache_page``."""
    while isinstance(node, ast.Call):
        node = node.func
    return dotted(node) or ""


def decorator_markers(decorators: list[ast.AST], mod: Module) -> tuple[list[str], list[str]]:
    """(auth markers, public markers) of a def's or class's decorators."""
    auth, public = [], []
    for node in decorators:
        name = decorator_name(node)
        simple = last(name)
        if simple == "method_decorator" and isinstance(node, ast.Call) and node.args:
            inner_auth, inner_public = decorator_markers(elements(node.args[0]), mod)
            auth += inner_auth
            public += inner_public
        elif simple == "permission_classes" and isinstance(node, ast.Call) and node.args:
            verdict = permission_verdict(node.args[0])
            (auth if verdict["auth"] else public).append(f"permission_classes: {', '.join(verdict['names']) or '[]'}")
        elif simple == "dependencies":
            continue
        elif public_name(name):
            public.append(name)
        elif auth_name(name, mod.config) or _require_call(node):
            auth.append(name)
    return auth, public


def _require_call(node: ast.AST) -> bool:
    """Flask-Principal ``@admin_permission.require(http_exception=403)``."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "require"


def permission_names(node: ast.AST | None) -> list[list[str]]:
    """``[IsAuthenticated, IsOwner]`` -> [["IsAuthenticated"], ["IsOwner"]]; ``A | B`` is one
    entry with both alternatives: any alternative that is public makes the entry public."""
    out = []
    for el in elements(node):
        out.append(_alternatives(el))
    return out


def _alternatives(node) -> list[str]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _alternatives(node.left) + _alternatives(node.right)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
        left, right = _alternatives(node.left), _alternatives(node.right)
        # A & B requires both: it is as strong as its strongest side.
        return left if not _public(left) else right
    if isinstance(node, ast.Call):
        node = node.func
    name = dotted(node)
    if name is None and isinstance(node, ast.Constant) and isinstance(node.value, str):
        name = node.value
    return [last(name) or "?"]


def _public(alternatives: list[str], reads: bool = True) -> bool:
    return any(a in PUBLIC_PERMISSIONS or (reads and a in READ_PUBLIC_PERMISSIONS) for a in alternatives)


def permission_verdict(node: ast.AST | None, literal: bool | None = None) -> dict:
    """Whether a DRF ``permission_classes`` value requires authentication: ``auth`` for
    writes, ``read_public`` when reads stay open (``IsAuthenticatedOrReadOnly``). A value
    that is not a literal list (a function call, a settings lookup) counts as requiring
    it: we cannot see it, and it is rarely written to open an endpoint."""
    if literal is None:
        literal = isinstance(node, (ast.List, ast.Tuple, ast.Set))
    entries = permission_names(node)
    names = [" | ".join(e) for e in entries]
    if not literal:
        return {"auth": True, "names": [ast.unparse(node) if node is not None else "?"], "read_public": False}
    return _verdict(entries, names)


def string_permissions(values: list[str]) -> dict:
    """Permission classes written as dotted strings (settings ``DEFAULT_PERMISSION_CLASSES``)."""
    entries = [[last(v)] for v in values]
    return _verdict(entries, [e[0] for e in entries])


def _verdict(entries: list[list[str]], names: list[str]) -> dict:
    writes = any(not _public(e, reads=False) for e in entries)
    reads = any(not _public(e, reads=True) for e in entries)
    return {"auth": writes, "names": names, "read_public": writes and not reads}


def mixin_markers(bases: list[str]) -> list[str]:
    return [b for b in bases if _AUTH_MIXIN.search(last(b))]


def dependency_markers(node: ast.AST | None, mod: Module) -> list[str]:
    """Markers of FastAPI dependencies: ``[Depends(verify_token), Security(scopes)]``."""
    out = []
    for el in elements(node):
        marker = _dependency(el, mod)
        if marker:
            out.append(marker)
    return out


def _dependency(node: ast.AST, mod: Module) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    kind = last(callee(node))
    if kind == "Security":
        return f"Security({_target_text(node)})"
    if kind != "Depends":
        return None
    target = node.args[0] if node.args else keyword(node, "dependency")
    if target is None:
        return None
    if isinstance(target, ast.Call):  # Depends(RoleChecker(["admin"])), Depends(requires("user"))
        name = callee(target) or ""
    else:
        name = dotted(target) or ""
    if _DEPENDENCY_WORDS.search(name) or auth_name(name, mod.config) or _security_scheme(name, mod):
        return f"Depends({name})"
    return None


def _target_text(call: ast.Call) -> str:
    target = call.args[0] if call.args else keyword(call, "dependency")
    return (dotted(target) or callee(target) or "") if target is not None else ""


def _security_scheme(name: str, mod: Module) -> bool:
    """``oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")`` and friends."""
    value = mod.bindings.get(name)
    return isinstance(value, ast.Call) and last(callee(value)) in _SECURITY_SCHEMES


def parameter_markers(func: ast.FunctionDef | ast.AsyncFunctionDef, mod: Module) -> list[str]:
    """FastAPI parameters that resolve the caller: ``user = Depends(current_user)``,
    ``Annotated[User, Depends(current_user)]`` and module aliases of those."""
    args = func.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    defaults = [None] * (len(args.posonlyargs) + len(args.args) - len(args.defaults)) + list(args.defaults)
    defaults += list(args.kw_defaults)
    out = []
    for param, default in zip(params, defaults):
        marker = _dependency(default, mod) if default is not None else None
        marker = marker or _annotation_marker(param.annotation, mod, 0)
        if marker:
            out.append(marker)
    return out


_ALIAS = re.compile(r"^(?:Current|Auth|Authenticated|LoggedIn|Active|Verified|Admin|Superuser)[A-Z]\w*$")
_DEP_ALIAS = re.compile(r"^(\w+?)Dep(?:endency)?$")


def _auth_alias(name: str) -> bool:
    """``CurrentUser``, ``AuthUser``, ``TokenDep``: not ``User`` (a model) or ``SessionDep``."""
    dep = _DEP_ALIAS.match(name)
    return bool(_ALIAS.match(name)) or bool(dep and _DEPENDENCY_WORDS.search(dep.group(1)))


def _annotation_marker(node: ast.AST | None, mod: Module, depth: int) -> str | None:
    if node is None or depth > 3:
        return None
    if isinstance(node, ast.Subscript) and last(dotted(node.value)) == "Annotated":
        for el in elements(node.slice)[1:]:
            marker = _dependency(el, mod)
            if marker:
                return marker
        return None
    name = dotted(node)
    if name and name in mod.bindings:
        return _annotation_marker(mod.bindings[name], mod, depth + 1)
    if name and name.split(".")[0] in mod.imports and _auth_alias(last(name)):
        # ``user: CurrentUser`` with the Annotated alias defined in another module.
        return f"Annotated dependency {name}"
    return None
