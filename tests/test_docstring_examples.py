"""The runnable examples in the modules' docstrings stay true (one was left behind by a
sqlglot upgrade unnoticed while nothing ran them)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import tenantlint

MODULES = sorted(m.name for m in pkgutil.walk_packages(tenantlint.__path__, "tenantlint.")
                 if not m.name.endswith(".__main__"))  # `python -m tenantlint` runs on import


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} fail"
