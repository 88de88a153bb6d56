"""Compare our requests with the ones Google's own discovery client builds from the same Discovery documents.

For every API of the service table, every version, every operations collection and every verb it has, and each
name form (relative name, full resource name, REST URL on the global host, on one listed location of each regional
endpoint template and on the mTLS host), the request our library builds (method, host, path, query, body) must
equal what ``googleapiclient.discovery.build_from_document`` builds. Google's client is never executed: its
``HttpRequest`` is read (a dummy ``http`` refuses any call), so nothing goes to the network.

    python scripts/discovery_parity.py       # one line per API that differs, then the totals
    python scripts/discovery_parity.py -v    # also every API that matches

Google's client adds ``alt=json`` to every query; that parameter is ignored. For relative and full resource names
the host is not compared (Google's client uses the global root URL; we may prefer a regional host).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

HERE = Path(__file__).resolve().parent


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_services", HERE / "generate_services.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("scripts/generate_services.py not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _NoNetwork:
    """An ``http`` for Google's client that refuses to send anything."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the comparison never sends a request")


@dataclass(frozen=True)
class Built:
    method: str
    host: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any

    def without_host(self) -> Built:
        return Built(self.method, "", self.path, self.query, self.body)


def _example(glob: str, location: str) -> tuple[str, list[str]]:
    """A concrete name for a pattern and the values of its ``*`` segments (for path-parameter APIs)."""
    out, values = [], []
    segs = glob.split("/")
    for i, seg in enumerate(segs):
        if seg == "*":
            prev = segs[i - 1] if i else ""
            value = location if prev in ("locations", "regions") else f"{prev[:3] if prev.isalpha() else 'x'}-{i}"
            out.append(value)
            values.append(value)
        elif seg == "**":
            out.append(f"id-{i}/part-{i}")  # ids that may hold a '/'
        else:
            out.append(seg)
    return "/".join(out), values


def _google_request(req: Any) -> Built:
    url = urlsplit(req.uri)
    query = tuple(sorted((k, v) for k, v in parse_qsl(url.query, keep_blank_values=True) if k != "alt"))
    body = json.loads(req.body) if req.body else None
    return Built(req.method, url.netloc, url.path, query, body)


def _ours(request: Any) -> Built:
    return Built(request.method, request.host, request.path, tuple(sorted(request.query)), request.json)


@dataclass
class Result:
    api: str
    checks: int = 0
    mismatches: list[str] | None = None

    def fail(self, text: str) -> None:
        if self.mismatches is None:
            self.mismatches = []
        if len(self.mismatches) < 5:
            self.mismatches.append(text)


def _resource(service: Any, path: str) -> Any:
    node = service
    for part in path.split("."):
        node = getattr(node, part if hasattr(node, part) else part + "_")()  # "global" is a Python keyword
    return node


def _google_call(resource: Any, verb: str, entry: dict[str, Any], name: str, values: list[str]) -> Any:
    if entry.get("path_params"):
        kwargs: dict[str, Any] = dict(zip(entry["path_params"], values, strict=False))
    elif entry.get("list") in ("query", "top"):
        kwargs = {"name": name} if name else {}
    elif entry.get("list") == "name":
        kwargs = {"name": f"{name}/operations" if name else "operations"}
    else:
        kwargs = {"name": name}
    if verb == "cancel" and entry.get("body"):
        kwargs["body"] = {}
    if verb == "wait":
        if entry["wait"] == "query":
            kwargs["timeout"] = "5s"
        else:
            kwargs["body"] = {"timeout": "5s"}
    if verb == "list":
        for key, value in _LIST_ARGS:
            if key in entry.get("params", []):
                kwargs[key] = value
    return getattr(resource, verb)(**kwargs)


_LIST_ARGS = (("filter", "done=true"), ("pageSize", 5), ("pageToken", "t"), ("returnPartialSuccess", True))


def _our_request(verb: str, entry: dict[str, Any], value: str, kwargs: dict[str, Any]) -> Any:
    from airflow_provider_gcp_ops.operations import core
    from airflow_provider_gcp_ops.operations.names import resolve_collection, resolve_operation

    if verb == "list":
        params = entry.get("params", [])
        return core.list_request(
            resolve_collection(value, **kwargs),
            filter="done=true" if "filter" in params else None,
            page_size=5 if "pageSize" in params else None,
            page_token="t" if "pageToken" in params else None,
            return_partial_success="returnPartialSuccess" in params,
        )
    ref = resolve_operation(value, **kwargs)
    if verb == "wait":
        return core.wait_request(ref, 5)
    return {"get": core.get_request, "cancel": core.cancel_request, "delete": core.delete_request}[verb](ref)


