"""The weekly digest as data: what happened in a period (`period`), the exactly-once delivery
ledger (`ledger`) and the schedules that say when a period ends (`schedule`)."""

from modeltrail.core.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "period": "Digest load_digest",
        "ledger": "DigestLedger",
        "schedule": "Schedule parse_schedule Window",
    },
)
