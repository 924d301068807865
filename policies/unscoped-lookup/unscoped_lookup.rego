# METADATA
# title: Fetch by primary key without a tenant filter (IDOR)
# description: |
#   ## What it does
#   Finds lookups of a single row of a tenant-owned table by its primary key with
#   no tenant in the lookup: Django `.get(pk=...)` / `get_object_or_404(Model, pk=...)`,
#   SQLAlchemy `session.get(Model, id)`, `SELECT ... WHERE id = %s`.
#
#   ## Why is this bad?
#   This is the insecure direct object reference (IDOR) shape. Ids come from the
#   URL or the request body, are often sequential, and are trivial to change: any
#   signed-in user of any tenant can read (or, through the object, change) another
#   tenant's row by guessing its id. Authentication does not help; only a tenant
#   filter in the lookup does.
#
#   ## Example
#   ```python
#   def invoice_detail(request, invoice_id):
#       invoice = Invoice.objects.get(pk=invoice_id)
#   ```
#
#   ## Use instead
#   ```python
#   def invoice_detail(request, invoice_id):
#       invoice = Invoice.objects.get(pk=invoice_id, account=request.account)
#   ```
#   ```python
#   invoice = session.scalars(
#       select(Invoice).where(Invoice.id == invoice_id, Invoice.account_id == account_id)
#   ).one()
#   ```
# related_resources:
#   - ref: https://cwe.mitre.org/data/definitions/639.html
#     description: "CWE-639: Authorization Bypass Through User-Controlled Key"
#   - ref: https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/
#     description: "OWASP API Security Top 10 API1:2023 Broken Object Level Authorization"
#   - ref: https://cheatsheetseries.owasp.org/cheatsheets/Insecure_Direct_Object_Reference_Prevention_Cheat_Sheet.html
#     description: "OWASP Insecure Direct Object Reference Prevention Cheat Sheet"
# custom:
#   id: unscoped-lookup
#   severity: error
package tenantlint.rules.unscoped_lookup

import rego.v1

import data.tenantlint.lib

# Writes through a lookup are reported by unscoped-write.
violations := [v |
	some query in input.queries
	query.lookup == true
	some ref in query.refs
	ref.use == "read"
	lib.unscoped(ref)
	some site in lib.open_sites(query)
	v := lib.site_violation("unscoped-lookup", query, ref, site, lookup_message(ref))
]

lookup_message(ref) := concat("", [
	lib.subject(ref), " is fetched by primary key without a tenant filter", lib.tenant_column_hint(ref),
	": any tenant can read another tenant's row by its id (IDOR)",
])
