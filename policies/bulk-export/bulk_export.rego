# METADATA
# title: Bulk export of tenant-owned rows without a tenant filter
# description: |
#   ## What it does
#   Finds bulk exports of a tenant-owned table that are not restricted to one
#   tenant: `COPY table TO ...`, `COPY (SELECT ...) TO ...`, `SELECT ... INTO
#   OUTFILE`, the rows of an unscoped multi-row query reaching an export sink (a
#   CSV, Excel or JSON writer, `pandas.DataFrame.to_csv`, a download or streaming
#   response), and an export-shaped route (its path or handler says export) whose
#   handler returns an unscoped multi-row result. A fetch of one row by its key is
#   `unscoped-lookup`, and an unscoped write `unscoped-write`, whatever the
#   function is called. The message says what made the query an export ("rows
#   reach csv.writer at line 12", "COPY ... TO") and names the sensitive columns
#   that leave with the rows. In a database log (`tenantlint logs`) whose input
#   counts rows (a pg_stat_statements export), an unscoped read that returned at
#   least `large_read_rows` rows per run (option, default 1,000) is a bulk export
#   too.
#
#   ## Why is this bad?
#   An export writes rows outside the database, into a file, a download or a
#   bucket, where no row-level security or application check applies any more. An
#   unscoped export hands one tenant (or whoever finds the file) every tenant's
#   data in one go, and it is the leak that regulators count in records.
#
#   ## Example
#   ```sql
#   COPY patients TO '/tmp/patients.csv' WITH (FORMAT csv);
#   ```
#   ```python
#   writer.writerows(Patient.objects.values_list("name", "ssn"))
#   ```
#
#   ## Use instead
#   ```sql
#   COPY (SELECT name, email FROM patients WHERE practice_id = 42) TO STDOUT WITH (FORMAT csv);
#   ```
#   ```python
#   writer.writerows(Patient.objects.filter(practice=practice).values_list("name", "email"))
#   ```
# related_resources:
#   - ref: https://cwe.mitre.org/data/definitions/200.html
#     description: "CWE-200: Exposure of Sensitive Information to an Unauthorized Actor"
#   - ref: https://cwe.mitre.org/data/definitions/639.html
#     description: "CWE-639: Authorization Bypass Through User-Controlled Key"
#   - ref: https://owasp.org/Top10/A01_2021-Broken_Access_Control/
#     description: "OWASP Top 10 A01:2021 Broken Access Control"
# custom:
#   id: bulk-export
#   severity: error
package tenantlint.rules.bulk_export

import rego.v1

import data.tenantlint.lib

violations := array.concat(exports, large_log_reads)

exports := [v |
	some query in input.queries
	some ref in query.refs
	ref.use == "export"
	lib.unscoped(ref)
	some site in lib.open_sites(query)
	v := lib.site_violation("bulk-export", query, ref, site, export_message(query, ref))
]

# A database log's unscoped read that returned at least large_read_rows rows per run.
large_log_reads := [v |
	some query in input.queries
	lib.large_log_read(query)
	some ref in query.refs
	ref.use == "read"
	lib.unscoped(ref)
	some site in lib.open_sites(query)
	v := lib.site_violation("bulk-export", query, ref, site, concat("", [
		lib.subject(ref), " was read in bulk (", format_int(query.log.rows, 10), " rows in ",
		format_int(query.log.count, 10), " runs) without a tenant filter", lib.tenant_column_hint(ref),
		columns_hint(ref), ": every tenant's rows left the database", lib.ref_note(ref),
	]))
]

export_message(query, ref) := concat("", [
	lib.subject(ref), " is exported", export_evidence(query), " without a tenant filter", lib.tenant_column_hint(ref),
	columns_hint(ref), ": the export holds every tenant's rows", lib.ref_note(ref),
])

# What made the query an export: "(rows reach csv.writer at line 12)", "(COPY ... TO)".
export_evidence(query) := concat("", [" (", query.export_reason, ")"]) if {
	is_string(object.get(query, "export_reason", null))
} else := ""

columns_hint(ref) := concat("", [", with sensitive columns ", concat(", ", ref.sensitive_columns)]) if {
	count(object.get(ref, "sensitive_columns", [])) > 0
} else := ""
