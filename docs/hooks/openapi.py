"""MkDocs hook: the HTTP reference, rendered at build time from the app's own OpenAPI schema.

- ``reference/openapi.json`` is written into the site, exactly what ``/openapi.json`` serves;
- the ``<!-- openapi -->`` marker of a page becomes a static rendering of every operation
  (parameters, bodies, responses, SSE examples) and schema: no JavaScript, nothing fetched.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

MARKER = "<!-- openapi -->"
JSON_PATH = "reference/openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def schema() -> dict[str, Any]:
    """The OpenAPI document of ``create_app`` (no engine is opened to build it)."""
    import runstream as rs
    from runstream.api import create_app

    engine = rs.Engine(rs.App("openapi"), store="sqlite:///openapi-unused.db", worker=False)
    document: dict[str, Any] = create_app(engine).openapi()
    return document


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the schema as a file of the site."""
    files.append(File.generated(config, JSON_PATH, content=json.dumps(schema(), indent=2)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace the marker with the rendered reference."""
    return markdown.replace(MARKER, render(schema())) if MARKER in markdown else markdown


def render(document: dict[str, Any]) -> str:
    """Markdown for every operation, grouped by tag, then every schema."""
    groups: dict[str, list[str]] = {}
    for path, operations in document["paths"].items():
        for method in METHODS:
            if method in operations:
                operation = operations[method]
                tag = (operation.get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append(_operation(method, path, operation))
    out = [f"## {tag}\n\n" + "\n".join(parts) for tag, parts in groups.items()]
    schemas = document.get("components", {}).get("schemas", {})
    out.append("## Schemas\n\n" + "\n".join(_schema(n, s) for n, s in sorted(schemas.items())))
    return "\n".join(out)


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    lines = [f"### `{method.upper()} {path}`\n", f"**{operation.get('summary', '')}**\n"]
    if operation.get("description"):
        lines.append(operation["description"].strip() + "\n")
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for p in parameters:
            cells = [
                f"`{p['name']}`",
                p["in"],
                _type(p.get("schema", {})),
                "yes" if p.get("required") else "no",
                _cell(p.get("description") or p.get("schema", {}).get("description", "")),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media, content in body.get("content", {}).items():
            lines.append(f"Request body (`{media}`): {_type(content.get('schema', {}))}\n")
    lines += ["| status | content | description |", "|---|---|---|"]
    examples = []
    for status, response in operation.get("responses", {}).items():
        contents = response.get("content", {})
        kinds = ", ".join(
            f"`{media}` {_type(c.get('schema', {}))}".strip() for media, c in contents.items()
        )
        lines.append(f"| {status} | {kinds or '—'} | {_cell(response.get('description', ''))} |")
        for media, content in contents.items():
            if media == "text/event-stream" and "example" in content:
                examples.append(content["example"])
    lines.append("")
    for example in examples:
        lines += ["Example stream:", "", "```text", example.rstrip("\n"), "```", ""]
    return "\n".join(lines)


def _schema(name: str, schema: dict[str, Any]) -> str:
    lines = [f"### {name}\n"]
    if schema.get("description"):
        lines.append(_cell(schema["description"]) + "\n")
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | description |", "|---|---|---|---|"]
        for field, spec in properties.items():
            cells = [
                f"`{field}`",
                _type(spec),
                "yes" if field in required else "no",
                _cell(spec.get("description", "")),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    elif "enum" in schema:
        lines.append("One of " + ", ".join(f"`{v}`" for v in schema["enum"]) + ".")
    lines.append("")
    return "\n".join(lines)


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in schema:
        return " \\| ".join(_type(s) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{_type(schema.get('items', {}))}]"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"dict[str, {_type(schema['additionalProperties'])}]"
    if kind is None:
        return "any"
    bounds = [f"{key} {schema[key]}" for key in ("minimum", "maximum") if key in schema]
    return f"{kind} ({', '.join(bounds)})" if bounds else str(kind)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")
