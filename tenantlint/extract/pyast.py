"""CPython's ``ast`` tree of a Python file, parsed once for every extractor that reads it.

Statement positions (:mod:`tenantlint.extract.python.positions`), the guard against
pathological input and the web facts (:mod:`tenantlint.extract.web`) each need the tree;
a large module's parse costs a twentieth of a second each time.

>>> parse(b"x = 1\\n") is parse(b"x = 1\\n")
True
"""

from __future__ import annotations

import ast
import functools
import warnings


@functools.lru_cache(maxsize=1)
def parse(source: bytes) -> ast.Module:
    """The tree of ``source``; the last file's is kept. Raises as ``ast.parse`` does;
    its warnings (invalid escape sequences) are not ours to print. Readers must not
    change the tree."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(source)
