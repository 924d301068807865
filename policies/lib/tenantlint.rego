# METADATA
# title: tenantlint policy library
# description: |
#   Shared helpers for tenantlint rules. Every built-in rule builds its violations
#   with `violation`, `site_violation`, `route_violation` or `located_violation`, so that enablement,
#   severity and exemptions come from the host's config (data.tenantlint.config)
#   and never from the rule itself. User policies should use them too.
#
#   Embedded engine (rego-cpp) caveats for policy authors: build messages with
#   `concat`, not `sprintf("%s")` (sprintf prints computed strings, such as the
#   results of concat, upper or a literal passed through a function, with their
#   quotes); write `violations` as an array comprehension (a partial set takes time
#   quadratic in its size); in tests replace parts of the input (`with input.queries
#   as [...]`), not the whole input (`with input as {...}` crashes the engine when a
#   rule calls a function); never give two functions of one name different numbers
#   of arguments, even in different packages (that crashes it too).
package tenantlint.lib

import rego.v1

# The host's settings. The embedded engine passes them as data; an OPA server that
# holds only the policies receives them in the input instead.
config := data.tenantlint.config if {
	is_object(data.tenantlint.config)
} else := input.config if {
	is_object(input.config)
} else := {}

rule_settings(rule) := object.get(object.get(config, "rules", {}), rule, {})

enabled(rule) if object.get(rule_settings(rule), "enabled", true) == true

# Severity comes from data: the host fills it from each rule's METADATA
# (custom.severity) and the user's config; "error" only for a rule it knows nothing of.
severity(rule) := object.get(rule_settings(rule), "severity", "error")

accept_join_scope if object.get(config, "accept_join_scope", true) == true

# A table reference whose rows are restricted to the caller's tenant.
scoped(ref) if ref.scope in {"direct", "anchor", "helper", "runtime", "provenance", "rls"}

scoped(ref) if {
	ref.scope == "join"
	accept_join_scope
}

# A reference to a tenant-owned table that is not restricted to one tenant.
unscoped(ref) if {
	ref.tenant_owned == true
	not scoped(ref)
}

# How a message names a reference: table and model when both are known.
subject(ref) := concat("", ["'", ref.table, "' (model ", ref.model, ")"]) if {
	is_string(ref.table)
	is_string(ref.model)
} else := concat("", ["'", ref.table, "'"]) if {
	is_string(ref.table)
} else := concat("", ["model ", ref.model]) if {
	is_string(ref.model)
} else := "a tenant-owned table"

# " on account_id" when the tenant column is known, "" otherwise.
tenant_column_hint(ref) := concat("", [" on ", ref.tenant_column]) if {
	is_string(ref.tenant_column)
} else := ""

# A violation located at a query, about one of its table references. Only path and
# line are required of the location: a fact without the others still yields a finding.
violation(rule, query, ref, message) := v if {
	enabled(rule)
	base := {
		"rule": rule,
		"severity": severity(rule),
		"message": message,
		"path": query.path,
		"line": query.line,
		"column": object.get(query, "column", 1),
		"end_line": object.get(query, "end_line", query.line),
		"end_column": object.get(query, "end_column", null),
		"query": object.get(query, "index", null),
	}
	exempted := exemption(rule, query.path, object.get(query, "function", null), object.get(ref, "table", null))
	v := object.union(object.union(base, table_field(object.get(ref, "table", null))), exempted)
}

# The places where a query's finding is reported. The host walks the call graph from
# the query to the entry points that reach it; each path ends at a site: the call in the
# outermost function of the path (a handler's call into the data layer), or the query
# itself. A site is open when nothing on its path ties the rows to the caller (`guard`
# is null) and the key the rows are found by is not server-derived (`key`: "request",
# "unknown", "none", "server", or "opaque" when the path passes through a function
# handed along as a value, whose caller's arguments are not seen). A query without
# sites is judged alone, where it is.
open_sites(query) := [s |
	some s in object.get(query, "sites", [alone_site(query)])
	site_open(s)
]

# A lookup's open sites: an id is an IDOR only when the caller can choose it, so a path
# whose key is a constant or a value the code made up (`key` "none") is no finding; a
# query judged alone (no entry point in the scan) cannot tell and keeps its site.
open_lookup_sites(query) := [s |
	some s in open_sites(query)
	chosen_key(s)
]

chosen_key(site) if object.get(site, "key", "none") != "none"

chosen_key(site) if object.get(site, "context", "alone") == "alone"

# A read in a database log that returned many rows per run (a pg_stat_statements export
# counts them): the dump it was, which bulk-export reports (its option large_read_rows,
# default 1,000) and missing-tenant-filter leaves to it.
large_log_read(query) if {
	enabled("bulk-export")
	rows := object.get(object.get(query, "log", {}), "rows", null)
	is_number(rows)
	limit := object.get(object.get(rule_settings("bulk-export"), "options", {}), "large_read_rows", 1000)
	rows / max([object.get(query.log, "count", 1), 1]) >= limit
}

alone_site(query) := {
	"path": query.path, "line": query.line, "column": object.get(query, "column", 1),
	"end_line": object.get(query, "end_line", query.line), "end_column": object.get(query, "end_column", null),
	"context": "alone", "function": object.get(query, "function", null), "guard": null, "key": "none",
}