def _forms(key: str, version: str, verb: str, name: str, *, url: str, host: str, root: bool) -> dict[str, Any]:
    """Our inputs for one call: relative and full resource name (on the global host), and the REST URL."""
    from airflow_provider_gcp_ops.operations.services import get_service

    relative = name if verb != "list" else (f"{name}/operations" if name else "operations")
    forms: dict[str, Any] = {f"url:{host}": (f"https://{host}/{url}", {})}
    if root:
        forms["relative"] = (relative, {"service": key, "api_version": version})
        forms["full"] = (f"//{get_service(key).host}/{relative}", {"api_version": version})
    return forms


def _list_glob(coll: dict[str, Any], entry: dict[str, Any]) -> str:
    if entry.get("list") in ("query", "top"):
        return ""
    return str(entry["glob"])


def _url_path(entry: dict[str, Any], verb: str, name: str) -> str:
    """The REST URL path a user would paste for this resource (the resource, not the method)."""
    if verb == "list":
        if entry.get("list") in ("query", "top"):
            return str(entry["prefix"])
        return f"{entry['prefix']}{name}/operations" if name else f"{entry['prefix']}operations"
    return f"{entry['prefix']}{name}"


def compare_api(key: str, docs: list[dict[str, Any]], gen: Any) -> Result:
    from googleapiclient.discovery import build_from_document

    from airflow_provider_gcp_ops.operations.services import get_service

    spec = get_service(key)
    result = Result(key)
    for doc in docs:
        version = doc["version"]
        root = doc["rootUrl"].split("://", 1)[1].rstrip("/")
        hosts = [(root, "us-central1")]
        if doc.get("mtlsRootUrl"):
            hosts.append((doc["mtlsRootUrl"].split("://", 1)[1].rstrip("/"), "us-central1"))
        hosts += [(t.format(location=locs[0]), locs[0]) for t, locs in spec.endpoints.items()]
        clients = {
            host: build_from_document(
                doc,
                http=_NoNetwork(),
                client_options={"api_endpoint": f"https://{host}/{doc.get('servicePath', '')}"},
            )
            for host, _ in hosts
        }
        for coll in gen._collections(doc):
            for verb, entry in coll["verbs"].items():
                for host, location in hosts:
                    glob = _list_glob(coll, entry) if verb == "list" else entry["glob"]
                    name, values = _example(glob, location)
                    what = f"{version} {coll['resource']}.{verb}"
                    try:
                        path = coll["verb_resources"].get(verb, coll["resource"])
                        call = _google_call(_resource(clients[host], path), verb, entry, name, values)
                        theirs = _google_request(call)
                    except Exception as exc:  # Google's client refusing is reported, not raised
                        result.fail(f"{what}: Google's client refused: {exc}")
                        continue
                    url = _url_path(entry, verb, name)
                    for form, (value, kwargs) in _forms(
                        key, version, verb, name, url=url, host=host, root=host == root
                    ).items():
                        result.checks += 1
                        try:
                            mine = _ours(_our_request(verb, entry, value, kwargs))
                        except Exception as exc:  # our refusal is a mismatch, reported
                            result.fail(f"{what} [{form}] {value!r}: we refused: {exc}")
                            continue
                        same = (
                            mine == theirs if form.startswith("url:") else mine.without_host() == theirs.without_host()
                        )
                        if not same:
                            result.fail(f"{what} [{form}]: ours {mine} != Google's {theirs}")
    return result


def compare_all(only: set[str] | None = None) -> list[Result]:
    gen = _generator()
    docs_by_api: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(gen.documents_dir().glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if "name" in doc and gen._collections(doc) and (only is None or doc["name"] in only):
            docs_by_api.setdefault(doc["name"], []).append(doc)
    return [compare_api(key, docs, gen) for key, docs in sorted(docs_by_api.items())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("apis", nargs="*", help="only these APIs")
    args = parser.parse_args(argv)
    results = compare_all(set(args.apis) or None)
    same = [r for r in results if not r.mismatches]
    for r in results:
        if r.mismatches:
            print(f"DIFFERS {r.api}: " + " | ".join(r.mismatches))
        elif args.verbose:
            print(f"same    {r.api} ({r.checks} requests)")
    checks = sum(r.checks for r in results)
    print(f"{len(same)} of {len(results)} APIs build exactly Google's requests ({checks} requests compared)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
