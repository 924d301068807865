"""Command line: a thin layer over the library. Every library error becomes exit 2 with one line."""

from __future__ import annotations

import sys

import click

from tenantlint import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so the scan unwinds (workers killed) like Ctrl-C."""


def _terminated(signum, frame):
    raise _Terminated()


class _Group(click.Group):
    """Turns every error into a one-line message and exit code 2; never a traceback."""

    def main(self, *args, **kwargs):
        kwargs.setdefault("standalone_mode", False)
        import signal

        signal.signal(signal.SIGTERM, _terminated)
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
            click.echo("tenantlint: interrupted (SIGINT): nothing reported", err=True)
            sys.exit(EXIT_ERROR)
        except _Terminated:
            click.echo("tenantlint: terminated (SIGTERM): nothing reported", err=True)
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
@click.version_option(__version__, "-V", "--version", prog_name="tenantlint", message="%(prog)s %(version)s")
def cli() -> None:
    """Find code through which one tenant's data can reach another tenant."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_path", type=click.Path(), help="Config file (default: nearest tenantlint.yaml).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif", "github", "html"]), default="text",
              show_default=True, help="github: workflow commands that annotate a pull request; html: one "
                                      "self-contained page for reviewers (use with -o).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to FILE.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), help="Lowest severity that fails.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes that parse files (default: one per CPU).")
@click.option("--cache-dir", type=click.Path(file_okay=False), envvar="TENANTLINT_CACHE_DIR", show_envvar=True,
              help="Where to keep per-file facts and policy answers (default: .tenantlint_cache next to the "
                   "config file, else here).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the facts cache.")
@click.option("--baseline", type=click.Path(dir_okay=False), help="Report only findings that FILE does not record.")
@click.option("--write-baseline", type=click.Path(dir_okay=False), help="Record the current findings in FILE.")
@click.option("--diff", "diff_ref", metavar="REF", help="Report only findings on lines changed since the merge base with REF.")
@click.option("--show-suppressed", is_flag=True, help="List findings silenced by inline comments, with reasons.")
@click.option("--ignore-suppressions", is_flag=True, help="Disregard every inline tenantlint: ignore comment.")
@click.option("--policy", "policy_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Extra policy folder (repeatable), added to config 'policies'.")
@click.option("--opa-url", metavar="URL", help="Evaluate on this OPA server instead of the embedded engine.")
@click.option("--strict", is_flag=True, help="Exit 2 when any file or statement could not be analysed.")
@click.option("--select", "select", metavar="RULE,...", help="Report only these rules.")
@click.option("--ignore", "ignore", metavar="RULE,...", help="Do not evaluate these rules.")
@click.option("--extend-select", "extend_select", metavar="RULE,...",
              help="Also these rules, even where the config disables them.")
@click.option("--quiet", "-q", is_flag=True, help="Text: only the finding and error lines.")
@click.option("--statistics", is_flag=True, help="Text: counts by rule instead of the findings.")
@click.option("--show-info", is_flag=True,
              help="Text: list the info findings of background, command, admin and unreachable code "
                   "too; by default they are counted by context.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings fail the run (errors still exit 2).")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Colour severities (auto: on a terminal, unless NO_COLOR is set).")
def scan(paths, config_path, fmt, output, fail_on, jobs, cache_dir, no_cache, baseline, write_baseline, diff_ref,
         show_suppressed, ignore_suppressions, policy_dirs, opa_url, strict, select, ignore, extend_select,
         quiet, statistics, show_info, exit_zero, color):
    """Scan PATHS (default: .) and report findings. Exit 0 clean, 1 findings, 2 errors."""
    from tenantlint.report import render
    from tenantlint.scan import scan as run_scan

    if output:
        _check_writable(output, "--output")
    if write_baseline:
        _check_writable(write_baseline, "--write-baseline")
    if _ENDS_WITH_EXIT:
        from tenantlint.scan import keep_until_exit

        keep_until_exit()
    result = run_scan(list(paths) or ["."], config_path=config_path, fail_on=fail_on,
                      jobs=jobs, cache_dir=cache_dir, use_cache=not no_cache, baseline=baseline,
                      write_baseline=write_baseline, diff=diff_ref, show_suppressed=show_suppressed,
                      ignore_suppressions=ignore_suppressions, policy_dirs=policy_dirs, opa_url=opa_url,
                      select=_rule_list(select), ignore=_rule_list(ignore), extend_select=_rule_list(extend_select))
    for warning in result.warnings:  # a setting that matches nothing: the silent "0 findings"
        click.echo(f"tenantlint: warning: {warning}", err=True)
    for skipped in result.skipped:  # a path given by name is never left out silently
        click.echo(f"tenantlint: note: {skipped['path']} not scanned: {skipped['reason']}", err=True)
    if write_baseline:
        kept = result.baseline.get("kept", 0)
        click.echo(f"tenantlint: wrote {result.baseline['matched']} findings to baseline {write_baseline}"
                   + (f" (kept {kept} accepted entries of files this scan did not read)" if kept else ""), err=True)
    colored = _use_color(color, output)
    text = render(result, fmt, quiet=quiet, statistics=statistics, color=colored, show_info=show_info)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False, color=colored)  # click strips ANSI codes off a pipe unless told
    if strict and result.errors:  # a CI gate must not pass on what it did not read
        files = len({e["path"] for e in result.errors})
        click.echo(f"tenantlint: error: --strict: {len(result.errors)} error(s) in {files} file(s) "
                   "that could not be fully analysed (listed under errors)", err=True)
        return EXIT_ERROR
    return EXIT_FINDINGS if result.failed and not exit_zero else EXIT_OK


