# METADATA
# title: Sensitive field stored in plaintext
# description: |
#   ## What it does
#   Finds ORM model fields (Django, SQLAlchemy) listed in `sensitive_columns` (for
#   example `notes.body` or `*.ssn`) that are declared with a plaintext type: a
#   `TextField`, `CharField` or `String` rather than an encrypted field type (config
#   `encrypted_field_types`, e.g. `EncryptedTextField`, `StringEncryptedType`).
#   Columns declared only in SQL DDL (`ssn text`) are reported as `info`: a `text`
#   column may hold ciphertext written by the application, so the model is where the
#   choice is visible (option `ddl_severity` changes that level).
#
#   ## Why is this bad?
#   When a tenant filter is missing somewhere, or a backup, replica or export leaks,
#   plaintext sensitive columns (diagnoses, national ids, bank details) are readable
#   by whoever gets the rows. Field-level encryption, with keys outside the database,
#   limits the damage of every other leak this tool looks for.
#
#   ## Example
#   ```python
#   class Patient(models.Model):
#       ssn = models.CharField(max_length=11)
#   ```
#
#   ## Use instead
#   ```python
#   class Patient(models.Model):
#       ssn = EncryptedCharField(max_length=11)
#   ```
# related_resources:
#   - ref: https://cwe.mitre.org/data/definitions/311.html
#     description: "CWE-311: Missing Encryption of Sensitive Data"
#   - ref: https://cwe.mitre.org/data/definitions/312.html
#     description: "CWE-312: Cleartext Storage of Sensitive Information"
#   - ref: https://owasp.org/Top10/A02_2021-Cryptographic_Failures/
#     description: "OWASP Top 10 A02:2021 Cryptographic Failures"
# custom:
#   id: unencrypted-sensitive-field
#   severity: warning
package tenantlint.rules.unencrypted_sensitive_field

import rego.v1

import data.tenantlint.lib

violations := [v |
	some field in input.fields
	field.sensitive == true
	not field.encrypted == true
	object.get(field, "plaintext", true) == true
	v := located(field)
]

located(field) := lib.field_violation("unencrypted-sensitive-field", field, field_message(field)) if {
	is_string(field.model)
}

# A DDL column: the level comes from the rule's options (default info), not the rule's severity.
located(field) := object.union(
	lib.field_violation("unencrypted-sensitive-field", field, field_message(field)),
	{"severity": ddl_severity},
) if {
	not is_string(field.model)
}

ddl_severity := object.get(object.get(lib.rule_settings("unencrypted-sensitive-field"), "options", {}), "ddl_severity", "info")

field_message(field) := concat("", [
	"sensitive field ", field_owner(field), ".", field.name, " is declared as ", field.type,
	" and stored in plaintext: use an encrypted field type",
])

field_owner(field) := field.table if is_string(field.table) else := field.model
