# Tests of the helper library; run with `tenantlint policy test`.
package tenantlint.lib_test

import rego.v1

import data.tenantlint.lib

test_path_glob_matches_below_the_top if lib.path_glob("**/admin/*.py", "crm/admin/reports.py")

test_path_glob_leading_double_star_matches_at_the_top if lib.path_glob("**/admin/*.py", "admin/reports.py")

test_path_glob_single_star_stays_in_one_folder if not lib.path_glob("admin/*.py", "admin/sub/reports.py")

test_join_scope_is_accepted_by_default if lib.scoped({"scope": "join"})

test_join_scope_can_be_refused if {
	not lib.scoped({"scope": "join"}) with data.tenantlint.config as {"accept_join_scope": false}
}

test_none_scope_of_a_tenant_table_is_unscoped if lib.unscoped({"scope": "none", "tenant_owned": true})

test_subject_names_table_and_model if {
	lib.subject({"table": "contacts", "model": "Contact"}) == "'contacts' (model Contact)"
}

test_severity_comes_from_data if {
	lib.severity("x") == "info" with data.tenantlint.config as {"rules": {"x": {"severity": "info"}}}
}

test_disabled_rule_builds_no_violation if {
	query := {"index": 0, "path": "a.sql", "line": 1, "column": 1, "end_line": 1, "end_column": 9}
	lib.violation("x", query, {"table": "t"}, "m")
	not lib.violation("x", query, {"table": "t"}, "m") with data.tenantlint.config as {"rules": {"x": {"enabled": false}}}
}
