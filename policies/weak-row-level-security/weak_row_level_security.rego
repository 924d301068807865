# METADATA
# title: Row-level security that fails open
# description: |
#   ## What it does
#   Reads the PostgreSQL row-level security (RLS) that the project's SQL files and
#   migrations (Alembic `op.execute`, Django `RunSQL`) leave in place and reports the
#   ways it lets one tenant's session reach another tenant's rows:
#   - RLS enabled on a table but not forced: the table's owner, often the very role the
#     application connects as, bypasses every policy;
#   - a permissive policy whose `USING` is always true or does not pin the tenant column
#     to a session value (`current_setting('app.tenant')`): PostgreSQL ORs permissive
#     policies, so it opens the rows the others protect;
#   - a `WITH CHECK` that does not pin the tenant column where its `USING` does, and a
#     `FOR INSERT` policy whose check does not: rows can be written into another tenant;
#   - a tenant-owned table without RLS in a project that protects its other
#     tenant-owned tables with it;
#   - a role given `BYPASSRLS` or `SUPERUSER` in migrations;
#   - the tenant set for the whole session (`SET app.tenant = ...`,
#     `set_config('app.tenant', ..., false)`): a pooled connection keeps it for the next
#     request, which may be another tenant's, or none.
#   Tables whose policies pin the tenant column get scope `rls`: their queries need no
#   tenant filter of their own.
#
#   ## Why is this bad?
#   RLS is the last line of defence when a query forgets the tenant filter, and it fails
#   open silently: no error, just every tenant's rows. Each shape above is a known way it
#   does so in production.
#
#   ## Example
#   ```sql
#   ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
#   CREATE POLICY notes_tenant ON notes USING (practice_id = current_setting('app.practice_id')::bigint);
#   CREATE POLICY notes_admin ON notes USING (true);
#   SET app.practice_id = '42';
#   ```
#
#   ## Use instead
#   ```sql
#   ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
#   ALTER TABLE notes FORCE ROW LEVEL SECURITY;
#   CREATE POLICY notes_tenant ON notes
#       USING (practice_id = current_setting('app.practice_id')::bigint)
#       WITH CHECK (practice_id = current_setting('app.practice_id')::bigint);
#   -- per transaction:
#   SET LOCAL app.practice_id = '42';
#   ```
# related_resources:
#   - ref: https://www.postgresql.org/docs/15/ddl-rowsecurity.html
#     description: "PostgreSQL: Row Security Policies"
#   - ref: https://cwe.mitre.org/data/definitions/284.html
#     description: "CWE-284: Improper Access Control"
#   - ref: https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/
#     description: "OWASP API Security Top 10 API1:2023 Broken Object Level Authorization"
# custom:
#   id: weak-row-level-security
#   severity: error
package tenantlint.rules.weak_row_level_security

import rego.v1

import data.tenantlint.lib

rule := "weak-row-level-security"

# The project's row-level security (tenantlint.program.rls); none when the input has none.
rls := input.rls if {
	is_object(input.rls)
} else := {"tables": {}, "roles": [], "settings": [], "policy_settings": [], "used": false}

violations := array.concat(
	array.concat(array.concat(not_forced, open_policies), array.concat(weak_checks, unprotected)),
	array.concat(array.concat(powers, session_settings), switched_off),
)

# Application code that switches a table's protection off while it runs (not a migration).
switched_off := [v |
	some query in input.queries
	is_string(object.get(query, "rls_change", null))
	some site in lib.open_sites(query)
	v := lib.site_violation(rule, query, {"table": query.table}, site, concat("", [
		switched_by(query), query.rls_change, ": while it holds, queries of '", query.table,
		"' are no longer kept to the session's tenant; change row-level security in migrations only",
	]))
]

switched_by(query) := "the database ran " if query.origin == "log" else := "application code runs "

not_forced := [v |
	some name
	table := rls.tables[name]
	table.enabled == true
	table.forced == false
	v := lib.located_violation(rule, {"path": table.path, "line": table.line, "table": name}, concat("", [
		"row-level security on '", name, "' is enabled but not forced: the table's owner (often the role ",
		"the application connects as) bypasses every policy; add ALTER TABLE ", name,
		" FORCE ROW LEVEL SECURITY",
	]))
]

