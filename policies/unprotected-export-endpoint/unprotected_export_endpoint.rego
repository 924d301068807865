# METADATA
# title: Export endpoint without authentication
# description: |
#   ## What it does
#   Finds HTTP routes that look like exports or dumps (a word of their path or
#   handler name says export, download, dump or backup, or their handler writes
#   tenant rows to a file or a download, or returns unscoped tenant rows in bulk)
#   and carry no authentication marker: no `login_required`,
#   `permission_required`, `jwt_required`, Django auth mixins, DRF
#   `permission_classes` (or a `DEFAULT_PERMISSION_CLASSES` that requires a user),
#   FastAPI `Depends(get_current_user)` and the like (config `auth_decorators`).
#   The finding points at the handler's `def` and its message says what made the
#   route an export ("route path contains export"). A Django view that no URL
#   configuration in the scan reaches is judged on its own when it looks like a
#   view: it returns a response, or is a method of a view class (a helper that only
#   takes `request` is none).
#
#   ## Why is this bad?
#   An export endpoint returns many rows at once. Without authentication there is no
#   caller and so no tenant to restrict the rows to: anyone who finds the URL (in a
#   JavaScript bundle, an old API doc, a crawler's list of `/export` paths) can
#   download the data, usually of every tenant.
#
#   ## Example
#   ```python
#   @app.route("/api/v1/export_all_patients")
#   def export_all_patients():
#       return csv_response(Patient.query.all())
#   ```
#
#   ## Use instead
#   ```python
#   @app.route("/api/v1/patients/export")
#   @login_required
#   def export_patients():
#       return csv_response(Patient.query.filter_by(practice_id=current_user.practice_id))
#   ```
# related_resources:
#   - ref: https://cwe.mitre.org/data/definitions/306.html
#     description: "CWE-306: Missing Authentication for Critical Function"
#   - ref: https://cwe.mitre.org/data/definitions/284.html
#     description: "CWE-284: Improper Access Control"
#   - ref: https://owasp.org/API-Security/editions/2023/en/0xa5-broken-function-level-authorization/
#     description: "OWASP API Security Top 10 API5:2023 Broken Function Level Authorization"
# custom:
#   id: unprotected-export-endpoint
#   severity: error
package tenantlint.rules.unprotected_export_endpoint

import rego.v1

import data.tenantlint.lib

violations := [v |
	some route in input.routes
	route.export_shaped == true
	route.authenticated == false
	v := lib.route_violation("unprotected-export-endpoint", route, endpoint_message(route))
]

endpoint_message(route) := concat("", [
	route_label(route), " exports data", route_evidence(route), sensitive_hint(route),
	" and has no authentication marker: anyone who finds the URL can download it",
])

# What made the route an export: "(route path contains export)", "(rows reach csv.writer at line 12)".
route_evidence(route) := concat("", [" (", route.export_reason, ")"]) if {
	is_string(object.get(route, "export_reason", null))
} else := ""

# A view no URL configuration in the scan reaches has no path: name the handler.
route_label(route) := concat("", ["route ", route_methods(route), " ", route.path, " (", route.handler, ")"]) if {
	object.get(route, "path", "") != ""
} else := concat("", ["view ", route.handler, " (no URL route seen)"])

sensitive_hint(route) := concat("", [", including sensitive columns ", concat(", ", route.sensitive_columns), ","]) if {
	count(object.get(route, "sensitive_columns", [])) > 0
} else := ""

route_methods(route) := concat(",", route.methods) if count(object.get(route, "methods", [])) > 0 else := "ANY"
