# METADATA
# title: Export route without audit logging
# description: |
#   ## What it does
#   Finds HTTP routes that export data (their path or handler name says export,
#   dump, download or backup, or the handler writes rows to a file or download)
#   whose handler does not carry the `@audit_logged` decorator.
#
#   ## Why is this bad?
#   Our security policy requires that every bulk export leaves an audit record (who
#   exported which tenant's data, when). Without one, a leak through an export
#   cannot be investigated or notified within the legal deadline.
#
#   ## Example
#   ```python
#   @login_required
#   def export_patients(request):
#       ...
#   ```
#
#   ## Use instead
#   ```python
#   @login_required
#   @audit_logged
#   def export_patients(request):
#       ...
#   ```
# related_resources:
#   - ref: https://cwe.mitre.org/data/definitions/778.html
#     description: "CWE-778: Insufficient Logging"
#   - ref: https://owasp.org/Top10/A09_2021-Security_Logging_and_Monitoring_Failures/
#     description: "OWASP Top 10 A09:2021 Security Logging and Monitoring Failures"
# custom:
#   id: export-not-audit-logged
#   severity: warning
package tenantlint.rules.export_not_audit_logged

import rego.v1

import data.tenantlint.lib

# The decorator that writes the audit record, as written (`audit_logged`,
# `audit.audit_logged`, `@audit_logged("patients")`).
marker := "audit_logged"

violations := [v |
	some route in input.routes
	route.export_shaped == true
	not audit_logged(route)
	v := lib.route_violation("export-not-audit-logged", route, message(route))
]

audit_logged(route) if {
	some decorator in object.get(route, "decorators", [])
	decorator == marker
}

audit_logged(route) if {
	some decorator in object.get(route, "decorators", [])
	endswith(decorator, concat("", [".", marker]))
}

message(route) := concat("", [
	"export route ", route_name(route), " (", route.handler, ") has no @", marker,
	" decorator: the export leaves no audit record",
])

route_name(route) := route.path if object.get(route, "path", "") != "" else := "with no URL route seen"
