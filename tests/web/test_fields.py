"""Model fields carry their declared type, and encrypted types are recognised (issue 4)."""

from __future__ import annotations

import textwrap

import pytest

from tenantlint.config import Config
from tenantlint.extract import extract
from tenantlint.program.link import link

DJANGO = """
from django.db import models
from encrypted_model_fields.fields import EncryptedCharField
from pgcrypto import fields as pg

class Patient(models.Model):
    practice = models.ForeignKey("Practice", on_delete=models.CASCADE)
    ssn = models.CharField(max_length=11)
    notes = models.TextField()
    tax_id = EncryptedCharField(max_length=20)
    card = pg.PGPSymmetricKeyField()
    vault = VaultTextField()
"""
SQLALCHEMY = """
from sqlalchemy import Column, Integer, String, Unicode
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy_utils import EncryptedType, StringEncryptedType

class Base(DeclarativeBase):
    pass

class Patient(Base):
    __tablename__ = "patients"
    id = Column(Integer, primary_key=True)
    practice_id = Column(Integer)
    ssn = Column(String(11))
    notes = Column("notes", StringEncryptedType(Unicode, "key"))
    tax_id = Column(EncryptedType(String, "key"))
    card: Mapped[str] = mapped_column(StringEncryptedType(String, "key"))
    vault: Mapped[str] = mapped_column(String)
"""


def fields(source: str, path: str) -> dict[str, tuple]:
    config = Config(tenant_columns=("practice_id",), sensitive_columns=("patients.*", "*_patient.*"),
                    encrypted_field_types=(*Config().encrypted_field_types, "VaultTextField"))
    facts = extract(path, textwrap.dedent(source).encode(), config)
    document = link([facts], config)
    return {f["name"]: (f["type"], f["sensitive"], f["encrypted"], f.get("plaintext")) for f in document["fields"]}


@pytest.mark.parametrize("source, path", [(DJANGO, "app/models.py"), (SQLALCHEMY, "app/models.py")])
def test_field_types_and_encryption(source, path):
    found = fields(source, path)
    assert found["ssn"][1:] == (True, False, True)
    assert found["tax_id"][1:3] == (True, True)
    assert found["card"][1:3] == (True, True)
    if "VaultTextField" in source:
        assert found["vault"] == ("VaultTextField", True, True, False)
        assert found["notes"] == ("TextField", True, False, True)
        assert found["ssn"][0] == "CharField" and found["tax_id"][0] == "EncryptedCharField"
    else:
        assert found["vault"] == ("String", True, False, True)
        assert found["notes"] == ("StringEncryptedType", True, True, False)
        assert found["ssn"][0] == "String" and found["tax_id"][0] == "EncryptedType"


def test_encrypted_sensitive_columns_are_not_named_in_export_messages():
    config = Config(tenant_columns=("practice_id",), sensitive_columns=("patients.*",))
    facts = extract("app/models.py", textwrap.dedent(SQLALCHEMY).encode(), config)
    assert link([facts], config)["tables"]["patients"]["sensitive_columns"] == ["id", "practice_id", "ssn", "vault"]
