-- Right: every tenant-owned table is restricted to the caller's practice.
SELECT id, name, phone FROM patients WHERE practice_id = %(practice_id)s ORDER BY name;

SELECT n.body
FROM notes n
JOIN patients p ON p.id = n.patient_id
WHERE p.practice_id = %(practice_id)s AND p.id = %(patient_id)s;

SELECT p.name FROM patients p JOIN staff s ON s.practice_id = p.practice_id AND s.id = %(staff_id)s;

SELECT name FROM drugs ORDER BY name;

UPDATE patients SET phone = %(phone)s WHERE id = %(id)s AND practice_id = %(practice_id)s;

-- Wrong: a lookup by id alone reads any practice's patient (IDOR).
-- EXPECT missing-tenant-filter
SELECT name, phone, hiv_status FROM patients WHERE id = %(id)s;

-- Wrong: the OR lets the search match patients of every practice.
-- EXPECT missing-tenant-filter
SELECT id, name FROM patients WHERE practice_id = %(practice_id)s OR name ILIKE %(q)s;

-- Wrong: the LEFT JOIN's ON does not restrict the patients on its left.
-- EXPECT missing-tenant-filter
SELECT p.name, n.body FROM patients p LEFT JOIN notes n ON n.patient_id = p.id AND n.practice_id = %(practice_id)s;

-- Wrong: deletes notes of every practice that share the patient id.
-- EXPECT unscoped-write
DELETE FROM notes WHERE patient_id = %(patient_id)s;

-- Wrong: the whole patients table, every practice, written out at once.
-- EXPECT bulk-export
COPY (SELECT name, phone, hiv_status FROM patients) TO STDOUT WITH (FORMAT csv);