open_policies := [v |
	some name
	table := rls.tables[name]
	table.enabled == true
	some policy in table.policies
	policy.permissive == true
	policy.command != "insert"
	not pins(object.get(policy, "using", null))
	count(unpinned(policy, table)) > 0
	v := lib.located_violation(rule, policy_place(policy, name), concat("", [
		"policy ", policy.name, " on '", name, "' ", open_reason(policy, name),
		": PostgreSQL ORs permissive policies, so every tenant's rows pass",
	]))
]

weak_checks := [v |
	some name
	table := rls.tables[name]
	table.enabled == true
	some policy in table.policies
	message := weak_check(policy, name)
	count({c | some c in unpinned(policy, table); c in {"insert", "update"}}) > 0
	v := lib.located_violation(rule, policy_place(policy, name), message)
]

unprotected := [v |
	rls.used == true
	count(protected) > 0
	some name
	table := input.tables[name]
	table.tenant_owned == true
	is_string(object.get(table, "path", null))
	not enabled(name)
	v := lib.located_violation(rule, {"path": table.path, "line": table.line, "table": name}, concat("", [
		"'", name, "' is tenant-owned but has no row-level security, while the project protects ",
		concat(", ", sort(protected)), " with it: a query that forgets the tenant filter reads every tenant's rows",
	]))
]

powers := [v |
	some role in rls.roles
	v := lib.located_violation(rule, role, concat("", [
		"role ", role.role, " is given ", upper(concat(", ", role.powers)),
		": every query of that role ignores row-level security",
	]))
]

session_settings := [v |
	some setting in rls.settings
	setting.local == false
	tenant_setting(setting.setting)
	v := lib.located_violation(rule, setting, concat("", [
		setting.setting, " is set for the whole session: a pooled connection keeps it for the next request, ",
		"which may be another tenant's; use SET LOCAL or set_config(..., true) inside the transaction",
	]))
]

enabled(name) if rls.tables[name].enabled == true

# Tenant-owned tables the project protects with row-level security.
protected := [name |
	some name
	table := rls.tables[name]
	table.enabled == true
	object.get(object.get(input, "tables", {}), name, {}).tenant_owned == true
]

# The commands a policy applies to that the table's policies together leave open.
unpinned(policy, table) := {c |
	some c in applies(policy)
	table.pinned[c] == false
}

pins(clause) if clause.pins == true

applies(policy) := {"select", "insert", "update", "delete"} if policy.command == "all" else := {policy.command}

policy_place(policy, table) := {"path": policy.path, "line": policy.line, "table": table}

open_reason(policy, table) := concat("", ["is USING (", policy.using.text, "), always true"]) if {
	policy.using.always_true == true
} else := concat("", [
	"does not pin ", tenant_column(table), " to the session's tenant (USING (", policy.using.text, "))",
]) if {
	is_object(object.get(policy, "using", null))
} else := concat("", ["has no USING clause"])

weak_check(policy, table) := concat("", [
	"WITH CHECK (", policy.check.text, ") of policy ", policy.name, " on '", table, "' does not pin ",
	tenant_column(table), " where its USING does: a row can be written into another tenant",
]) if {
	policy.command != "insert"
	pins(policy.using)
	is_object(object.get(policy, "check", null))
	not pins(policy.check)
} else := concat("", [
	"FOR INSERT policy ", policy.name, " on '", table, "' does not pin ", tenant_column(table),
	" in its WITH CHECK: rows can be inserted for another tenant",
]) if {
	policy.command == "insert"
	not pins(object.get(policy, "check", null))
}

tenant_column(table) := column if {
	column := input.tables[table].tenant_column
	is_string(column)
} else := "the tenant column"

tenant_setting(name) if name in rls.policy_settings

tenant_setting(name) if {
	count(rls.policy_settings) == 0
	some word in {"tenant", "org", "account", "practice", "workspace", "team", "company", "client"}
	contains(name, word)
}
