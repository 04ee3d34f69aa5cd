"""The HTTP API reference from the app's OpenAPI schema: `python -m dstack_gov.api.reference > docs/api.md`."""

from __future__ import annotations

import json
import re
from typing import Any

from dstack_gov.api.app import routed_app

Schema = dict[str, Any]
_METHODS = ("get", "post", "put", "patch", "delete")
_CONSTRAINTS = (
    ("minimum", "≥ {}"), ("maximum", "≤ {}"), ("minLength", "at least {} characters"),
    ("maxLength", "at most {} characters"), ("minItems", "at least {} items"), ("maxItems", "at most {} items"),
    ("pattern", "matches `{}`"),
)  # fmt: skip
_INTRO = """\
# HTTP API

Generated from the app's OpenAPI schema (served at `GET /api/openapi.json`); do not edit by hand.
Run `python -m dstack_gov.api.reference > docs/api.md` after changing a route or a model.

`dstack-gov serve` serves this API, and so does `dstack-gov run` next to the bot. Bodies are JSON.
Writes need the `[api] token` as `Authorization: Bearer <token>`; without a configured token they
answer 403. Signatures need no token: each is verified against the Safe's owners. Every error is
one object, `{"error": "<one line>"}` ([ErrorBody](#errorbody)), never a traceback. The signing
page (`/sign/<id>`, its assets under `/static/`) and its Telegram Mini App calls are served beside
it and are not part of it.
"""


def _anchor(heading: str) -> str:
    """Return the fragment GitHub gives a heading: lowercase, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def type_of(schema: Schema) -> str:
    """Name a JSON schema's type in words, linking to named schemas."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema:
        parts = [part for part in schema["anyOf"] if part.get("type") != "null"]
        named = " or ".join(type_of(part) for part in parts) or "any"
        return named + (" or null" if len(parts) < len(schema["anyOf"]) else "")
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        if "prefixItems" in schema:
            return "[" + ", ".join(type_of(item) for item in schema["prefixItems"]) + "]"
        return "list of " + type_of(schema.get("items", {}))
    if kind == "object":
        values = schema.get("additionalProperties")
        return "object of " + type_of(values) if isinstance(values, dict) and values else "object"
    if kind == "string" and "format" in schema:
        return f"string ({schema['format']})"
    return str(kind) if kind else "any"


def _notes(schema: Schema) -> str:
    notes = [schema["description"].strip().rstrip(".")] if schema.get("description") else []
    for part in [schema, *schema.get("anyOf", ())]:  # an optional value keeps its bounds in its non-null part
        notes += [text.format(part[key]) for key, text in _CONSTRAINTS if key in part]
    if "default" in schema:
        notes.append(f"default `{json.dumps(schema['default'])}`")
    return "; ".join(notes)


def _parameter(parameter: Schema) -> str:
    schema = parameter.get("schema", {})
    required = "required" if parameter.get("required") else "optional"
    notes = _notes({**schema, "description": parameter.get("description", "")})
    line = f"  - `{parameter['name']}` ({parameter['in']}, {type_of(schema)}, {required})"
    return line + (f": {notes}" if notes else "")


def _content(content: Schema) -> str:
    return "; ".join(f"{type_of(body.get('schema', {}))} (`{media}`)" for media, body in content.items())


def _operation(method: str, path: str, operation: Schema) -> list[str]:
    secured = bool(operation.get("security"))
    lines = [f"## `{method.upper()} {path}`", "", operation.get("description", "").strip(), ""]
    lines.append("- Auth: " + ("bearer token (`Authorization: Bearer <token>`)" if secured else "none"))
    if operation.get("parameters"):
        lines.append("- Parameters:")
        lines += [_parameter(parameter) for parameter in operation["parameters"]]
    if "requestBody" in operation:
        lines.append(f"- Request body: {_content(operation['requestBody']['content'])}")
    lines += ["", "| Status | Body | When |", "|---|---|---|"]
    for status, response in operation["responses"].items():
        shape = _content(response["content"]) if response.get("content") else "none"
        words = response.get("description", "")
        words = "Success." if words == "Successful Response" else words
        lines.append(f"| {status} | {_cell(shape)} | {_cell(words)} |")
    return [*lines, ""]


def _schema_section(name: str, schema: Schema) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [schema["description"].strip(), ""]
    if "enum" in schema:
        return [*lines, type_of(schema).capitalize() + ".", ""]
    required = set(schema.get("required", ()))
    lines += ["| Field | Type | Required | Notes |", "|---|---|---|---|"]
    for field, spec in schema.get("properties", {}).items():
        yes = "yes" if field in required else "no"
        lines.append(f"| `{field}` | {_cell(type_of(spec))} | {yes} | {_cell(_notes(spec))} |")
    return [*lines, ""]


def render_markdown(openapi: Schema) -> str:
    """Return the Markdown reference of every route and every schema in `openapi`."""
    operations = [
        (method, path, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if method in _METHODS
    ]
    lines = [_INTRO, "| Method | Path | Auth | What it does |", "|---|---|---|---|"]
    for method, path, operation in operations:
        auth = "token" if operation.get("security") else "none"
        link = f"[`{path}`](#{_anchor(f'{method} {path}')})"
        lines.append(f"| {method.upper()} | {link} | {auth} | {_cell(operation.get('summary', ''))} |")
    lines.append("")
    for method, path, operation in operations:
        lines += _operation(method, path, operation)
    lines += ["## Schemas", ""]
    for name, schema in sorted(openapi.get("components", {}).get("schemas", {}).items()):
        lines += _schema_section(name, schema)
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    """Print the reference of the app's current schema."""
    print(render_markdown(routed_app().openapi()), end="")


if __name__ == "__main__":
    main()