def _use_color(choice: str, output: str | None) -> bool:
    import os

    if choice != "auto":
        return choice == "always"
    return not output and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _rule_list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _check_writable(path: str, option: str) -> None:
    """Fail before the scan, not after it, when its report could not be written."""
    import os
    from pathlib import Path

    from tenantlint.errors import UsageError

    folder = Path(path).parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (Path(path).exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path}: not writable")


@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--config", "config_path", type=click.Path(), help="Config file (default: nearest tenantlint.yaml).")
@click.option("--schema", "schema", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="SQL file(s) declaring the tables (default: the project's schema, read from here).")
@click.option("--dsn", metavar="URL", help="Read the schema and row-level security from this database (read-only; "
                                          "needs tenantlint[postgres]).")
@click.option("--prefix", default="%m [%p] ", show_default=True, help="The server's log_line_prefix (stderr logs).")
@click.option("--input-format", "kind", type=click.Choice(["auto", "stderr", "csvlog", "jsonlog", "pgss", "capture"]),
              default="auto", show_default=True,
              help="pgss: a pg_stat_statements export (CSV or JSON); capture: pytest --tenantlint-capture.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(["error", "warning", "never"]), help="Lowest severity that fails.")
def logs(files, config_path, schema, dsn, prefix, kind, fmt, fail_on):
    """Judge the statements of PostgreSQL logs (FILES; - for stdin, .gz read as is)."""
    from tenantlint.logs import audit_logs
    from tenantlint.report import render

    result = audit_logs(list(files), config_path=config_path, schema=schema, prefix=prefix, fail_on=fail_on,
                        kind=kind, dsn=dsn)
    click.echo(render(result, fmt), nl=False)
    return EXIT_FINDINGS if result.failed else EXIT_OK


@cli.command()
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--pyproject", is_flag=True, help="Write [tool.tenantlint] into PATH/pyproject.toml instead.")
@click.option("--force", is_flag=True, help="Overwrite an existing tenantlint.yaml.")
def init(path, pyproject, force):
    """Propose a config from PATH's schema (DDL, Django and SQLAlchemy models) and write it."""
    from tenantlint.infer import init_project

    target, reasons = init_project(path, pyproject=pyproject, force=force)
    for reason in reasons:
        click.echo(f"  {reason}")
    click.echo(f"tenantlint: wrote {target}; check it, then run tenantlint scan {path}")
    return EXIT_OK


_policy_option = click.option("--policy", "policy_dirs", multiple=True, type=click.Path(file_okay=False),
                              help="Extra policy folder (repeatable), added to config 'policies'.")
_config_option = click.option("--config", "config_path", type=click.Path(),
                              help="Config file (default: nearest tenantlint.yaml).")


def _rules(config_path, policy_dirs):
    from tenantlint.config import load_config
    from tenantlint.engine import load_policy_dirs
    from tenantlint.rules import load_rules

    config = load_config(config_path)
    return load_rules(load_policy_dirs(config, policy_dirs), config)


@cli.command()
@_config_option
@_policy_option
def rules(config_path, policy_dirs):
    """List the rules: id, severity, title, enabled, source."""
    from tenantlint.rules import format_rules

    click.echo(format_rules(_rules(config_path, policy_dirs)), nl=False)


@cli.command()
@click.argument("rule_id", metavar="RULE")
@_config_option
@_policy_option
def explain(rule_id, config_path, policy_dirs):
    """Print the documentation of RULE, from its policy's METADATA."""
    from tenantlint.rules import find_rule, format_explanation

    click.echo(format_explanation(find_rule(_rules(config_path, policy_dirs), rule_id)), nl=False)


@cli.command()
def schema():
    """Print the JSON Schema of the input document that policies receive."""
    from tenantlint.schema import schema_text

    click.echo(schema_text(), nl=False)


@cli.group()
def policy():
    """Work with Rego policies."""


@policy.command("test")
@click.argument("dirs", nargs=-1, type=click.Path(exists=True, file_okay=False))
def policy_test(dirs):
    """Run the policy tests in DIRS (default: the built-in policies). Exit 1 if one fails."""
    from tenantlint.policy_test import format_results, run_policy_tests

    results = run_policy_tests(list(dirs))
    if not results:  # exit 1 as before, but say why: a folder of policies with no tests
        click.echo(f"tenantlint: no policy tests found in {', '.join(dirs) or 'the built-in policies'} "
                   "(*_test.rego files, or *_test.yaml beside a rule)", err=True)
    click.echo(format_results(results), nl=False)
    return EXIT_OK if results and all(r.passed for r in results) else EXIT_FINDINGS


def main() -> None:
    """The command line; ends by raising ``SystemExit`` with the exit code."""
    cli.main(prog_name="tenantlint")


def run() -> None:
    """The installed program: :func:`main`, then ``os._exit`` once the output is flushed
    (as mypy ends). The interpreter's own exit would free a large project's facts object by
    object, a tenth of a second of a pre-commit hook's run; the scan keeps them for it."""
    import gc
    import os

    global _ENDS_WITH_EXIT
    _ENDS_WITH_EXIT = True
    gc.disable()  # a short-lived process: nothing to collect that its end will not free
    try:
        main()
        code = EXIT_OK
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):  # sys.exit("message"), as Python prints it
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head): nothing more to say
            pass
    os._exit(code or 0)


_ENDS_WITH_EXIT = False  # set by run(): the scan need not free what it built


if __name__ == "__main__":
    run()
