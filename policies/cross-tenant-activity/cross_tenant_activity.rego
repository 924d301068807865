# METADATA
# title: One actor's statements reach many tenants
# description: |
#   ## What it does
#   Reads database logs (`tenantlint logs`). For each actor, the end user a
#   sqlcommenter comment names (`/*user_id='42'*/`), the database user, or the
#   application (`application_name`), it counts the distinct tenant values its
#   statements named (`WHERE practice_id = 3`, `practice_id IN (...)`, bound
#   parameters included) and reports the actors that reached more than
#   `max_tenants_per_actor` tenants (option, default 3: a user of a multi-tenant
#   application works in one tenant, an accountant or an agency in a handful).
#
#   ## Why is this bad?
#   The breach tenantlint exists for was one account selecting the records of
#   1,500 medical practices. Each of its statements may have been scoped to one
#   tenant; together they walked every tenant. An actor that touches many tenants
#   is a support tool, a report that should run under its own role, or a stolen
#   account: either way someone should know.
#
#   ## Example
#   ```
#   LOG:  statement: /*user_id='42'*/ SELECT * FROM patients WHERE practice_id = 1
#   LOG:  statement: /*user_id='42'*/ SELECT * FROM patients WHERE practice_id = 2
#   ... practice_id = 3, 4, 5 ...
#   ```
#
#   ## Use instead
#   Give cross-tenant work its own database role and list it in the option
#   `shared_actors` (the application's pooled role, which serves every tenant by
#   design, belongs there too), or keep each end user to their tenant. Options:
#   `max_tenants_per_actor` (3), `actor_kinds` (`[end_user, database_user,
#   application]`; sessions are left out: a pooled connection serves many
#   requests), `shared_actors` (`[]`).
# related_resources:
#   - ref: https://cwe.mitre.org/data/definitions/639.html
#     description: "CWE-639: Authorization Bypass Through User-Controlled Key"
#   - ref: https://owasp.org/Top10/A09_2021-Security_Logging_and_Monitoring_Failures/
#     description: "OWASP Top 10 A09:2021 Security Logging and Monitoring Failures"
# custom:
#   id: cross-tenant-activity
#   severity: warning
package tenantlint.rules.cross_tenant_activity

import rego.v1

import data.tenantlint.lib

rule := "cross-tenant-activity"

options := object.get(lib.rule_settings(rule), "options", {})

max_tenants := object.get(options, "max_tenants_per_actor", 3)

kinds := object.get(options, "actor_kinds", ["end_user", "database_user", "application"])

shared := object.get(options, "shared_actors", [])

violations := [v |
	some actor in object.get(input, "actors", [])
	actor.kind in kinds
	not actor.name in shared
	actor.tenants > max_tenants
	v := lib.located_violation(rule, actor, concat("", [
		replace(actor.kind, "_", " "), " ", actor.name, " named ", format_int(actor.tenants, 10),
		" tenants (", concat(", ", actor.examples), more(actor), ") in ", format_int(actor.statements, 10),
		" statements, last at ", actor.last_seen, ": more than max_tenants_per_actor (",
		format_int(max_tenants, 10), "); a support tool, a report without its own role, or a stolen account",
	]))
]

more(actor) := ", ..." if actor.tenants > count(actor.examples) else := ""
