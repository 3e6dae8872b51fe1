"""The registry's door: `Registry`, the one writer (transactions, audit chain and
registration in `writer`, with the draft checks and rows of `rows`; the rows a registration
inserts in `registration`, the reads in `reading`, stage and governance writes in
`governance`, owners and promotion requests in `approvals`), the comparison of versions
(`compare`), and the read-only query tools the assistant calls (`tools`, with one module
per family of tools: `tool_versions`, `tool_history`, `tool_metrics`, `tool_lineage`, their
shared `tool_base` and the `tool_specs` handed to an LLM)."""

from modeltrail.core.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "writer": "Registry",
        "rows": "check_model_name",
        "governance": "PromotionBlocked MoveResult",
        "compare": "changelog resolve_pair ChangelogEntry",
        "tools": "RegistryTools call_tool",
    },
)
