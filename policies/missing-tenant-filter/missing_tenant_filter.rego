# METADATA
# title: Read of a tenant-owned table without a tenant filter
# description: |
#   ## What it does
#   Finds queries that read a tenant-owned table (one with a tenant column such as
#   `practice_id`, or listed in `tenant_tables`) without restricting its rows to one
#   tenant: no `tenant_column = <tenant value>` in the WHERE clause or an inner join,
#   no join to a table that is itself scoped, no anchor on the caller's own rows.
#
#   ## Why is this bad?
#   In a shared-database SaaS every customer's rows live in the same table. A query
#   that forgets the tenant filter returns every tenant's rows, and whatever renders
#   the result shows one customer another customer's data. Row-level security and
#   ORM scoping libraries do not cover raw SQL, superusers or background jobs.
#
#   ## Example
#   ```sql
#   SELECT id, name, email FROM contacts WHERE email = %s;
#   ```
#   ```python
#   contacts = Contact.objects.filter(email=email)
#   ```
#
#   ## Use instead
#   ```sql
#   SELECT id, name, email FROM contacts WHERE account_id = %s AND email = %s;
#   ```
#   ```python
#   contacts = Contact.objects.filter(account=request.account, email=email)
#   ```
#
#   Tables that hold no tenant data (countries, drug catalogues) belong in
#   `global_tables`; a deliberate cross-tenant read (an admin report) belongs in
#   `exemptions` with a reason.
#
#   ## Where it is reported
#   tenantlint follows the call graph from the query to the entry points that reach
#   it. A request path reports at this rule's severity, at the handler's call into the
#   data layer; background, command, migration, startup, admin and unreachable code
#   reports as info (config `contexts`). A path that a guard ties to the caller's tenant
#   is not reported (see `tenantlint explain unscoped-lookup` for the guard kinds).
#   A request path on which a call's result is dropped (`await cleanup(ids)` as a
#   statement of its own) cannot bring the rows back to the response: it reports at
#   option `unused_result` (default info; `error` to report it as any request path).
# related_resources:
#   - ref: https://cwe.mitre.org/data/definitions/639.html
#     description: "CWE-639: Authorization Bypass Through User-Controlled Key"
#   - ref: https://cwe.mitre.org/data/definitions/863.html
#     description: "CWE-863: Incorrect Authorization"
#   - ref: https://owasp.org/Top10/A01_2021-Broken_Access_Control/
#     description: "OWASP Top 10 A01:2021 Broken Access Control"
# custom:
#   id: missing-tenant-filter
#   severity: error
package tenantlint.rules.missing_tenant_filter

import rego.v1

import data.tenantlint.lib

violations := array.concat(reads, schema_switches)

# Primary-key fetches are reported by unscoped-lookup, which says more about them.
reads := [v |
	some query in input.queries
	not query.lookup
	not lib.large_log_read(query) # a dump: bulk-export
	some ref in query.refs
	ref.use == "read"
	lib.unscoped(ref)
	some site in lib.open_sites(query)
	v := lib.site_violation_at("missing-tenant-filter", query, ref, site, read_message(ref), read_level(site))
]

# A request path that drops a call's result on the way (housekeeping that reads every
# tenant's rows to decide what to clean up) returns none of them: option unused_result.
read_level(site) := object.get(options, "unused_result", "info") if {
	site.context == "request"
	is_object(object.get(site, "unused", null))
} else := lib.context_level("missing-tenant-filter", site.context)

options := object.get(lib.rule_settings("missing-tenant-filter"), "options", {})

read_message(ref) := concat("", [
	lib.subject(ref), " is read without a tenant filter", lib.tenant_column_hint(ref),
	": the query returns every tenant's rows", lib.ref_note(ref),
])

# Schema per tenant (django-tenants): the connection's search_path decides which tenant
# every later query reads, so code that sets it chooses the tenant itself.
schema_switches := [v |
	some query in input.queries
	is_string(object.get(query, "schema_switch", null))
	some site in lib.open_sites(query)
	v := lib.site_violation("missing-tenant-filter", query, {}, site, switch_message(query))
]

switch_message(query) := concat("", [
	"the connection's schema (search_path) is switched to ", query.schema_switch,
	": every later query on it reads that tenant's rows, whatever the request's tenant",
])
