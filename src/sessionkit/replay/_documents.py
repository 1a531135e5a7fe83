"""Logs that are whole JSON documents: an array of records, or OpenTelemetry's OTLP JSON.

Both give records one at a time, each with its JSON text (for rejects) and its number in the
file: the element's position in the array, or the span's position among all spans of the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = ["array_elements", "looks_like", "otlp_requests", "spans_of"]

_SPACE = " \t\r\n"
_DECODER = json.JSONDecoder()


def looks_like(name: str, head: bytes) -> str | None:
    """``"otlp"`` for a file that starts an OTLP export request (``{"resourceSpans": ...``),
    ``"json"`` for a ``.json`` file (compressed or not) that starts an array, else ``None``
    (a ``.json`` file of JSON Lines stays JSON Lines)."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{") and text[1:].lstrip().startswith(b'"resourceSpans"'):
        return "otlp"
    plain = name.lower().removesuffix(".gz").removesuffix(".bz2").removesuffix(".xz")
    return "json" if plain.endswith(".json") and text.startswith(b"[") else None


def array_elements(text: str) -> Iterator[tuple[str, object]]:
    """The elements of a JSON array document, each as ``(its JSON text, its value)``. A
    malformed element ends it: ``(the rest of the document, the error)`` (a ``ValueError``, or
    a ``RecursionError`` for one nested too deeply to decode)."""
    index = _skip(text, 0)
    if not text.startswith("[", index):
        yield text, ValueError("the document is not a JSON array")
        return
    index = _skip(text, index + 1)
    if text.startswith("]", index):
        return
    while True:
        try:
            value, end = _DECODER.raw_decode(text, index)
        except (ValueError, RecursionError) as error:
            yield text[index:], error
            return
        yield text[index:end], value
        index = _skip(text, end)
        if text.startswith("]", index):
            if text[_skip(text, index + 1) :]:
                yield text[index + 1 :], ValueError("text after the end of the array")
            return
        if not text.startswith(",", index):
            yield text[index:], ValueError(f"expected ',' or ']' at character {index}")
            return
        index = _skip(text, index + 1)


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _SPACE:
        index += 1
    return index


def otlp_requests(text: str) -> Iterator[tuple[str, object]]:
    """The export requests of an OTLP JSON file: one document, several concatenated, or JSON
    Lines of them (as the OpenTelemetry Collector's file exporter writes), each as ``(its JSON
    text, its value)``; a malformed one as ``(its text, the ValueError)``."""
    index = _skip(text, 0)
    while index < len(text):
        try:
            value, end = _DECODER.raw_decode(text, index)
        except (ValueError, RecursionError) as error:
            line_end = text.find("\n", index)
            end = len(text) if line_end < 0 else line_end + 1  # skip to the next line
            yield text[index:end].rstrip(), error
            index = _skip(text, end)
            continue
        yield text[index:end], value
        index = _skip(text, end)


def spans_of(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The spans of an export request as flat records: the span's own fields, its
    ``attributes`` as one object keyed by attribute name (``gen_ai.operation.name``), and the
    ``resource`` and instrumentation ``scope`` it came with (their attributes the same way)."""
    for resource_spans in request.get("resourceSpans") or ():
        resource = attributes((resource_spans.get("resource") or {}).get("attributes"))
        scopes = resource_spans.get("scopeSpans") or resource_spans.get(
            "instrumentationLibrarySpans"
        )
        for scope_spans in scopes or ():
            scope = scope_spans.get("scope") or scope_spans.get("instrumentationLibrary") or {}
            origin = {"name": scope.get("name"), "version": scope.get("version")}
            origin.update(attributes(scope.get("attributes")))
            for span in scope_spans.get("spans") or ():
                yield {
                    **span,
                    "parentSpanId": span.get("parentSpanId") or None,
                    "attributes": attributes(span.get("attributes")),
                    "resource": resource,
                    "scope": origin,
                }


def attributes(items: object) -> dict[str, Any]:
    """OTLP key-value pairs (``[{"key": k, "value": {"stringValue": v}}]``) as a plain object."""
    if type(items) is not list:
        return {}
    return {
        item["key"]: attribute_value(item.get("value"))
        for item in items
        if type(item) is dict and type(item.get("key")) is str
    }


def attribute_value(value: object) -> Any:
    """One OTLP ``AnyValue`` as a plain value (64-bit integers come as strings in OTLP JSON)."""
    if type(value) is not dict or not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "intValue":
        digits = isinstance(inner, (int, str)) and str(inner).lstrip("-").isdigit()
        return int(inner) if digits else inner
    if kind == "arrayValue":
        return [attribute_value(v) for v in (inner or {}).get("values") or ()]
    if kind == "kvlistValue":
        return attributes((inner or {}).get("values"))
    return inner  # stringValue, boolValue, doubleValue, bytesValue (base64 text)
