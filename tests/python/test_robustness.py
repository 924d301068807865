"""No input crashes extraction: syntax errors, odd encodings, deep nesting, huge files."""

from __future__ import annotations

import json

import pytest

from tenantlint.config import Config
from tenantlint.extract.python import extract_python

CONFIG = Config(tenant_columns=("org_id",))


def test_syntax_error_is_a_parse_error_with_its_line():
    facts = extract_python("bad.py", b"x = 1\n\ny = = 2\nz = 3\n", CONFIG)
    assert facts["errors"] == [{"path": "bad.py", "line": 3, "kind": "parse", "whole_file": True,
                                "message": facts["errors"][0]["message"]}]
    assert facts["errors"][0]["message"].startswith("Python does not parse")
    assert facts["queries"] == [] and facts["tables"] == []


@pytest.mark.parametrize("source", [
    b"",
    b"\n\n",
    b"# -*- coding: latin-1 -*-\ns = '\xe9'\n",
    b"\xef\xbb\xbfx = 1\n",
    b"x = 1\r\ny = Contact.objects.all()\r\n",
    b"async def f():\n    async for x in Contact.objects.all():\n        pass\n",
    b"match x:\n    case {'a': Contact.objects.all()}:\n        pass\n",
    b"lambda: Contact.objects.filter(org_id=1)\n",
    b"Contact.objects.filter(**{1: 2})(3)[4].x\n",
    b"f(*Contact.objects.all(), **Contact.objects.all())\n",
    b"cursor.execute(f'{a:{b}}')\n",
    b"cursor.execute('%(a)s %(b' % d)\n",
    b"cursor.execute('{a'.format(1))\n",
    b"class A(B, metaclass=M):\n    queryset = x.objects\n    model = 3\n",
    b"def f():\n    sql = sql + 'x'\n    cursor.execute(sql)\n",
    b"def f():\n    q = q | q\n    M.objects.filter(q)\n",
    b"select(*[])\nselect()\nsession.get()\nsession.query()\n",
])
def test_odd_but_valid_python(source):
    facts = extract_python("odd.py", source, CONFIG)
    json.dumps(facts)
    assert all(e["kind"] != "parse" for e in facts["errors"])


def test_not_decodable():
    facts = extract_python("enc.py", b"# -*- coding: utf-8 -*-\nx = '\xff\xfe'\n", CONFIG)
    assert facts["errors"] and facts["errors"][0]["kind"] in ("read", "parse")


def test_deep_nesting_is_an_error_not_a_crash():
    source = b"x = " + b"(" * 3000 + b"1" + b")" * 3000 + b"\n"
    facts = extract_python("deep.py", source, CONFIG)
    assert facts["errors"] and facts["errors"][0]["kind"] in ("limit", "parse")


def test_long_concatenation_is_analysed():
    source = b"x = (\n" + b" +\n".join([b"    'SELECT id '"] * 1000) + b" + 'FROM t')\ncursor.execute(x)\n"
    facts = extract_python("chain.py", source, CONFIG)
    assert facts["queries"] == [] and len(facts["errors"]) == 1  # SELECT id SELECT id ... is no SQL
    assert facts["errors"][0]["line"] == 1002


@pytest.mark.parametrize("source", [
    b"x = " + b" + ".join([b"a"] * 5000) + b"\n",
    b"x = (\n" + b" +\n".join([b"a"] * 5000) + b")\n",
    b"x = " + b".".join([b"a"] * 5000) + b"\n",
    b"x = a" + b"()" * 5000 + b"\n",
    b"x = " + b"not " * 5000 + b"a\n",
])
def test_trees_too_deep_for_libcst_are_refused_quickly(source):
    facts = extract_python("deep.py", source, CONFIG)
    assert [e["kind"] for e in facts["errors"]] == ["limit"]


def test_brackets_in_strings_are_not_nesting():
    source = b"s = '" + b"(" * 500 + b"'\ncursor.execute('SELECT 1 FROM t')\n"
    facts = extract_python("strings.py", source, CONFIG)
    assert facts["errors"] == [] and len(facts["queries"]) == 1


def test_pure_and_repeatable():
    source = b"def f(request):\n    return Contact.objects.filter(name=request.GET['q'])\n"
    first = extract_python("a.py", source, CONFIG)
    second = extract_python("a.py", source, CONFIG)
    assert first == second
    assert first["queries"][0]["refs"][0]["scope"] == "none"


def test_large_file_is_linear_enough():
    body = "".join(
        f"def view_{i}(request, pk):\n    return Contact.objects.filter(org_id=request.org.id).get(pk=pk)\n\n"
        for i in range(1500))
    facts = extract_python("big.py", body.encode(), CONFIG)
    assert len(facts["queries"]) == 1500
    assert facts["queries"][-1]["line"] == 1499 * 3 + 2