site_open(site) if {
	object.get(site, "guard", null) == null
	not object.get(site, "key", "none") in {"server", "opaque"}
}

# A request path (or a query judged alone) reports at the rule's severity; other
# contexts at their configured level (config `contexts`, default info), or not at all.
context_level(rule, context) := severity(rule) if {
	context in {"request", "alone"}
} else := object.get(object.get(config, "contexts", {}), context, "info")

# A violation about a query's reference, located at one of the query's sites.
site_violation(rule, query, ref, site, message) := site_violation_at(
	rule, query, ref, site, message,
	context_level(rule, site.context),
)

# The same at a level the rule chose for the site (a read whose rows never come back up).
site_violation_at(rule, query, ref, site, message, level) := v if {
	level != "off"
	base := violation(rule, query, ref, concat("", [message, site_note(site)]))
	located := object.union(base, {
		"severity": level,
		"path": site.path,
		"line": site.line,
		"column": object.get(site, "column", 1),
		"end_line": object.get(site, "end_line", site.line),
		"end_column": object.get(site, "end_column", null),
		"context": site.context,
	})
	exempted := exemption(rule, site.path, object.get(site, "function", null), object.get(ref, "table", null))
	v := object.union(object.union(located, site_path(site)), exempted)
}

# Where the path came from, for a site that is a call into the data layer.
site_path(site) := {
	"steps": object.get(site, "steps", []),
	"site_function": object.get(site, "function", null),
	"site_code": site.code,
} if {
	is_string(object.get(site, "code", null))
} else := {}

# Why a join that looked scoping does not scope (tenantlint.program.joins).
# Why a reference that looked scoped is not: a join key to a table every tenant shares,
# or a runtime scoping library switched off or bypassed (scopes_disabled(), a loop over tenants).
ref_note(ref) := concat("", [" (", ref.shared_join, ")"]) if {
	is_string(object.get(ref, "shared_join", null))
} else := concat("", [" (", ref.runtime_gap, ")"]) if {
	is_string(object.get(ref, "runtime_gap", null))
} else := ""

site_note(site) := concat("", [" (", site.note, ")"]) if {
	is_string(object.get(site, "note", null))
} else := ""

# A violation located at an HTTP route.
route_violation(rule, route, message) := v if {
	enabled(rule)
	base := {
		"rule": rule,
		"severity": severity(rule),
		"message": message,
		"path": route.file,
		"line": route.line,
		"column": object.get(route, "column", 1),
		"end_line": route.line,
		"end_column": null,
	}
	v := object.union(base, exemption(rule, route.file, object.get(route, "handler", null), null))
}

# A violation located at a declared field (column).
field_violation(rule, field, message) := located_violation(rule, field, message)

# A violation located at a place that is no query or route: a declared field, a table's
# declaration, a row-level security statement ({path, line, column?, table?, function?}).
located_violation(rule, place, message) := v if {
	enabled(rule)
	base := {
		"rule": rule,
		"severity": severity(rule),
		"message": message,
		"path": place.path,
		"line": place.line,
		"column": object.get(place, "column", 1),
		"end_line": place.line,
		"end_column": null,
	}
	exempted := exemption(rule, place.path, object.get(place, "function", null), object.get(place, "table", null))
	v := object.union(object.union(base, table_field(object.get(place, "table", null))), exempted)
}

table_field(table) := {"table": table} if is_string(table) else := {}

# {"exempted": reason} when an exemption applies, else {}: the host drops exempted
# violations and counts them (summary.exempted), so an exemption is never silent.
exemption(rule, path, function, table) := {"exempted": reasons[0]} if {
	count(object.get(config, "exemptions", [])) > 0 # most configs have none: no work per violation
	reasons := [object.get(e, "reason", "exempt") |
		some e in object.get(config, "exemptions", [])
		lists_rule(e, rule)
		paths_match(e, path)
		functions_match(e, function)
		tables_match(e, table)
	]
	count(reasons) > 0
} else := {}

# An exemption applies when it lists the rule (or no rules) and every criterion it
# gives (paths, functions, tables) matches; within one criterion any entry may match.
exempt(rule, path, function, table) if {
	some e in object.get(config, "exemptions", [])
	lists_rule(e, rule)
	paths_match(e, path)
	functions_match(e, function)
	tables_match(e, table)
}

lists_rule(e, rule) if count(object.get(e, "rules", [])) == 0

lists_rule(e, rule) if rule in e.rules

paths_match(e, path) if object.get(e, "paths", null) == null

paths_match(e, path) if {
	some pattern in e.paths
	path_glob(pattern, path)
}

functions_match(e, function) if object.get(e, "functions", null) == null

functions_match(e, function) if {
	is_string(function)
	some pattern in e.functions
	glob.match(pattern, ["/"], function)
}

tables_match(e, table) if object.get(e, "tables", null) == null

tables_match(e, table) if {
	is_string(table)
	some pattern in e.tables
	glob.match(lower(pattern), ["/"], lower(table))
}

# `**/x` also matches `x` at the top of the tree, as in the include/exclude settings.
path_glob(pattern, path) if glob.match(pattern, ["/"], path)

path_glob(pattern, path) if {
	startswith(pattern, "**/")
	glob.match(substring(pattern, 3, -1), ["/"], path)
}
