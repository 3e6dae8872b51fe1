"""The schema revisions this release knows, oldest first (no imports: read on every start).

tests/core/test_migrations.py checks this list against alembic's view of the scripts.
"""

REVISIONS: tuple[str, ...] = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
)
HEAD = REVISIONS[-1]
