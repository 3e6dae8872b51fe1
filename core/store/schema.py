"""The registry's tables, as SQLAlchemy Core metadata.

Core rather than ORM classes: every read and write goes through a handful of explicit
statements in `registry.py`, and keeping `sqlalchemy.orm` out of the import graph saves a
tenth of a second on every CLI call (the `show` budget is 0.4 s for a fresh process).

Timestamps are stored as naive UTC and handed out timezone-aware. Metric points keep theirs as
epoch seconds (a float), because per-row datetime conversion would dominate metric ingest.
JSON-shaped values are stored as text we serialise ourselves, so SQLite and PostgreSQL hold
byte-identical content (the audit hash chain depends on that).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC)


models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Added in 0002: the stable baseline that reports compare against (one per model).
    Column("golden_version_id", Integer),
)

# Added in 0002: per-model settings as JSON values (gate rules, Slack channel, …).
model_settings = Table(
    "model_settings",
    metadata,
    Column("model_id", ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

metric_goals = Table(
    "metric_goals",
    metadata,
    Column("model_id", ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(250), primary_key=True),
    Column("goal", String(10), nullable=False),
    Column("tolerance", Float, nullable=False),
)

environments = Table(
    "environments",
    metadata,
    Column("fingerprint", String(64), primary_key=True),
    Column("python_version", String(50), nullable=False),
    Column("python_implementation", String(50), nullable=False),
    Column("platform", String(300), nullable=False),
    Column("machine", String(50), nullable=False),
    Column("cpu_model", String(300)),
    Column("cpu_count", Integer),
    Column("gpus", Text, nullable=False),  # JSON list
    Column("packages", Text, nullable=False),  # JSON object name -> version
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version", String(50), nullable=False),
    Column("major", Integer, nullable=False),
    Column("minor", Integer, nullable=False),
    Column("patch", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("actor", String(300), nullable=False),
    Column("description", Text),
    Column("stage", String(20), nullable=False, server_default="none"),
    Column("parent_id", ForeignKey("versions.id")),
    Column("code_repo_root", Text),
    Column("code_commit", String(64)),
    Column("code_branch", String(300)),
    Column("code_remote_url", Text),
    Column("code_dirty", Boolean),
    Column("code_dirty_files", Text),  # JSON list
    Column("code_diff_digest", String(64)),
    Column("environment_fingerprint", ForeignKey("environments.fingerprint")),
    UniqueConstraint("model_id", "version"),
    Index("ix_versions_order", "model_id", "major", "minor", "patch"),
    Index("ix_versions_commit", "code_commit"),
    Index("ix_versions_stage", "model_id", "stage"),  # added in 0002
    # Added in 0010: the database itself refuses a second production version of a model.
    # Migration 0010 gives PostgreSQL the same predicate; naming it here (postgresql_where)
    # would make SQLAlchemy import its PostgreSQL dialect in every SQLite process (~25 ms
    # of a `register`), and nothing creates tables from this metadata.
    Index(
        "ux_versions_one_production",
        "model_id",
        unique=True,
        sqlite_where=text("stage = 'production'"),
    ),
)

params = Table(
    "params",
    metadata,
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(500), primary_key=True),
    Column("value", Text, nullable=False),  # JSON
)

# A metric of a version: its final value, and (0011) a small integer id that keys its
# history, so a million points do not repeat the version id and the name in every row.
metrics = Table(
    "metrics",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("value", Float, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", Float, nullable=False),
    Column("history_count", Integer, nullable=False),
    UniqueConstraint("version_id", "name"),
)

# Clustered by (metric_id, seq) on SQLite (WITHOUT ROWID): one B-tree, appended in key order.
# No foreign key to metrics.id: only the registry writes these rows, with their metric in the
# same transaction, and nothing deletes either; PostgreSQL checks a foreign key with a trigger
# per row, which took 3.3 of 4.7 s to COPY a million points (bench/RESULTS.md, issue 18).
metric_points = Table(
    "metric_points",
    metadata,
    Column("metric_id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("timestamp", Float, nullable=False),
    sqlite_with_rowid=False,
)

data_snapshots = Table(
    "data_snapshots",
    metadata,
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(200), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("path", Text, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("digest", String(64)),
    Column("size", BigInteger),
    Column("file_count", Integer),
    Column("manifest", Text),  # JSON list of [path, size, digest]
    Column("dvc_md5", String(80)),
    Column("dvc_source", Text),
    Index("ix_data_snapshots_digest", "digest"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(300), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("uri", Text, nullable=False),
    Column("digest", String(64)),
    Column("size", BigInteger),
    # Added in 0007: True when the bytes are kept in the artifact store (core/vault).
    Column("stored", Boolean, nullable=False, server_default=false()),
    Column("kind", String(20)),  # file | directory; None for a URI or before 0007
)

tags = Table(
    "tags",
    metadata,
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False),
    Column("actor", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_notes_version", "version_id"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("created_at", Text, nullable=False),  # ISO 8601 UTC, exactly as hashed
    Column("actor", String(300), nullable=False),
    Column("action", String(50), nullable=False),
    Column("model", String(200)),
    Column("version", String(50)),
    Column("before", Text),  # canonical JSON
    Column("after", Text),  # canonical JSON
    Column("reason", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Added in 0010: the hash is an HMAC under MODELTRAIL_AUDIT_KEY (plain sha256 otherwise).
    Column("keyed", Boolean, nullable=False, server_default=false()),
    Index("ix_audit_events_model", "model", "seq"),
)

# One row (id = 1). Every audit append updates it, which serialises appends on PostgreSQL
# through the row lock, so the hash chain never forks under concurrent writers.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    # Added in 0010: the first event held to the rules that release introduced.
    Column("rules_from", Integer, nullable=False, server_default="1"),
)


# Added in 0002: every stage move, for history, `--at` and rollback.
stage_changes = Table(
    "stage_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("from_stage", String(20), nullable=False),
    Column("to_stage", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("actor", String(300), nullable=False),
    Column("reason", Text),
    # Added in 0005: the intent behind the move (promote, rollback, retire, retention, …);
    # rollback needs it to tell "superseded" from "rolled back".
    Column("action", String(30)),
    Index("ix_stage_changes_model", "model_id", "id"),
)

# Added in 0002: notifications written in the same transaction as the change they announce.
# Consumers claim rows (FOR UPDATE SKIP LOCKED on PostgreSQL, under SQLite's single writer
# lock otherwise) for a lease, then mark them done with the claim token they got.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("topic", String(100), nullable=False),
    Column("model", String(200)),
    Column("version", String(50)),
    Column("payload", Text, nullable=False),  # JSON
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("status", String(20), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claim_token", String(64)),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("done_at", UTCDateTime),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

# Added in 0003: deliveries already handled (Slack event IDs, webhook delivery IDs), so a
# retry from the sender is recognised by every replica.
processed_events = Table(
    "processed_events",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("seen_at", UTCDateTime, nullable=False),
)

# Added in 0004: the digest delivery ledger, one row per (period, recipient). Schedulers insert
# rows (on conflict: nothing) and claim them like the outbox, so each recipient gets each
# period's digest once, whichever `serve` process gets there first.
digest_deliveries = Table(
    "digest_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("period_key", String(100), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("first_day", String(10), nullable=False),  # local dates, ISO
    Column("last_day", String(10), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claim_token", String(64)),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("message_id", String(200)),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("period_key", "recipient"),
    Index("ix_digest_deliveries_due", "status", "next_attempt_at"),
)


# Added in 0005: LLM summaries by diff digest, prompt version and model, so none is paid twice.
summaries = Table(
    "summaries",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("model", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
)


# Added in 0006: monitoring. The profile of each tabular data snapshot (profiles.Profile as
# JSON), per version and role; observations from production (live metrics, and drift results
# of data batches) with the time they were observed and the version they belong to; and the
# alert state per version and condition ("drift:COLUMN", "skew:COLUMN", "decay:METRIC"), so an
# alert is not repeated until its condition clears or worsens.
data_profiles = Table(
    "data_profiles",
    metadata,
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(200), primary_key=True),
    Column("profile", Text, nullable=False),  # JSON
)

monitor_observations = Table(
    "monitor_observations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),  # metrics | batch
    Column("observed_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("actor", String(300), nullable=False),
    Column("status", String(20), nullable=False),  # ok | moderate | drift | decay
    Column("rows", BigInteger),  # batch: rows in the batch
    Column("payload", Text, nullable=False),  # JSON: metrics, or the drift report
    Index("ix_monitor_observations_version", "version_id", "observed_at"),
)

monitor_alerts = Table(
    "monitor_alerts",
    metadata,
    Column("version_id", ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("condition", String(300), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("level", String(20), nullable=False),
    Column("magnitude", Float, nullable=False),
    Column("since", UTCDateTime),  # first observation of the current episode (None: clear)
    Column("alerted_level", String(20)),
    Column("alerted_magnitude", Float),
    Column("alerted_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("detail", Text),  # JSON of the last observation of this condition
)


# Added in 0007: API tokens for the read API, the pages and the monitoring POST. Only the
# sha256 of a token is kept; `prefix` (its first characters) lets people recognise one.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("scope", String(20), nullable=False),
    Column("model", String(200)),  # None: every model
    Column("name", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(300), nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("revoked_by", String(300)),
)


# Added in 0008: per-model owners (Slack users and user groups) who may change the model's
# stages besides the global admins; and promotion requests, when a model's policy says that
# production needs approval. A request is open until approved, rejected, or past expires_at
# (expiry is read, never written: no job has to run for a request to expire).
model_owners = Table(
    "model_owners",
    metadata,
    Column("model_id", ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(10), primary_key=True),  # user | group
    Column("slack_id", String(50), primary_key=True),
)

promotion_requests = Table(
    "promotion_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version", String(50), nullable=False),
    Column("requester", String(300), nullable=False),
    Column("reason", Text),
    Column("baseline", String(50)),  # the production version when it was asked
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("needed", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # open | approved | rejected
    Column("approvals", Text, nullable=False),  # JSON list of {actor, reason, at}
    Column("decided_by", String(300)),
    Column("decided_at", UTCDateTime),
    Column("decision_reason", Text),
    Index("ix_promotion_requests_model", "model_id", "status"),
)
