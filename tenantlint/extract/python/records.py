"""A database access under construction: one Record becomes one Query fact.

A queryset or statement can be created in one place and refined later (``qs = qs.filter(...)``,
``stmt = stmt.where(...)``, ``session.execute(stmt)``). The record made where the chain
starts collects everything applied to it in the same function, and is reported once, at
its creation, with the strongest scope any derivation gave it (flow-insensitive: a
queryset scoped on some path before use counts as scoped, which favours precision).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import re

import libcst as cst

SCOPE_RANK = {"none": 0, "helper": 1, "anchor": 2, "join": 3, "direct": 4}


def snake(name: str) -> str:
    """``ContactNote`` -> ``contact_note`` (also Flask-SQLAlchemy's default table name)."""
    return re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name).lower()


def stronger(a: tuple[str, str] | None, b: tuple[str, str] | None) -> tuple[str, str] | None:
    if a is None:
        return b
    if b is None:
        return a
    return b if SCOPE_RANK[b[0]] > SCOPE_RANK[a[0]] else a


@dataclass
class Record:
    origin: str  # "django" | "sqlalchemy"
    start: cst.CSTNode  # first token of the chain (positions)
    end: cst.CSTNode  # outermost node of the chain as written at creation
    function: str | None
    path: tuple = ()  # statements holding the chain, outermost first (positions.locate)
    entities: dict = field(default_factory=dict)  # key -> {"model": str|None, "table": str|None}
    scope: tuple[str, str] | None = None  # applies to every entity (Django lookups, helpers)
    entity_scope: dict = field(default_factory=dict)  # key -> (scope, reason) (SQLAlchemy predicates)
    edges: set = field(default_factory=set)  # {(key_a, key_b)}: joined/equated entities
    forced: tuple[str, str] | None = None  # context verdict (subquery, scoping helper)
    uses: set = field(default_factory=set)
    kind: str = "select"
    lookup: bool = False
    lookups: list = field(default_factory=list)  # Django CNF: [[lookup path, ...], ...]
    discard: bool = False
    export: bool = False
    code_node: cst.CSTNode | None = None
    last_joined: str | None = None  # SQLAlchemy: the entity filter_by() applies to
    rel_joins: set = field(default_factory=set)  # SQLAlchemy join(Owner.rel): (owner key, rel name)
    parents: list = field(default_factory=list)  # Django fk=<object> lookups, for the linker
    manager: str | None = None  # Django: the manager attribute the chain starts from (objects, all_objects)
    manager_unsure: bool = False  # Django: a manager name only the model's declaration can confirm
    touched: bool = False  # a method was applied (a bare ``Model.objects`` passed along is not judged)
    disabled: str | None = None  # runs where a runtime scoping library is switched off (scopes_disabled())
    tenant_loop: str | None = None  # runs in schema_context() inside a loop over tenants
    query_api: bool = False  # SQLAlchemy: built by session.query() / M.query (goes through the Query class)

    def add_entity(self, model: str | None, table: str | None = None) -> str:
        key = model or f"table:{table}"
        self.entities.setdefault(key, {"model": model, "table": table})
        return key

    def scoped_by(self, scope: str, reason: str) -> None:
        self.scope = stronger(self.scope, (scope, reason))

    def entity_scoped_by(self, key: str, scope: str, reason: str) -> None:
        self.entity_scope[key] = stronger(self.entity_scope.get(key), (scope, reason))

    def use(self, use: str, kind: str | None = None) -> None:
        self.uses.add(use)
        if kind and (self.kind == "select" or kind in ("update", "delete")):
            self.kind = kind

    def verdicts(self) -> dict[str, tuple[str, str]]:
        """Scope per entity: its own predicates, then joins to scoped entities, then the
        record-wide scope, then the context's."""
        out = dict(self.entity_scope)
        for owner, rel in self.rel_joins:  # join(Project.org) reaches the entity named like "org"
            for key, entity in self.entities.items():
                name = snake(entity["model"] or "")
                if name and key != owner and rel in (name, name + "s", name + "es"):
                    self.edges.add((owner, key))
        changed = True
        while changed:
            changed = False
            for a, b in self.edges:
                for x, y in ((a, b), (b, a)):
                    if x in out and y in self.entities and y not in out:
                        out[y] = ("join", f"joined to {self.entities.get(x, {}).get('model') or x}, which is scoped")
                        changed = True
        result = {}
        for key in self.entities:
            verdict = out.get(key)
            verdict = stronger(verdict, self.scope)
            if verdict is None and self.forced is not None:
                verdict = self.forced
            result[key] = verdict or ("none", "no tenant filter")
        return result


@dataclass
class QS:
    """An expression's value when it is a queryset/statement tracked by a Record."""

    record: Record | None  # None: scoped by construction (related manager), nothing to report
    terminal: bool = False  # an instance, a count...: no longer a queryset
