"""Read the recorded Google HTTP traffic in ``tests/fixtures/recorded`` into plain exchanges.

Two formats (see ``SOURCES.md`` next to the fixtures):

- ``*.log``: k8s-config-connector golden HTTP logs. Exchanges are separated by ``\\n---\\n``; each is the
  request line, request headers, a blank line, an optional body, a blank line, the status line, the response
  headers, a blank line and the response body.
- ``*.vcr.yaml``: go-vcr v2 cassettes (``interactions: [{id, request: {url, method, body, headers},
  response: {code, status, body, headers}}]``).

The fixture directory comes from ``GCP_OPS_FIXTURES`` and defaults to ``tests/fixtures/recorded``: excerpts of
GoogleCloudPlatform/k8s-config-connector's recorded HTTP logs and VCR cassettes (Apache-2.0; ``SOURCES.md``
there names every source file and commit).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
_STATUS_LINE = re.compile(r"^(\d{3})(?: (.*))?$")
_REQUEST_LINE = re.compile(r"^([A-Z]+) (\S+)$")


def fixtures_dir() -> Path:
    """Where the recorded fixtures live (may not exist: callers skip)."""
    env = os.environ.get("GCP_OPS_FIXTURES")
    if env:
        return Path(env)
    return REPO_ROOT / "tests" / "fixtures" / "recorded"


@dataclass(frozen=True)
class Exchange:
    """One recorded request and its response."""

    source: str  # path relative to the fixture directory
    index: int  # exchange index (``.log``) or interaction id (``.vcr.yaml``)
    method: str
    url: str
    status: int
    body: bytes
    request_headers: tuple[tuple[str, str], ...] = ()
    response_headers: dict[str, str] = field(default_factory=dict)
    request_body: str = ""

    @property
    def id(self) -> str:
        return f"{self.source}#{self.index}"

    def json(self) -> Any:
        """The response body as JSON, or ``None`` when it is empty or not JSON."""
        text = self.body.decode("utf-8", "replace").strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return None


def _headers(lines: list[str]) -> list[tuple[str, str]]:
    out = []
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"not a header line: {line!r}")
        out.append((name.strip(), value.strip()))
    return out


def _merge(pairs: list[tuple[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in pairs:
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


def parse_log(text: str, source: str) -> list[Exchange]:
    """Parse a golden ``_http.log`` excerpt."""
    exchanges = []
    chunks = re.split(r"\n---\n", text)
    for index, chunk in enumerate(chunks):
        blocks = chunk.strip("\n").split("\n\n")
        head = blocks[0].split("\n")
        match = _REQUEST_LINE.match(head[0])
        if not match:
            raise ValueError(f"{source}#{index}: bad request line {head[0]!r}")
        method, url = match.groups()
        request_headers = _headers(head[1:])
        rest = blocks[1:]
        request_body = ""
        if rest and not _STATUS_LINE.match(rest[0].split("\n", 1)[0]):
            request_body = rest.pop(0)
        if not rest:
            raise ValueError(f"{source}#{index}: no response")
        response_head = rest[0].split("\n")
        status_match = _STATUS_LINE.match(response_head[0])
        if not status_match:
            raise ValueError(f"{source}#{index}: bad status line {response_head[0]!r}")
        body = "\n\n".join(rest[1:])
        exchanges.append(
            Exchange(
                source=source,
                index=index,
                method=method,
                url=url,
                status=int(status_match.group(1)),
                body=body.encode(),
                request_headers=tuple(request_headers),
                response_headers=_merge(_headers(response_head[1:])),
                request_body=request_body,
            )
        )
    return exchanges


def parse_vcr(text: str, source: str) -> list[Exchange]:
    """Parse a go-vcr v2 cassette excerpt."""
    doc = yaml.safe_load(text)
    exchanges = []
    for interaction in doc.get("interactions") or []:
        request = interaction["request"]
        response = interaction["response"]
        status = response.get("code")
        if status is None:
            status = int(str(response["status"]).split()[0])
        exchanges.append(
            Exchange(
                source=source,
                index=int(interaction.get("id", len(exchanges))),
                method=str(request["method"]),
                url=str(request["url"]),
                status=int(status),
                body=str(response.get("body") or "").encode(),
                request_headers=tuple(
                    (k, str(v)) for k, vs in (request.get("headers") or {}).items() for v in (vs or [])
                ),
                response_headers={
                    k: ", ".join(map(str, vs or [])) for k, vs in (response.get("headers") or {}).items()
                },
                request_body=str(request.get("body") or ""),
            )
        )
    return exchanges


def fixture_files(root: Path | None = None) -> list[Path]:
    root = root or fixtures_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.name.endswith((".log", ".vcr.yaml")))


def load_file(path: Path, root: Path | None = None) -> list[Exchange]:
    root = root or fixtures_dir()
    source = path.relative_to(root).as_posix()
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".vcr.yaml"):
        return parse_vcr(text, source)
    return parse_log(text, source)


def all_exchanges(root: Path | None = None) -> Iterator[Exchange]:
    root = root or fixtures_dir()
    for path in fixture_files(root):
        yield from load_file(path, root)


def is_operation(body: Any) -> bool:
    """An Operation body: an object with a ``name`` and (``metadata`` or ``done`` or an ``operations/`` name)."""
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        return False
    return "metadata" in body or "done" in body or "operations/" in body["name"]


def is_error(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("error"), dict) and "name" not in body
