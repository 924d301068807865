# METADATA
# title: Write to a tenant-owned table without a tenant filter
# description: |
#   ## What it does
#   Finds UPDATE, DELETE, MERGE and INSERT ... SELECT statements (and ORM
#   `.update()` / `.delete()` calls) that change a tenant-owned table without
#   restricting the rows to one tenant, and every TRUNCATE of a tenant-owned table.
#
#   ## Why is this bad?
#   A write without a tenant filter changes or destroys the rows of every tenant at
#   once: one customer's "archive my old contacts" archives everyone's. TRUNCATE
#   cannot be scoped at all. INSERT ... SELECT copies other tenants' rows into the
#   caller's tenant. These mistakes are rarely caught by tests, which seed one tenant.
#
#   ## Example
#   ```sql
#   UPDATE contacts SET archived = true WHERE created_at < %s;
#   TRUNCATE contacts;
#   ```
#   ```python
#   Contact.objects.filter(created_at__lt=cutoff).update(archived=True)
#   ```
#
#   ## Use instead
#   ```sql
#   UPDATE contacts SET archived = true WHERE account_id = %s AND created_at < %s;
#   DELETE FROM contacts WHERE account_id = %s;
#   ```
#   ```python
#   Contact.objects.filter(account=account, created_at__lt=cutoff).update(archived=True)
#   ```
#
#   ## Where it is reported
#   tenantlint follows the call graph from the query to the entry points that reach
#   it. A request path reports at this rule's severity, at the handler's call into the
#   data layer; background, command, migration, startup, admin and unreachable code
#   reports as info (config `contexts`). A path that a guard ties to the caller's tenant
#   is not reported (see `tenantlint explain unscoped-lookup` for the guard kinds).
# related_resources:
#   - ref: https://cwe.mitre.org/data/definitions/639.html
#     description: "CWE-639: Authorization Bypass Through User-Controlled Key"
#   - ref: https://cwe.mitre.org/data/definitions/284.html
#     description: "CWE-284: Improper Access Control"
#   - ref: https://owasp.org/Top10/A01_2021-Broken_Access_Control/
#     description: "OWASP Top 10 A01:2021 Broken Access Control"
# custom:
#   id: unscoped-write
#   severity: error
package tenantlint.rules.unscoped_write

import rego.v1

import data.tenantlint.lib

violations := [v |
	some query in input.queries
	some ref in query.refs
	ref.use == "write"
	ref.tenant_owned == true
	unscoped_write(query, ref)
	some site in lib.open_sites(query)
	reported(query, site)
	v := lib.site_violation("unscoped-write", query, ref, site, write_message(query, ref))
]

# TRUNCATE has no WHERE clause: it always removes every tenant's rows.
unscoped_write(query, _) if query.kind == "truncate"

unscoped_write(query, ref) if {
	query.kind != "truncate"
	not query.foreign_key
	not lib.scoped(ref)
}

# A foreign key to a tenant-owned row, set from the request: only a request-controlled
# value on an open path is reported (see the violations' sites).
unscoped_write(query, _) if query.foreign_key

reported(query, site) if not query.foreign_key

reported(query, site) if {
	query.foreign_key
	site.key == "request"
}

write_message(query, ref) := concat("", [
	"TRUNCATE of ", lib.subject(ref), " removes the rows of every tenant",
]) if {
	query.kind == "truncate"
} else := concat("", [
	"write to ", lib.subject(ref), " sets ", query.foreign_key.field,
	" (a foreign key) from the request with no check that the ", foreign_subject(query.foreign_key),
	" belongs to the caller's tenant: a row can be attached to another tenant's data",
]) if {
	query.foreign_key
} else := concat("", [
	"INSERT ... SELECT reads ", lib.subject(ref), " without a tenant filter", lib.tenant_column_hint(ref),
	": it copies the rows of every tenant",
]) if {
	query.kind == "insert"
} else := concat("", [
	object.get(write_verbs, query.kind, "Write to"), " ", lib.subject(ref), " without a tenant filter",
	lib.tenant_column_hint(ref), ": it changes the rows of every tenant", lib.ref_note(ref),
])

foreign_subject(fk) := concat("", ["'", fk.table, "' row"]) if {
	not is_string(object.get(fk, "model", null))
} else := concat("", [fk.model, " row"])

write_verbs := {"update": "UPDATE of", "delete": "DELETE from", "merge": "MERGE into"}
