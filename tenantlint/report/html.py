"""``--format html``: one self-contained page for the people who sign off tenant isolation.

Security reviewers, auditors and a data protection officer read a web page, not terminal
output. The page needs no network (inline CSS and a few lines of inline JavaScript, no
CDN) and tells, in this order: what was scanned and found; for each tenant-owned table, how
many queries read or write it and how each is kept to one tenant (a bar per table); the
export routes and whether they are protected; the sensitive fields and whether they are
encrypted; every finding, riskiest first, with its code, the path from the entry point
and the rule's explanation. A rule filter works in the browser, without a server.
"""

from __future__ import annotations

import html
from collections import Counter

from tenantlint.report.terminal import printable
from tenantlint.scan import ScanResult

# How a reference is kept to one tenant, strongest first, and the colour of its bar.
SCOPES = {"direct": "#2e7d32", "join": "#558b2f", "anchor": "#689f38", "provenance": "#7cb342",
          "helper": "#9e9d24", "runtime": "#00838f", "rls": "#1565c0", "none": "#c62828"}
SCOPE_NAMES = {"direct": "tenant filter", "join": "join to a scoped table", "anchor": "the caller's own rows",
               "provenance": "ids from scoped rows", "helper": "guard or scoping helper",
               "runtime": "runtime library", "rls": "row-level security", "none": "not scoped"}
_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
_CONTEXT_RANK = {"request": 0, "alone": 1, "admin": 2, "background": 3, "command": 4, "startup": 5,
                 "migration": 6, "unreachable": 7}


def html_report(result: ScanResult, explanations: dict[str, str], sources) -> str:
    """The page for ``result``; ``explanations``: rule id -> its METADATA text; ``sources``:
    something with ``line(path, number)`` for code frames."""
    documents = result.documents or [result.document]
    findings = sorted(result.active, key=_risk)
    body = [
        _summary(result, documents, findings),
        _coverage(documents),
        _exports(documents),
        _sensitive(documents),
        _findings(findings, explanations, sources),
    ]
    return _PAGE.format(style=_STYLE, script=_SCRIPT, body="\n".join(body))


def _risk(finding: dict) -> tuple:
    return (_SEVERITY_RANK.get(finding["severity"], 3), _CONTEXT_RANK.get(finding.get("context") or "alone", 8),
            finding["rule"], finding["path"], finding["line"])


def _e(value) -> str:
    return html.escape(printable(str(value)))


def _summary(result: ScanResult, documents: list[dict], findings: list[dict]) -> str:
    summary = result.summary
    tables = sorted({name for d in documents for name, t in d.get("tables", {}).items() if t.get("tenant_owned")})
    queries = sum(len(d.get("queries", ())) for d in documents)
    by_rule = Counter((f["rule"], f["severity"]) for f in findings)
    by_context = Counter(f.get("context") or "alone" for f in findings)
    rows = "".join(f"<tr><td>{_e(rule)}</td><td class='sev {_e(sev)}'>{_e(sev)}</td><td>{n}</td></tr>"
                   for (rule, sev), n in sorted(by_rule.items(), key=lambda i: (_SEVERITY_RANK.get(i[0][1], 3), i[0][0])))
    contexts = ", ".join(f"{_e(c)}: {n}" for c, n in sorted(by_context.items(), key=lambda i: _CONTEXT_RANK.get(i[0], 9)))
    severities = summary["by_severity"]
    configs = ", ".join(_e(c) for c in summary.get("configs") or []) or "none (defaults)"
    return f"""<section id="summary"><h2>Summary</h2>
<ul class="facts">
<li><b id="count-files">{summary['files']}</b> files scanned, {summary['files_not_analysed']} not analysed</li>
<li><b id="count-queries">{queries}</b> queries and table accesses</li>
<li><b id="count-tables">{len(tables)}</b> tenant-owned tables (tenant columns: {_e(', '.join(summary['tenant_columns']))})</li>
<li><b id="count-findings">{summary['findings']}</b> findings: {severities['error']} error, {severities['warning']} warning, {severities['info']} info</li>
<li>by context: {contexts or 'none'}</li>
<li>config: {configs}</li>
</ul>
<table><thead><tr><th>rule</th><th>severity</th><th>findings</th></tr></thead><tbody>{rows}</tbody></table>
</section>"""


