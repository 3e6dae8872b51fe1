"""`modeltrail reproduce`: the recipe to rebuild a version, printed or written out as files.
Registered on `common.app`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from modeltrail.bot.cli.common import app, open_registry, say


@app.command()
@click.argument("model", metavar="MODEL[@REF]")
@click.argument("version", required=False)
@click.option(
    "--write",
    "write_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write requirements.txt, params.yaml and verify-data.sh here.",
)
def reproduce(model: str, version: str | None, write_dir: Path | None) -> None:
    """The exact recipe to rebuild a version: commit, packages, data digests, params.

    VERSION (default: latest) is a number or a stage; `reproduce M@production` works too."""
    from modeltrail.core.lifecycle.reproduce import build_recipe
    from modeltrail.core.refs import parse_ref
    from modeltrail.templates.render import render

    ref = parse_ref(model, version)
    registry = open_registry()
    try:
        recipe = build_recipe(registry.resolve(str(ref)))
    finally:
        registry.close()
    written: list[str] = []
    if write_dir is not None:
        written = _write_recipe(recipe, write_dir)
    say(
        render(
            "reproduce.txt.j2", "text", recipe=recipe, written=written, directory=str(write_dir)
        ).rstrip()
    )


def _write_recipe(recipe: Any, directory: Path) -> list[str]:
    import yaml

    from modeltrail.core.errors import UsageError

    try:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "requirements.txt").write_text(
            "".join(f"{line}\n" for line in recipe.requirements), encoding="utf-8"
        )
        (directory / "params.yaml").write_text(
            yaml.safe_dump(recipe.params_tree, sort_keys=True, allow_unicode=True),
            encoding="utf-8",
        )
        script = directory / "verify-data.sh"
        script.write_text(recipe.verify_script, encoding="utf-8")
        script.chmod(0o755)
    except OSError as exc:
        raise UsageError(f"cannot write the recipe to {directory}: {exc.strerror or exc}") from None
    return ["requirements.txt", "params.yaml", "verify-data.sh"]
