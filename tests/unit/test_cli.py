"""The command line's commands and options, which the Makefile, the README and the deployment
call, and its exit codes for a usage error and for help."""

import click

from intercom_salesforce.cli import main
from intercom_salesforce.cli.app import cli

COMMANDS = {
    "demo": {"--reset", "--contacts"},
    "sync": {"--job", "--from", "--to", "--quiet"},
    "plan": {"--partition", "--from", "--to", "--object"},
    "trace": {"IDENTIFIER", "--json"},
    "sandbox seed": {"--contacts", "--days", "--seed", "--reset"},
    "sandbox reset": {"--warehouse"},
    "sandbox serve": {"--intercom-port", "--salesforce-port"},
    "review list": {"--status", "--entity", "--rule", "--limit"},
    "review show": {"ITEM"},
    "review fix": {"ITEM", "--note"},
    "review dismiss": {"ITEM", "--note"},
    "review reopen": {"ITEM", "--note"},
    "review merge": {"ITEM", "--survivor", "--note", "--by", "--force"},
    "webhooks serve": {"--host", "--port"},
}


def leaves(group: click.Group, prefix: str = "") -> dict[str, set[str]]:
    found = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.update(leaves(command, path + " "))
        else:
            found[path] = {
                p.opts[0] if isinstance(p, click.Option) else p.human_readable_name
                for p in command.params
            }
    return found


def test_commands_and_options():
    assert leaves(cli) == COMMANDS


def test_usage_errors_exit_2_and_help_exits_0(capsys):
    assert main([]) == 2
    assert main(["review"]) == 2
    assert main(["sync", "--job", "nope"]) == 2
    assert main(["plan", "--object", "Opportunity"]) == 2
    assert main(["plan", "--partition", "2026-01-01", "--from", "2026-01-01"]) == 2
    assert main(["review", "show", "not-a-number"]) == 2
    assert main(["review", "merge", "1"]) == 2  # --survivor is required
    assert main(["-h"]) == 0
    assert main(["review", "merge", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: intercom-salesforce review merge" in out
