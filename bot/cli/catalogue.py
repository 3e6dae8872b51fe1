"""The table of `modeltrail` commands: each name, the command module that defines it and its
one-line help. The group lists commands from this table and imports a command's module only
when that command runs, so `modeltrail diff` does not pay for importing what `serve`, `import`
or `digest` import at their top. tests/bot/test_cli_catalogue.py checks the table against the
real commands (names, modules, help), so the two cannot drift apart.
"""

from __future__ import annotations

from gettext import gettext
from importlib import import_module

import click

# name -> (module under modeltrail.bot.cli, the first sentence of the command's help)
COMMANDS: dict[str, tuple[str, str]] = {
    "approve": (
        "approvals",
        "Approve promotion request ID; the approval that completes it promotes the version "
        "through the gate (you cannot approve your own request).",
    ),
    "ask": ("ask", "Ask about the registry in plain words, e.g."),
    "audit": ("audit", "The append-only, hash-chained audit trail."),
    "changelog": (
        "reports",
        "The model's whole history, newest first, each version against its parent.",
    ),
    "demo": (
        "demo",
        "Create a demo project, train and register real versions, and report what changed.",
    ),
    "diff": (
        "reports",
        "What changed between two versions: V1 V2, V against its parent, or the newest two.",
    ),
    "digest": (
        "digest",
        "The digest email: what happened per model in a period (`modeltrail serve` sends it "
        "on MODELTRAIL_DIGEST_SCHEDULE).",
    ),
    "files": ("files", "List the files that ship with modeltrail, or print one (e.g."),
    "gate": (
        "governance",
        "Show or set which findings block a promotion to production for a model.",
    ),
    "gc": (
        "vault",
        "Remove the stored blobs no version references (e.g. left by a crash between storing "
        "and registering).",
    ),
    "goal": (
        "governance",
        "Set a metric's goal and tolerance for a model (used by diffs and gates).",
    ),
    "golden": (
        "stages",
        "Mark the stable baseline version (one per model) that reports compare against.",
    ),
    "history": (
        "stages",
        "The stage timeline: which version was in production from when to when, who, why.",
    ),
    "import": ("imports", "Import versions recorded by another tool (MLflow)."),
    "init": ("records", "Create the registry database (or migrate it to this release's schema)."),
    "list": (
        "records",
        "List models (latest version, counts), or one model's versions newest first.",
    ),
    "monitor": (
        "monitor",
        "Production monitoring: live metrics, data drift against the training profile, alerts.",
    ),
    "note": ("governance", "Add a note to a version (audited; notes are never edited)."),
    "notify": ("serve", "Show or set where and when a model's reports are posted."),
    "outbox": ("outbox", "Notifications waiting to be delivered (Slack posts, emails)."),
    "owners": (
        "approvals",
        "Show or change who may change MODEL's stages from Slack and approve its promotions "
        "(besides MODELTRAIL_SLACK_ADMINS): Slack user IDs (U…) and user groups (S…).",
    ),
    "policy": ("approvals", "Show or set whether promoting MODEL to production needs approval."),
    "promote": (
        "stages",
        "Move a version to production (default) or staging, through the promotion gate.",
    ),
    "pull": (
        "vault",
        "Write a version's stored artifacts into TARGET, verifying every sha256 while writing.",
    ),
    "register": ("records", "Register a version from files and flags (for CI and shells)."),
    "reject": ("approvals", "Reject (or, as its requester, withdraw) promotion request ID."),
    "reproduce": (
        "reproduce",
        "The exact recipe to rebuild a version: commit, packages, data digests, params.",
    ),
    "requests": (
        "approvals",
        "List promotion requests waiting for approval (of MODEL, or of every model).",
    ),
    "retention": ("stages", "Archive versions far behind production."),
    "retire": ("stages", "Archive a version with a required reason."),
    "rollback": (
        "stages",
        "Archive the current production and bring back the previous production version.",
    ),
    "serve": (
        "serve",
        "Run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP on /slack/events), "
        "/healthz, and the dispatcher that posts change reports.",
    ),
    "show": ("records", "Show everything recorded for a version (default: the newest)."),
    "slack": ("files", "Setting up the Slack app."),
    "tag": ("governance", "Set or remove tags on a version (audited)."),
    "token": ("tokens", "Scoped, expiring API tokens (only their hash is stored)."),
    "verify": (
        "vault",
        "Re-hash a version's stored artifacts and the data at its recorded paths.",
    ),
}


def load_command_module(name: str) -> None:
    """Import the module that defines command `name`; importing it registers its commands."""
    import_module(f"{__package__}.{COMMANDS[name][0]}")


class LazyGroup(click.Group):
    """A click group whose commands come from COMMANDS, each module imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            load_command_module(cmd_name)
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in COMMANDS and args[0] not in self.commands:
            # A mistyped name: click suggests close names from the loaded commands only.
            for name in COMMANDS:
                load_command_module(name)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own listing (Group.format_commands) over stand-ins carrying the table's
        # help, so click shortens each sentence to the width as it would the real help
        rows = [
            (name, self.commands.get(name) or click.Command(name, help=COMMANDS[name][1]))
            for name in self.list_commands(ctx)
        ]
        shown = [(name, command) for name, command in rows if not command.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section(gettext("Commands")):
            formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in shown])
