"""The registry tools described as OpenAI function tools: names, what each answers, and
the JSON schema of its arguments, which `call_tool` also checks calls against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_VERSION = (
    'A version number ("2.1.5" or "v2.1.5") or one of: production, staging, golden, latest, '
    "previous (the one before the latest)."
)


def _text(description: str, max_length: int, *, min_length: int = 1, enum: Any = None) -> dict:
    if enum is not None:
        return {"type": "string", "enum": list(enum), "description": description}
    return {"type": "string", "minLength": min_length, "maxLength": max_length,
            "description": description}  # fmt: skip


def _int(description: str, maximum: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": maximum, "description": description}


def _tool(
    name: str, description: str, properties: dict[str, Any], required: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(required),
                "additionalProperties": False,
            },
        },
    }


_MODEL = _text("The model name.", 200)
_REF = _text(_VERSION, 60)
_METRIC = _text("The metric name, e.g. auc or val_loss.", 250)

TOOL_SPECS: list[dict[str, Any]] = [
    _tool("list_models",
          "All models in the registry with their latest, production and golden versions.", {}),
    _tool("list_versions",
          "A model's versions, newest first: number, stage, when and by whom registered, "
          "description.",
          {"model": _MODEL, "limit": _int("How many versions (default 10).", 100)}, ["model"]),
    _tool("get_version",
          "Everything recorded for one version: stage, metrics, params, data digests, git "
          "commit, environment, artifacts, tags and notes.",
          {"model": _MODEL, "version": _REF}, ["model", "version"]),
    _tool("get_stages",
          "Which version is in production (since when, moved by whom, why), in staging, golden "
          "(the baseline), the latest, and which version a rollback would bring back.",
          {"model": _MODEL}, ["model"]),
    _tool("compare_versions",
          "What changed between two versions: metrics (with verdicts by each metric's goal), "
          "params, data, code, environment, artifacts, findings and the suggested version "
          "bump. With only `new`: it against its parent. With neither: the latest against the "
          "one before.",
          {"model": _MODEL, "old": _text("The version compared from. " + _VERSION, 60),
           "new": _text("The version compared to. " + _VERSION, 60)},
          ["model"]),
    _tool("stage_history",
          "Who was in a stage from when to when, newest first, with who moved each version "
          "in and out and why (production history, rollbacks).",
          {"model": _MODEL,
           "stage": _text("The stage (default production).", 20,
                          enum=("production", "staging", "archived")),
           "limit": _int("How many periods (default 10).", 100)},
          ["model"]),
    _tool("version_history",
          "One version's life: who registered it and when, and every later event from the "
          "audit trail (promotions, rollbacks, retirement, golden, tags, notes) with actor, "
          "time and reason.",
          {"model": _MODEL, "version": _REF}, ["model", "version"]),
    _tool("best_version",
          "The best versions by a metric, judged by the metric's goal (maximize or minimize); "
          "`order` highest or lowest overrides the goal.",
          {"model": _MODEL, "metric": _METRIC,
           "order": _text("best (by the goal, default), highest or lowest.", 10,
                          enum=("best", "highest", "lowest")),
           "limit": _int("How many versions to rank (default 5).", 50)},
          ["model", "metric"]),
    _tool("versions_using_data",
          "Which versions (of any model, or of `model`) were trained or evaluated on a "
          "dataset, by its sha256 digest or the first characters of it.",
          {"digest": _text("A sha256 hex digest or a prefix of one.", 71, min_length=4),
           "model": _MODEL},
          ["digest"]),
    _tool("versions_at_commit",
          "Which versions (of any model, or of `model`) were trained from a git commit, by "
          "its SHA or the first characters of it.",
          {"commit": _text("A git commit SHA or a prefix of one.", 64, min_length=4),
           "model": _MODEL},
          ["commit"]),
    _tool("metric_regressions",
          "When a metric regressed: every version compared with its parent, oldest first, "
          "listing the metric moves beyond tolerance in the wrong direction.",
          {"model": _MODEL, "metric": _text("One metric (default: every metric).", 250)},
          ["model"]),
    _tool("audit_trail",
          "The newest audit events (registrations, stage moves, golden, tags, notes, "
          "settings) of the registry, a model, or one version, with actor, time and reason.",
          {"model": _MODEL, "version": _REF, "limit": _int("How many events (default 20).", 200)}),
    _tool("monitoring_status",
          "How a version is doing live (default: production): live metrics against its "
          "offline ones (decay by each metric's goal and tolerance), the latest production "
          "batch's data drift per column (PSI, KS p-value, worst first) and the drift or "
          "decay alerts active now, with since when.",
          {"model": _MODEL, "version": _REF}, ["model"]),
    _tool("stage_at",
          "Which version was in a stage (default production) at a moment, from the stage "
          "history: who moved it there, when and why, and which version came next.",
          {"model": _MODEL, "at": _text("The moment, ISO 8601 (e.g. 2026-12-01T07:02:00Z).", 40),
           "stage": _text("The stage (default production).", 20,
                          enum=("production", "staging"))},
          ["model", "at"]),
    _tool("activity",
          "What happened, newest first (registrations, promotions, rollbacks, retirements, "
          "golden, notes), in a period and/or by one person and/or of one model.",
          {"model": _MODEL,
           "since": _text("Start of the period, ISO 8601 (inclusive).", 40),
           "until": _text("End of the period, ISO 8601 (exclusive).", 40),
           "person": _text("Only what this person did (the actor name).", 300),
           "action": _text("Only one kind of event (default any).", 10,
                           enum=("any", "register", "promote", "rollback", "retire")),
           "limit": _int("How many events (default 50).", 200)}),
    _tool("dirty_versions",
          "Versions trained from a git working tree with uncommitted changes, with the "
          "changed files.",
          {"model": _MODEL}),
    _tool("package_history",
          "A package's installed version in a version (default production; `python` for the "
          "Python version) and every version where it changed, with who and when.",
          {"model": _MODEL, "package": _text("The distribution name, e.g. scikit-learn.", 200),
           "version": _REF},
          ["model", "package"]),
    _tool("param_history",
          "A param's changes across versions, oldest first: in which version, old → new, "
          "registered by whom and when; its value in production and the latest.",
          {"model": _MODEL, "param": _text("The param key, e.g. optimizer.lr.", 500),
           "version": _REF},
          ["model", "param"]),
    _tool("recovery_options",
          "What a rollback would bring back (the previous production version) and the golden "
          "version, each with its metrics, next to production's.",
          {"model": _MODEL}, ["model"]),
    _tool("metric_value",
          "One metric's value in a version (default production), with the same metric in "
          "production and golden.",
          {"model": _MODEL, "metric": _METRIC, "version": _REF}, ["model", "metric"]),
]  # fmt: skip
TOOL_NAMES: tuple[str, ...] = tuple(spec["function"]["name"] for spec in TOOL_SPECS)
