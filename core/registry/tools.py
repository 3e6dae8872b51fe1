"""Read-only questions to the registry, as tools: plain arguments in, JSON-safe dicts out.

The deterministic question parser (`questions.py`, through `bot/assistant/answers.py`) and an
LLM's tool calls use the same functions, so both see the same facts. `TOOL_SPECS` describes
them as OpenAI function tools; `call_tool` runs one from a tool call's JSON arguments and
never raises for bad input (an unknown tool, malformed JSON, a wrong type, an unknown model
or version): it returns `{"error": ..., "hint": ...}` for the model to read.

Nothing here writes. Queries the registry class does not offer (versions by dataset digest or
commit, metric regressions, audit events of one version) are plain SELECTs through
`registry.engine`, each a fixed number of indexed queries however many versions there are.

Version arguments accept "2.1.5", "v2.1.5" and the names production, staging, golden, latest,
previous (see `Registry.resolve_version`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from modeltrail.core.errors import ModeltrailError
from modeltrail.core.registry.tool_base import LIST_CAP, MATCH_CAP
from modeltrail.core.registry.tool_history import HistoryTools
from modeltrail.core.registry.tool_lineage import LineageTools
from modeltrail.core.registry.tool_metrics import MetricTools
from modeltrail.core.registry.tool_questions import QuestionTools
from modeltrail.core.registry.tool_specs import TOOL_NAMES, TOOL_SPECS
from modeltrail.core.registry.tool_versions import VersionTools, diff_to_dict

# Each family of tools lives in its own module; callers keep importing the toolbox from here.
__all__ = [
    "LIST_CAP",
    "MATCH_CAP",
    "TOOL_NAMES",
    "TOOL_SPECS",
    "RegistryTools",
    "call_tool",
    "diff_to_dict",
]


class RegistryTools(VersionTools, HistoryTools, MetricTools, LineageTools, QuestionTools):
    """The read-only tools over one registry. Method names are the tool names.

    One class over the families (`tool_versions`, `tool_history`, `tool_metrics`,
    `tool_lineage`, `tool_questions`), so `call_tool` finds every tool as a method of the same
    object."""


_SPECS = {spec["function"]["name"]: spec["function"]["parameters"] for spec in TOOL_SPECS}


def call_tool(
    tools: RegistryTools, name: str, arguments_json: str | Mapping[str, Any] | None
) -> dict[str, Any]:
    """Run the tool `name` with the JSON arguments of a tool call. Bad input — an unknown
    tool, malformed JSON, a missing or mistyped argument, an unknown model or version —
    comes back as `{"error": message, "hint": …}`, never as an exception."""
    schema_ = _SPECS.get(name)
    if schema_ is None:
        return {"error": f"there is no tool {name!r}", "hint": "tools: " + ", ".join(TOOL_NAMES)}
    if arguments_json is None or (isinstance(arguments_json, str) and not arguments_json.strip()):
        arguments: Any = {}
    elif isinstance(arguments_json, str):
        try:
            arguments = json.loads(arguments_json)
        except ValueError:
            return {"error": "the arguments are not valid JSON"}
    else:
        arguments = dict(arguments_json)
    if not isinstance(arguments, dict):
        return {"error": "the arguments must be a JSON object"}
    arguments = {k: v for k, v in arguments.items() if v is not None}  # null means "not given"
    problem = _check(arguments, schema_)
    if problem:
        return {"error": problem, "hint": f"parameters of {name}: {_describe(schema_)}"}
    method: Callable[..., dict[str, Any]] = getattr(tools, name)
    try:
        return method(**arguments)
    except ModeltrailError as exc:
        out = {"error": exc.message}
        if exc.hint:
            out["hint"] = exc.hint
        return out


def _check(arguments: Mapping[str, Any], schema_: Mapping[str, Any]) -> str | None:
    properties = schema_["properties"]
    for key in arguments:
        if key not in properties:
            return f"unknown argument {key!r}"
    for key in schema_["required"]:
        if key not in arguments:
            return f"missing argument {key!r}"
    for key, value in arguments.items():
        rule = properties[key]
        if rule["type"] == "string":
            if not isinstance(value, str):
                return f"{key} must be a string"
            if len(value.strip()) < rule.get("minLength", 0):
                return f"{key} must have at least {rule['minLength']} characters"
            if len(value) > rule.get("maxLength", 10_000):
                return f"{key} is longer than {rule['maxLength']} characters"
            if "enum" in rule and value not in rule["enum"]:
                return f"{key} must be one of {', '.join(rule['enum'])}"
        elif rule["type"] == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                return f"{key} must be an integer"
            if not rule.get("minimum", value) <= value <= rule.get("maximum", value):
                return f"{key} must be between {rule['minimum']} and {rule['maximum']}"
    return None


def _describe(schema_: Mapping[str, Any]) -> str:
    required = set(schema_["required"])
    names = [k if k in required else f"{k}?" for k in schema_["properties"]]
    return ", ".join(names) or "none"
