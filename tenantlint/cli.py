"""Command line: a thin layer over the library. Every library error becomes exit 2 with one line."""

from __future__ import annotations

import sys

import click

from tenantlint import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Group(click.Group):
    """Turns every error into a one-line message and exit code 2; never a traceback."""

    def main(self, *args, **kwargs):
        kwargs.setdefault("standalone_mode", False)
        try:
            rv = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_ERROR)
        except click.exceptions.Abort:
            click.echo("tenantlint: aborted", err=True)
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt:
            click.echo("tenantlint: interrupted", err=True)
            sys.exit(EXIT_ERROR)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            from tenantlint.errors import TenantlintError

            if isinstance(exc, TenantlintError):
                click.echo(f"tenantlint: error: {exc}", err=True)
            else:
                click.echo(f"tenantlint: internal error: {type(exc).__name__}: {exc}", err=True)
            sys.exit(EXIT_ERROR)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="tenantlint", message="%(prog)s %(version)s")
def cli() -> None:
    """Find code through which one tenant's data can reach another tenant."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_path", type=click.Path(), help="Config file (default: nearest tenantlint.yaml).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), help="Lowest severity that fails.")
def scan(paths, config_path, fmt, output, fail_on):
    """Scan PATHS (default: .) and report findings. Exit 0 clean, 1 findings, 2 errors."""
    from tenantlint.report import render
    from tenantlint.scan import scan as run_scan

    result = run_scan(list(paths) or ["."], config_path=config_path, fail_on=fail_on)
    text = render(result, fmt)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)
    return EXIT_FINDINGS if result.failed else EXIT_OK


def main() -> None:
    cli.main(prog_name="tenantlint")


if __name__ == "__main__":
    main()
