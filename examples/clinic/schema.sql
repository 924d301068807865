CREATE TABLE practices (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE staff (id bigserial PRIMARY KEY, practice_id bigint NOT NULL REFERENCES practices(id), email text);
CREATE TABLE patients (
    id bigserial PRIMARY KEY,
    practice_id bigint NOT NULL REFERENCES practices(id),
    name text NOT NULL,
    phone text,
    hiv_status text
);
CREATE TABLE notes (
    id bigserial PRIMARY KEY,
    practice_id bigint NOT NULL,
    patient_id bigint NOT NULL REFERENCES patients(id),
    body text
);
CREATE TABLE drugs (id bigserial PRIMARY KEY, name text NOT NULL);
