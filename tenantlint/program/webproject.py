"""The web facts of every file, indexed: handlers, aliases, groups, mounts, settings.

Per-file facts (:mod:`tenantlint.extract.web`) name handlers, url lists, blueprints and routers by
qualified name as the importing file wrote it; files are named from the scanned folder.
Lookups therefore match on dotted suffixes (``crm.views.export`` finds
``src.crm.views.export``), and prefixes compose along mounts (``include()``,
``register_blueprint``, ``include_router``).
"""

from __future__ import annotations

import re

from tenantlint.extract.web.auth import mixin_markers
from tenantlint.extract.web.handlers import INHERITED_ACTIONS
from tenantlint.extract.web.names import module_name

# Framework base classes: known, and setting no authentication of their own.
FRAMEWORK_BASES = {
    "object", "View", "TemplateView", "RedirectView", "ListView", "DetailView", "CreateView", "UpdateView",
    "DeleteView", "FormView", "APIView", "GenericAPIView", "ViewSet", "GenericViewSet", "ModelViewSet",
    "ReadOnlyModelViewSet", "ViewSetMixin", "ListModelMixin", "CreateModelMixin", "RetrieveModelMixin",
    "UpdateModelMixin", "DestroyModelMixin", "MethodView", "Resource", "HTTPEndpoint", "SingleObjectMixin",
    "MultipleObjectMixin", "ContextMixin", "TemplateResponseMixin", "FormMixin", "ModelFormMixin",
    "SingleObjectTemplateResponseMixin", "MultipleObjectTemplateResponseMixin", "BaseListView", "BaseDetailView",
    "BaseCreateView", "BaseUpdateView", "BaseDeleteView", "BaseFormView", "ProcessFormView", "DeletionMixin",
    "SuccessMessageMixin", "Generic", "AccessMixin", *INHERITED_ACTIONS,
}


class Project:
    """Handlers, groups, mounts and settings of all files, looked up by qualified name."""

    def __init__(self, files: list[dict]):
        self.handlers: dict[str, dict] = {}
        self.aliases: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.mounts: dict[str, list] = {}
        self.settings: dict = {}
        self.registrations: list[dict] = []
        for facts in files:
            web = facts.get("web") or {}
            module = module_name(facts.get("path") or "")
            for h in web.get("handlers", []):
                self.handlers.setdefault(h["name"], {**h, "file": facts.get("path"), "module": module})
            for a in web.get("aliases", []):
                self.aliases.setdefault(a["name"], a)
            for g in web.get("groups", []):
                entry = self.groups.setdefault(g["name"], {"prefix": "", "auth": []})
                entry["prefix"] = entry["prefix"] or g.get("prefix") or ""
                entry["auth"] = entry["auth"] + list(g.get("auth", []))
            for mnt in web.get("mounts", []):
                self.mounts.setdefault(mnt["group"], []).append(mnt)
            for key, value in (web.get("settings") or {}).items():
                self.settings.setdefault(key, value)
            self.registrations += [dict(r) for r in facts.get("routes", [])]
        self.members: dict[str, list[dict]] = {}  # class name -> its method facts
        for name, h in self.handlers.items():
            if h.get("kind") == "method":
                self.members.setdefault(name.rpartition(".")[0], []).append(h)
        self._suffixes: dict[str, list[str]] = {}
        for name in self.handlers:
            parts = name.split(".")
            for i in range(len(parts)):
                self._suffixes.setdefault(".".join(parts[i:]), []).append(name)

    def handler(self, ref: str | None) -> dict | None:
        """The handler a qualified reference names; imports are written relative to some
        source root, so ``crm.views.export`` also finds ``src.crm.views.export``."""
        if not ref:
            return None
        if ref in self.handlers:
            return self.handlers[ref]
        found = self._suffixes.get(ref) or []
        if len(found) == 1:
            return self.handlers[found[0]]
        tail = ".".join(ref.split(".")[-2:])
        found = self._suffixes.get(tail) or []
        return self.handlers[found[0]] if len(found) == 1 else None

    def group_chain(self, group: str | None) -> tuple[str, list[str]]:
        """(URL prefix, auth markers) a group's routes get from the group and every mount above."""
        prefix, marks, seen = "", [], set()
        while group and group not in seen:
            seen.add(group)
            info = by_suffix(self.groups, group) or {}
            marks += info.get("auth", [])
            mount = _first(by_suffix(self.mounts, group))
            own = info.get("prefix", "")
            if mount is not None:
                own = mount.get("prefix") or own if mount.get("replace") else join(mount.get("prefix", ""), own)
                marks += mount.get("auth", [])
                group = mount.get("parent")
            else:
                group = None
            prefix = join(own, prefix)
        return prefix, marks

    def class_chain(self, fact: dict, depth: int = 0):
        """The class and its project base classes, nearest first; unresolved bases as str."""
        yield fact
        if depth > 10:
            return
        for base in fact.get("bases", []):
            found = self.handler(base)
            if found is not None and found.get("kind") == "class":
                yield from self.class_chain(found, depth + 1)
            elif base.rsplit(".", 1)[-1] not in FRAMEWORK_BASES and not mixin_markers([base]):
                yield base


def by_suffix(table: dict, name: str):
    if name in table:
        return table[name]
    for key, value in table.items():
        if key.endswith("." + name) or name.endswith("." + key):
            return value
    return None


def _first(items):
    return sorted(items, key=lambda m: (m.get("parent") or "", m.get("prefix") or ""))[0] if items else None


def join(prefix: str, path: str) -> str:
    prefix, path = (prefix or "").rstrip("$"), (path or "").lstrip("^")
    if not prefix:
        return path
    if not path:
        return prefix
    if prefix.endswith("/") and path.startswith("/"):
        return prefix + path[1:]
    if not prefix.endswith("/") and not path.startswith("/"):
        return prefix + "/" + path
    return prefix + path


def display(path: str) -> str:
    """URLs as people write them: a leading ``/``, no regex anchors or escapes."""
    path = re.sub(r"\\(.)", r"\1", (path or "").replace("^", "").replace("$", ""))
    return path if path.startswith("/") else "/" + path
