"""Tenant filters a library adds at run time, declared once for a whole model.

SQLAlchemy's ``with_loader_criteria(Note, lambda cls: cls.practice_id == current_practice())``,
usually set on every statement by a ``do_orm_execute`` event listener, adds the tenant
filter to every ORM statement of ``Note`` (and, given a mixin, of every model built on it);
``text()`` and raw SQL get nothing. This module finds such declarations in one file; the
linker marks the ORM queries of those models scoped (scope ``runtime``).

>>> import libcst as cst
>>> from tenantlint.config import Config
>>> module = cst.parse_module(
...     "opts = with_loader_criteria(TenantMixin, lambda cls: cls.practice_id == tenant.get(),"
...     " include_aliases=True)\\n")
>>> [fact for _, fact in loader_criteria(module, Config(tenant_columns=("practice_id",)))]
[{'kind': 'sqlalchemy-criteria', 'model': 'TenantMixin', 'column': 'practice_id'}]
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from tenantlint.config import Config
from tenantlint.extract.python.tree import dotted

_CRITERIA = m.Call(func=m.Name("with_loader_criteria") | m.Attribute(attr=m.Name("with_loader_criteria")))


def loader_criteria(module: cst.Module, config: Config) -> list[tuple[cst.Call, dict]]:
    """(call, fact) for each ``with_loader_criteria(Model, <tenant comparison>)``."""
    out = []
    for call in m.findall(module, _CRITERIA):
        if len(call.args) < 2:
            continue
        model = dotted(call.args[0].value)
        column = _tenant_column(call.args[1].value, config)
        if model and column:
            out.append((call, {"kind": "sqlalchemy-criteria", "model": model.rsplit(".", 1)[-1], "column": column}))
    return out


def _tenant_column(criteria: cst.BaseExpression, config: Config) -> str | None:
    """The tenant column the criteria compare (``lambda cls: cls.practice_id == ...`` or
    ``Note.practice_id == ...``), if any."""
    body = criteria.body if isinstance(criteria, cst.Lambda) else criteria
    for comparison in m.findall(body, m.Comparison()):
        if not all(isinstance(c.operator, (cst.Equal, cst.In)) for c in comparison.comparisons):
            continue
        for side in (comparison.left, *(c.comparator for c in comparison.comparisons)):
            if isinstance(side, cst.Attribute) and config.is_tenant_column(side.attr.value):
                return side.attr.value
    return None