def _coverage(documents: list[dict]) -> str:
    counts: dict[str, Counter] = {}
    uses: dict[str, Counter] = {}
    for document in documents:
        for query in document.get("queries", ()):
            for ref in query.get("refs", ()):
                if not ref.get("tenant_owned") or not ref.get("table"):
                    continue
                scope = ref.get("scope") if ref.get("scope") in SCOPES else "none"
                counts.setdefault(ref["table"], Counter())[scope] += 1
                uses.setdefault(ref["table"], Counter())[ref.get("use") or "read"] += 1
    if not counts:
        return '<section id="coverage"><h2>Tenant-owned tables</h2><p>No query of a tenant-owned table.</p></section>'
    legend = "".join(f'<span class="key"><i style="background:{c}"></i>{_e(SCOPE_NAMES[s])}</span>'
                     for s, c in SCOPES.items())
    rows = []
    for table, scopes in sorted(counts.items(), key=lambda i: (-i[1]["none"], i[0])):
        total = sum(scopes.values())
        bar = "".join(f'<i style="width:{100 * n / total:.1f}%;background:{SCOPES[s]}" title="{_e(SCOPE_NAMES[s])}: {n}">'
                      f'</i>' for s, n in ((s, scopes[s]) for s in SCOPES) if n)
        detail = ", ".join(f"{_e(SCOPE_NAMES[s])} {scopes[s]}" for s in SCOPES if scopes[s])
        used = ", ".join(f"{n} {_e(u)}" for u, n in sorted(uses[table].items()))
        rows.append(f'<tr data-table="{_e(table)}"><td>{_e(table)}</td><td>{total} ({used})</td>'
                    f'<td class="unscoped">{scopes["none"]}</td><td><div class="bar">{bar}</div>'
                    f'<small>{detail}</small></td></tr>')
    return f"""<section id="coverage"><h2>Tenant-owned tables: how each access is kept to one tenant</h2>
<p class="legend">{legend}</p>
<table><thead><tr><th>table</th><th>accesses</th><th>not scoped</th><th>scoped by</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table></section>"""


def _exports(documents: list[dict]) -> str:
    routes = [r for d in documents for r in d.get("routes", ()) if r.get("export_shaped")]
    if not routes:
        return '<section id="exports"><h2>Export routes</h2><p>No export-shaped route.</p></section>'
    rows = "".join(
        f"<tr><td>{_e(','.join(r.get('methods') or []) or 'ANY')} {_e(r.get('path') or '(no URL route seen)')}</td>"
        f"<td>{_e(r.get('handler'))}</td><td>{_e(r.get('export_reason') or '')}</td>"
        f"<td class='{'ok' if r.get('authenticated') else 'bad'}'>"
        f"{'protected: ' + _e(', '.join(r.get('auth') or [])) if r.get('authenticated') else 'NOT protected'}</td>"
        f"<td>{_e(', '.join(r.get('sensitive_columns') or []))}</td></tr>"
        for r in sorted(routes, key=lambda r: (bool(r.get("authenticated")), r.get("path") or "")))
    return _section("exports", "Export routes", ("route", "handler", "why an export", "authentication",
                                                 "sensitive columns"), rows)


def _sensitive(documents: list[dict]) -> str:
    fields = [f for d in documents for f in d.get("fields", ()) if f.get("sensitive")]
    if not fields:
        return '<section id="sensitive"><h2>Sensitive fields</h2><p>No sensitive field declared.</p></section>'
    rows = "".join(
        f"<tr><td>{_e(f.get('table'))}.{_e(f.get('column_name') or f.get('name'))}</td><td>{_e(f.get('type') or '')}</td>"
        f"<td class='{'ok' if f.get('encrypted') else 'bad'}'>{'encrypted' if f.get('encrypted') else 'plain text'}</td>"
        f"<td>{_e(f.get('path'))}:{f.get('line')}</td></tr>"
        for f in sorted(fields, key=lambda f: (bool(f.get("encrypted")), f.get("table") or "")))
    return _section("sensitive", "Sensitive fields", ("column", "type", "stored", "declared at"), rows)


