"""tenantlint's built-in Rego policies (data files; installed as ``tenantlint.policies``)."""
