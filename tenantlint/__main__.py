from tenantlint.cli import run

run()