def _section(anchor: str, title: str, headers: tuple[str, ...], rows: str) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    return (f'<section id="{anchor}"><h2>{title}</h2>\n<table><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></section>")


def _findings(findings: list[dict], explanations: dict[str, str], sources) -> str:
    rules = sorted({f["rule"] for f in findings})
    options = "".join(f'<option value="{_e(r)}">{_e(r)}</option>' for r in rules)
    items = []
    for finding in findings:
        code = sources.line(finding["path"], finding["line"])
        frame = f"<pre class='code'>{finding['line']:>5} | {_e(code.rstrip())}</pre>" if code is not None else ""
        paths = "".join(
            "<li>" + " &rarr; ".join(f"{_e(s['function'])} <small>({_e(s['path'])}:{s['line']})</small>"
                                     for s in steps) + "</li>"
            for steps in finding.get("paths") or ())
        explanation = explanations.get(finding["rule"])
        about = f"<details><summary>about {_e(finding['rule'])}</summary><pre>{_e(explanation)}</pre></details>" \
            if explanation else ""
        items.append(
            f'<article class="finding" data-rule="{_e(finding["rule"])}">'
            f'<h3><span class="sev {_e(finding["severity"])}">{_e(finding["severity"])}</span> '
            f'{_e(finding["rule"])} <small>[{_e(finding.get("context") or "alone")}]</small></h3>'
            f'<p class="where">{_e(finding["path"])}:{finding["line"]}:{finding.get("column") or 1}</p>'
            f'<p class="message">{_e(finding["message"])}</p>{frame}'
            f'{"<ul class=paths>" + paths + "</ul>" if paths else ""}{about}</article>')
    return f"""<section id="findings"><h2>Findings, riskiest first</h2>
<p><label>rule <select id="rule-filter"><option value="">all rules</option>{options}</select></label>
<span id="shown">{len(findings)}</span> shown</p>
{''.join(items) or '<p>No finding.</p>'}</section>"""


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border-bottom:1px solid #eee;padding:.3em .5em;
text-align:left;vertical-align:top}.bar{display:flex;height:.9em;width:100%;background:#eee;border-radius:3px;
overflow:hidden}.bar i,.key i{display:inline-block;height:100%}.key{margin-right:1em;white-space:nowrap}
.key i{width:.9em;height:.9em;vertical-align:middle;margin-right:.3em}.sev{font-weight:bold;padding:0 .3em;
border-radius:3px}.sev.error,.bad{color:#b71c1c}.sev.warning{color:#e65100}.sev.info{color:#01579b}.ok{color:#1b5e20}
.finding{border:1px solid #ddd;border-radius:6px;padding:.2em 1em .6em;margin:.8em 0}.finding h3{margin:.4em 0}
.code{background:#f6f6f6;padding:.4em;overflow-x:auto}.where{font-family:monospace;margin:0}.unscoped{font-weight:bold}
"""

_SCRIPT = """
var filter = document.getElementById('rule-filter');
function showRule(rule) {
  var shown = 0;
  document.querySelectorAll('.finding').forEach(function (item) {
    var visible = !rule || item.getAttribute('data-rule') === rule;
    item.style.display = visible ? '' : 'none';
    if (visible) { shown += 1; }
  });
  document.getElementById('shown').textContent = shown;
}
filter.addEventListener('change', function () { showRule(filter.value); });
if (location.hash.indexOf('#rule=') === 0) {  /* a link to one rule's findings: report.html#rule=bulk-export */
  filter.value = decodeURIComponent(location.hash.slice(6));
  showRule(filter.value);
}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tenantlint report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{style}</style></head>
<body><h1>tenantlint: tenant isolation report</h1>
{body}
<script>{script}</script>
</body></html>
"""
