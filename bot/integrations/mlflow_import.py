"""Import MLflow's registered models and versions into the registry.

`MlflowSource` (`mlflow_source`) reads MLflow and hands over the plain values of
`mlflow_mapping`, which decides what they become (with `mlflow_draft` for a version's
contents); `MlflowImporter` writes the result through the registry.

Incremental and idempotent: a version imported before is found by its (`mlflow.model_name`,
`mlflow.version`) tags; for it only what MLflow lets change is looked at (tags, aliases, the
description), and nothing is written when nothing changed. MLflow does not timestamp tag and
alias changes, so every pass also compares those with what is recorded here, whatever
`since` or `only` say: an alias moved away from a version is seen on it too. New versions are
registered with the audit action "import" (the version keeps MLflow's time and user, the
audit event the importer's); new production/staging aliases promote (see the mapping
module). A version that cannot be imported is skipped and reported; the others go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from modeltrail.bot.integrations.mlflow_draft import build_draft, mutable_tags, plan_update
from modeltrail.bot.integrations.mlflow_mapping import (
    TAG_MODEL,
    TAG_VERSION,
    AliasRule,
    MlflowVersion,
    VersionRule,
    known_aliases,
    modeltrail_model_name,
    plan_stage_moves,
    plan_stages,
)
from modeltrail.bot.integrations.mlflow_source import (
    MlflowNotFound,
    MlflowSource,
    MlflowUnreachable,
)
from modeltrail.core.config import Settings
from modeltrail.core.errors import (
    DatabaseError,
    DuplicateVersionError,
    ModeltrailError,
    UsageError,
)
from modeltrail.core.lifecycle.rules import LifecycleError
from modeltrail.core.registry.writer import Registry

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class ImportReport:
    imported: list[tuple[str, int, str]] = field(default_factory=list)  # model, N, version
    updated: list[tuple[str, str, str]] = field(default_factory=list)  # model, version, what
    moved: list[tuple[str, str, str, str]] = field(default_factory=list)  # model, v, stage, alias
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.imported or self.updated or self.moved)

    def summary(self) -> str:
        parts = [
            f"{len(self.imported)} imported",
            f"{len(self.updated)} updated",
            f"{len(self.moved)} stage moves",
            f"{self.unchanged} unchanged",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts)


@dataclass
class MlflowImporter:
    source: MlflowSource
    registry: Registry
    actor: str
    version_rule: VersionRule = field(default_factory=VersionRule)
    alias_rule: AliasRule = field(default_factory=AliasRule)

    def import_all(
        self,
        models: Iterable[str] = (),
        *,
        since: dt.datetime | None = None,
        into: str | None = None,
        progress: Progress | None = None,
    ) -> ImportReport:
        """Import the named registered models (default: all of them)."""
        names = list(models) or self.source.model_names()
        if into is not None and len(names) != 1:
            raise UsageError("--into needs exactly one --model")
        report = ImportReport()
        for name in names:
            self.sync_model(name, since=since, into=into, progress=progress, report=report)
        return report

    def sync_model(
        self,
        name: str,
        *,
        only: set[int] | None = None,
        since: dt.datetime | None = None,
        into: str | None = None,
        progress: Progress | None = None,
        report: ImportReport | None = None,
    ) -> ImportReport:
        """Bring one registered model up to date: new versions imported, changed tags,
        descriptions and aliases of known ones applied. `only` limits the versions looked at
        (webhooks); `since` skips versions MLflow has not touched since then."""
        report = report if report is not None else ImportReport()
        target = into or modeltrail_model_name(name)
        versions = self.source.versions(name)
        if only is not None:
            missing = only - {v.version for v in versions}
            if missing:
                raise MlflowNotFound(f"{name!r} has no version {min(missing)} in MLflow")
        here = self._imported(target, name)
        changed = self._changed_here(target, versions, here)
        todo = [
            v
            for v in versions
            if v.version in changed
            or ((only is None or v.version in only) and _touched_since(v, since))
        ]
        previous: dict[int, set[str] | None] = {}
        for done, version in enumerate(todo, start=1):
            try:
                if version.version in here:
                    previous[version.version] = self._update(
                        target, here[version.version], version, report
                    )
                else:
                    semver = self._import(target, version, report)
                    if semver is not None:
                        here[version.version] = semver
                        previous[version.version] = None
            except (MlflowUnreachable, DatabaseError):
                raise  # nothing more can be read or written: the whole import stops
            except ModeltrailError as exc:  # this version only: the others go on
                report.skipped.append(f"{version.model} {version.version}: {exc.message}")
            if progress is not None:
                progress(f"{name} {version.version}", done, len(todo))
        self._apply_stages(target, name, versions, here, previous, report)
        return report

    def _imported(self, target: str, name: str) -> dict[int, str]:
        """MLflow version number → version here, for the versions imported from `name`."""
        numbers = self.registry.tag_values(target, TAG_VERSION)
        owners = self.registry.tag_values(target, TAG_MODEL)
        return {
            int(number): version
            for version, number in numbers.items()
            if owners.get(version) == name and number.isdigit()
        }

    def _changed_here(
        self, target: str, versions: list[MlflowVersion], here: dict[int, str]
    ) -> set[int]:
        """MLflow versions imported before whose tags or aliases (which MLflow changes without
        a timestamp) differ from what is recorded here: one lookup per tag name."""
        wanted = {v.version: mutable_tags(v) for v in versions if v.version in here}
        recorded: dict[str, dict[str, str]] = {}
        changed = set()
        for number, tags in wanted.items():
            for key, value in tags.items():
                if key not in recorded:
                    recorded[key] = self.registry.tag_values(target, key)
                if recorded[key].get(here[number]) != value:
                    changed.add(number)
                    break
        return changed

    def _import(self, target: str, version: MlflowVersion, report: ImportReport) -> str | None:
        full = self.source.with_run(version)
        mapped = build_draft(
            full, model=target, rule=self.version_rule, tracking_uri=self.source.tracking_uri
        )
        report.warnings.extend(mapped.warnings)
        try:
            record = self.registry.register(mapped.draft, actor=self.actor, action="import")
        except DuplicateVersionError:
            # Imported meanwhile by another importer (a webhook and the poller), or a version
            # registered here under the same number.
            existing = self.registry.find_version_by_tags(
                target, {TAG_MODEL: version.model, TAG_VERSION: str(version.version)}
            )
            if existing is not None:
                report.unchanged += 1
                return existing
            report.skipped.append(
                f"{version.model} {version.version}: {target} {mapped.draft.version} exists "
                "and was not imported from MLflow (choose another --version-template)"
            )
            return None
        report.imported.append((target, version.version, record.version))
        return record.version

    def _update(
        self, target: str, semver: str, version: MlflowVersion, report: ImportReport
    ) -> set[str]:
        record = self.registry.load(target, semver)
        before = known_aliases(record.tags)
        plan = plan_update(
            version,
            tags=record.tags,
            description=record.description,
            notes=[n.text for n in record.notes],
        )
        if plan.is_empty:
            report.unchanged += 1
            return before
        for key, value in plan.set_tags.items():
            self.registry.set_tag(target, semver, key, value, actor=self.actor)
        if plan.note is not None:
            self.registry.add_note(target, semver, plan.note, actor=self.actor)
        what = ", ".join([*sorted(plan.set_tags), *(["description"] if plan.note else [])])
        report.updated.append((target, semver, what))
        return before

    def _apply_stages(
        self,
        target: str,
        name: str,
        versions: list[MlflowVersion],
        here: dict[int, str],
        previous: dict[int, set[str] | None],
        report: ImportReport,
    ) -> None:
        wanted = plan_stages(versions, self.alias_rule)
        if not wanted or not here:
            return
        state = self.registry.model_state(target)
        current = {n: state.stage_of(semver) for n, semver in here.items()}
        # Versions not looked at in this pass: their aliases are as recorded, nothing is new.
        seen = {
            n: (previous[n] if n in previous else known_aliases(self._tags(target, here[n])))
            for n in wanted
            if n in here
        }
        for number, stage, alias in plan_stage_moves(
            wanted, previous_aliases=seen, current=current
        ):
            semver = here[number]
            try:
                self.registry.promote(
                    target,
                    semver,
                    to=stage,
                    actor=self.actor,
                    reason=f"imported from MLflow alias {alias}",
                    force=True,
                )
            except LifecycleError as exc:  # moved meanwhile (another importer): say so
                report.warnings.append(f"{target} {semver}: {exc.message}")
                continue
            report.moved.append((target, semver, stage, alias))

    def _tags(self, target: str, semver: str) -> dict[str, str]:
        return dict(self.registry.load(target, semver).tags)


def importer_from_settings(
    settings: Settings, registry: Registry, *, actor: str, tracking_uri: str | None = None
) -> MlflowImporter:
    """The importer `serve` (webhook, poller) and the CLI use, configured by the settings."""
    uri = tracking_uri or settings.mlflow_tracking_uri
    if not uri:
        raise UsageError(
            "no MLflow tracking URI", hint="pass --tracking-uri or set MLFLOW_TRACKING_URI"
        )
    return MlflowImporter(
        MlflowSource(uri, limits=settings.file_limits),
        registry,
        actor=actor,
        version_rule=VersionRule.parse(settings.mlflow_version_template),
        alias_rule=AliasRule.parse(settings.mlflow_aliases),
    )


def _touched_since(version: MlflowVersion, since: dt.datetime | None) -> bool:
    if since is None:
        return True
    stamp = version.updated_ms or version.created_ms
    if stamp is None:
        return True
    return stamp / 1000.0 >= since.timestamp()


def parse_since(text: str) -> dt.datetime:
    """`2026-11-01` or an ISO 8601 date-time (UTC unless it says otherwise)."""
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a date", hint="use YYYY-MM-DD or an ISO 8601 date-time"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
