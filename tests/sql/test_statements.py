"""Statement splitting and placeholder normalisation keep every statement at its own line."""

from tenantlint.extract.sql.statements import normalize_placeholders, statements


def test_lines_survive_dollar_parameters_and_comments():
    sql = "-- head\nSELECT 1 FROM t WHERE a = $1\n  AND b = $1;\n\n/* c */ DELETE FROM t;\nSELECT 2;"
    assert [(s.line, s.expression.key) for s in statements(sql, "postgres")] == [
        (2, "select"), (5, "delete"), (6, "select")]


def test_placeholders_are_rewritten_outside_quotes_only():
    sql = "SELECT '%s', \"%(x)s\" FROM t WHERE a = %s AND b = %(name)s -- %s"
    out = normalize_placeholders(sql)
    assert len(out) == len(sql)
    assert out == "SELECT '%s', \"%(x)s\" FROM t WHERE a = ?  AND b = :p       -- %s"


def test_bad_statement_does_not_hide_the_next_one():
    found = list(statements("SELECT FROM WHERE;\nSELECT * FROM t;", "mysql"))
    assert found[0].expression is None and found[0].line == 1
    assert found[1].expression is not None and found[1].line == 2


def test_unterminated_quote_falls_back_to_line_split():
    found = list(statements("SELECT * FROM t;\nSELECT 'oops FROM u;\nSELECT * FROM v;\n", "postgres"))
    assert [(s.line, s.expression is not None) for s in found] == [(1, True), (2, False), (3, True)]


def test_into_outfile_is_cut_and_marked_as_export():
    [stmt] = statements("SELECT * FROM t INTO OUTFILE '/tmp/x' FIELDS TERMINATED BY ','", "mysql")
    assert stmt.export and stmt.expression.key == "select"


def test_a_file_that_does_not_tokenize_keeps_every_later_statement_at_its_line():
    """Blanks after a `;` once shifted every later statement of such a file (wrong line, text)."""
    found = statements("SELECT 1;  \nSELECT 'x;\nSELECT * FROM notes WHERE x = 1;", "postgres")
    assert [(s.line, s.text, s.error is None) for s in found] == [
        (1, "SELECT 1", True), (2, "SELECT 'x;", False), (3, "SELECT * FROM notes WHERE x = 1", True)]


def test_a_large_text_is_split_in_pieces_with_the_same_statements_and_lines(monkeypatch):
    """Issue 17.5: a dump is analysed piece by piece (bounded memory); cut points never fall
    inside quotes, comments or dollar-quoted bodies, and every statement keeps its line."""
    from tenantlint.extract.sql import statements as module

    block = (
        "INSERT INTO notes (id, practice_id, body) VALUES (1, 2, 'a;\nb');\n"
        "-- a comment;\n"
        "/* a block;\n comment */ SELECT * FROM notes WHERE practice_id = 1;\n"
        "CREATE FUNCTION f() RETURNS int AS $body$ BEGIN\n  PERFORM 1;\n  RETURN 1;\nEND $body$ LANGUAGE plpgsql;\n"
        "DO $$ BEGIN\n  DELETE FROM notes;\nEND $$;\n"
        "SELECT \"odd;\nname\" FROM notes; SELECT 2;\n"
        "UPDATE SET broken;\n"
    )
    sql = block * 40

    def shape(found):
        return [(s.line, s.column, s.end_line, s.text, s.expression.key if s.expression else s.error) for s in found]

    whole = shape(module._statements(sql, "postgres"))
    monkeypatch.setattr(module, "PIECE_CHARS", 500)
    assert len(list(module._pieces(sql, 500))) > 10
    assert shape(module.statements(sql, "postgres")) == whole
