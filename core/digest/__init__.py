"""The weekly digest as data: what happened in a period (`period`), the exactly-once delivery
ledger (`ledger`) and the schedules that say when a period ends (`schedule`)."""

from modeltrail.core.lazy import lazy_exports

_PUBLIC = {
    "Digest": "period",
    "load_digest": "period",
    "DigestLedger": "ledger",
    "Schedule": "schedule",
    "parse_schedule": "schedule",
    "Window": "schedule",
}
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_exports(__name__, _PUBLIC)
