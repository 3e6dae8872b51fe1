"""The `modeltrail` command's entry point: runs the group (which imports a command's module
only when that command runs, see `catalogue`) and turns modeltrail's errors into a red line and
an exit code."""

from __future__ import annotations

import sys

from modeltrail.bot.cli.common import STATE, app


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; turn modeltrail's errors into a red line and an exit code."""
    from modeltrail.core.errors import ModeltrailError

    args = list(sys.argv[1:] if argv is None else argv)
    STATE.debug = "--debug" in args
    try:
        app.main(args=args, prog_name="modeltrail", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except ModeltrailError as exc:
        if STATE.debug:
            raise
        _error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted", None)
        return 130
    except Exception as exc:
        if STATE.debug:
            raise
        _error(
            f"unexpected error: {type(exc).__name__}: {exc}",
            "run again with --debug for the traceback",
        )
        return 1
    return 0


def _error(message: str, hint: str | None) -> None:
    from modeltrail.bot.terminal import console

    err = console(stderr=True)
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    if hint:
        err.print(f"[dim]hint: {escape(hint)}[/]", soft_wrap=True)


def entry() -> None:
    sys.exit(main())
