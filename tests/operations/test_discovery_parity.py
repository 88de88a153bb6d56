"""Our requests equal the ones Google's discovery client builds from the same Discovery documents.

For every API of the table, every version, every operations collection and verb, and the three name forms
(relative, full resource name, REST URL on the global, mTLS and listed regional hosts): method, path, query and
body (and the host, for URLs). Google's client is only asked to build its request, never to send it.
``python scripts/discovery_parity.py`` prints the same comparison.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


PARITY = _load("discovery_parity")
GEN = PARITY._generator()


def _docs_by_api() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(GEN.documents_dir().glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if "name" in doc and GEN._collections(doc):
            out.setdefault(doc["name"], []).append(doc)
    return out


DOCS = _docs_by_api()


def test_every_standard_shape_api_is_compared() -> None:
    assert len(DOCS) >= 132


@pytest.mark.parametrize("api", sorted(DOCS))
def test_our_requests_equal_googles(api: str) -> None:
    result = PARITY.compare_api(api, DOCS[api], GEN)
    assert result.checks > 0
    assert result.mismatches is None, "\n".join(result.mismatches)


def test_the_comparison_sees_a_difference() -> None:
    """The harness is not blind: a wrong prefix in one collection is reported."""
    from airflow_provider_gcp_ops.operations.services import Method, get_service

    spec = get_service("batch")
    coll = spec.collections("v1")[0]
    original = dict(coll.methods)
    bad = dict(original)
    get = original[next(iter(original))]
    bad[get.verb] = Method(get.verb, get.http, "v2/", get.suffix)
    object.__setattr__(coll, "methods", bad)
    try:
        result = PARITY.compare_api("batch", DOCS["batch"], GEN)
    finally:
        object.__setattr__(coll, "methods", original)
    assert result.mismatches
