"""Generate the service table from Google's Discovery documents (a dev-time tool; never imported at runtime).

Reads the Discovery documents that ``google-api-python-client`` ships in
``googleapiclient/discovery_cache/documents/`` and writes
``airflow_provider_gcp_ops/operations/service_table.json``: every API with an ``operations`` resource whose ``get``
returns the standard ``google.longrunning.Operation`` shape (``name`` and ``done``), with, per API version, every
operations collection (its name pattern, the verbs it has and how each verb is called: HTTP method, path prefix and
suffix, cancel body, where ``:wait`` takes its timeout, how list names the collection and which list parameters it
takes), the global host, the mTLS host and the regional endpoints the document lists.

What Discovery does not say (legacy regional hosts, retired hosts, preferred endpoints, default versions, console
links) is in the hand-kept ``service_overlay.json`` next to the table; the library reads both.

    python scripts/generate_services.py          # rewrite the table
    python scripts/generate_services.py --check  # exit 1 when the committed table differs (what the test runs)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "airflow_provider_gcp_ops" / "operations" / "service_table.json"
DOCS_OUT = REPO / "docs" / "services.md"
_LETTERS = {"g": "get", "l": "list", "c": "cancel", "d": "delete", "w": "wait"}
VERBS = ("get", "list", "cancel", "delete", "wait")
_PARAM = re.compile(r"\{\+?([A-Za-z0-9_]+)\}")


def documents_dir() -> Path:
    import googleapiclient

    return Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


def client_version() -> str:
    from importlib.metadata import version

    return version("google-api-python-client")


def _walk(resources: dict[str, Any] | None, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, res in sorted((resources or {}).items()):
        yield (*path, key), res
        yield from _walk(res.get("resources"), (*path, key))


def _is_standard_operation(doc: dict[str, Any], method: dict[str, Any]) -> bool:
    ref = method.get("response", {}).get("$ref", "")
    props = doc.get("schemas", {}).get(ref, {}).get("properties", {})
    return "name" in props and "done" in props


def _glob(regex: str) -> str | None:
    """``^projects/[^/]+/operations/.*$`` -> ``projects/*/operations/**``; ``None`` for anything else."""
    if not (regex.startswith("^") and regex.endswith("$")):
        return None
    out = []
    for seg in regex[1:-1].replace("[^/]+", "\0").split("/"):
        if seg == "\0":
            out.append("*")
        elif seg in (".*", ".+"):
            out.append("**")
        elif re.fullmatch(r"[A-Za-z0-9_.-]+", seg):
            out.append(seg)
        else:
            return None
    return "/".join(out)


def _split_path(doc: dict[str, Any], method: dict[str, Any]) -> tuple[str, str, str, list[str]] | None:
    """(prefix, name glob, suffix, path parameter names) of a method's URL, or ``None`` when it has no name."""
    full = doc.get("servicePath", "") + method["path"]
    params = method.get("parameters", {})
    if "{+name}" in full:
        prefix, suffix = full.split("{+name}", 1)
        if _PARAM.search(prefix) or _PARAM.search(suffix):
            return None
        pattern = params.get("name", {}).get("pattern")
        glob = _glob(pattern) if pattern else None
        if glob is None:
            return None
        return prefix, glob, suffix, ["name"]
    # Paths with one parameter per segment (App Engine ``v1/apps/{appsId}/operations/{operationsId}``, Cloud
    # Storage ``b/{bucket}/operations/{operationId}``): the name is the part after the version prefix.
    names = _PARAM.findall(full)
    if not names:
        return None
    version_prefix = doc.get("servicePath", "")
    rest = full[len(version_prefix) :]
    if rest.startswith(doc["version"] + "/"):
        version_prefix += doc["version"] + "/"
        rest = rest[len(doc["version"]) + 1 :]
    segs = rest.split("/")
    last = max(i for i, s in enumerate(segs) if _PARAM.fullmatch(s))
    tail = "/".join(segs[last + 1 :])
    glob_segs = []
    for seg in segs[: last + 1]:
        if _PARAM.fullmatch(seg):
            glob_segs.append("*")
        elif _PARAM.search(seg) or not re.fullmatch(r"[A-Za-z0-9_.-]+", seg):
            return None
        else:
            glob_segs.append(seg)
    suffix = ("/" + tail) if tail else ""
    return version_prefix, "/".join(glob_segs), suffix, names


def _method_entry(doc: dict[str, Any], verb: str, method: dict[str, Any]) -> dict[str, Any] | None:
    split = _split_path(doc, method)
    params = method.get("parameters", {})
    if split is None:
        if verb == "list" and "name" in params and params["name"].get("location") == "query":
            # GET v1/operations?name={collection}
            prefix = doc.get("servicePath", "") + method["path"]
            query = sorted(k for k, v in params.items() if v.get("location") == "query" and k != "name")
            return {"http": method["httpMethod"], "prefix": prefix, "suffix": "", "list": "query", "params": query}
        if verb == "list" and not any(v.get("location") == "path" for v in params.values()):
            prefix = doc.get("servicePath", "") + method["path"]
            query = sorted(k for k, v in params.items() if v.get("location") == "query")
            return {"http": method["httpMethod"], "prefix": prefix, "suffix": "", "list": "top", "params": query}
        return None
    prefix, glob, suffix, path_params = split
    entry: dict[str, Any] = {"http": method["httpMethod"], "prefix": prefix, "suffix": suffix, "glob": glob}
    if "{+name}" not in doc.get("servicePath", "") + method["path"]:
        entry["path_params"] = path_params  # one parameter per segment (Drive's {name} is the id alone)
    if verb == "cancel":
        entry["body"] = "request" in method
    elif verb == "wait":
        timeout = params.get("timeout", {})
        entry["wait"] = "query" if timeout.get("location") == "query" else "body"
    elif verb == "list":
        entry["params"] = sorted(k for k, v in params.items() if v.get("location") == "query")
        if glob.endswith("/operations") or glob == "operations":
            entry["list"] = "name"  # the name is the collection itself: {name} ends in /operations
            entry["glob"] = glob[: -len("operations")].rstrip("/")
        elif suffix.startswith("/operations"):
            entry["list"] = "parent"  # {name}/operations
        else:
            return None
    return entry


def _endpoints(doc: dict[str, Any], api_host: str) -> dict[str, list[str]]:
    """Regional endpoints as templates over ``{location}`` -> the locations the document lists for each."""
    out: dict[str, list[str]] = {}
    for ep in doc.get("endpoints", []):
        host = ep["endpointUrl"].split("://", 1)[-1].rstrip("/")
        loc = ep["location"]
        labels = host.split(".")
        if len(labels) > 3 and labels[1] == loc and host.endswith(".rep.googleapis.com"):
            template = labels[0] + ".{location}." + ".".join(labels[2:])
        elif host.startswith(loc + "-") and host.count(".") == 2:
            template = "{location}-" + host[len(loc) + 1 :]
        else:
            template = host
        out.setdefault(template, [])
        if loc not in out[template]:
            out[template].append(loc)
    return {k: sorted(v) for k, v in sorted(out.items())}


def _host(url: str | None) -> str | None:
    return url.split("://", 1)[-1].rstrip("/") if url else None


def _collections(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, res in _walk(doc.get("resources")):
        if path[-1] != "operations":
            continue
        methods = res.get("methods", {})
        if "get" not in methods or not _is_standard_operation(doc, methods["get"]):
            continue
        verbs: dict[str, Any] = {}
        for verb in VERBS:
            if verb in methods:
                entry = _method_entry(doc, verb, methods[verb])
                if entry is not None:
                    verbs[verb] = entry
        if "get" not in verbs:
            continue
        same = [c for c in out if c["verbs"]["get"]["glob"] == verbs["get"]["glob"]]
        if same:  # two resources with one name pattern (Video Intelligence v1): one collection, union of verbs
            for verb, entry in verbs.items():
                if verb not in same[0]["verbs"]:
                    same[0]["verbs"][verb] = entry
                    same[0]["verb_resources"][verb] = ".".join(path)
            continue
        out.append({"resource": ".".join(path), "verbs": verbs, "verb_resources": {}})
    return out


def _compact_version(doc: dict[str, Any], collections: list[dict[str, Any]]) -> dict[str, Any]:
    """One version: the most common call shape of each verb once, and per collection only what differs."""
    defaults: dict[str, dict[str, Any]] = {}
    for verb in VERBS:
        shapes: dict[str, int] = {}
        for coll in collections:
            if verb in coll["verbs"]:
                shape = {k: v for k, v in coll["verbs"][verb].items() if k != "glob"}
                key = json.dumps(shape, sort_keys=True)
                shapes[key] = shapes.get(key, 0) + 1
        if shapes:
            defaults[verb] = json.loads(max(sorted(shapes), key=lambda k: shapes[k]))
    colls = []
    for coll in collections:
        verbs = coll["verbs"]
        row: dict[str, Any] = {"name": verbs["get"]["glob"], "verbs": "".join(v[0] for v in VERBS if v in verbs)}
        if "list" in verbs and verbs["list"].get("glob") is not None:
            row["parent"] = verbs["list"]["glob"]
        overrides = {}
        for verb, entry in verbs.items():
            shape = {k: v for k, v in entry.items() if k != "glob"}
            if shape != defaults[verb]:
                overrides[verb] = shape
            if verb not in ("list",) and entry["glob"] != verbs["get"]["glob"]:
                overrides.setdefault(verb, shape)["glob"] = entry["glob"]
        if overrides:
            row["methods"] = overrides
        colls.append(row)
    return {"methods": defaults, "collections": colls}


def generate(docs: Path | None = None) -> dict[str, Any]:
    docs = docs or documents_dir()
    apis: dict[str, dict[str, Any]] = {}
    for path in sorted(docs.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if "name" not in doc or "version" not in doc:
            continue
        collections = _collections(doc)
        if not collections:
            continue
        api = apis.setdefault(
            doc["name"],
            {"title": doc.get("title", doc["name"]), "host": _host(doc["rootUrl"]), "versions": {}},
        )
        mtls = _host(doc.get("mtlsRootUrl"))
        if mtls and mtls not in api.setdefault("mtls", []):
            api["mtls"].append(mtls)
        endpoints = _endpoints(doc, api["host"])
        for template, locs in endpoints.items():
            merged = api.setdefault("endpoints", {}).setdefault(template, [])
            merged.extend(loc for loc in locs if loc not in merged)
            merged.sort()
        api["versions"][doc["version"]] = _compact_version(doc, collections)
        if _host(doc["rootUrl"]) != api["host"]:  # Remote Build Execution: v1alpha on admin-remotebuildexecution
            api["versions"][doc["version"]]["host"] = _host(doc["rootUrl"])
    for api in apis.values():
        api["versions"] = dict(sorted(api["versions"].items(), key=lambda kv: _version_key(kv[0])))
        if "endpoints" in api:
            api["endpoints"] = dict(sorted(api["endpoints"].items()))
    return {
        "source": f"google-api-python-client {client_version()} googleapiclient/discovery_cache/documents",
        "generator": "scripts/generate_services.py",
        "apis": apis,
    }


def _version_key(version: str) -> tuple[int, int, str]:
    """Stable versions first (v1 < v2), then pre-releases."""
    match = re.fullmatch(r"v(\d+)(.*)", version)
    if match is None:
        return (1, 0, version)
    return (0 if not match.group(2) else 1, int(match.group(1)), match.group(2))


def render(table: dict[str, Any]) -> str:
    """Compact JSON: one line per API, so a diff shows which APIs changed."""
    lines = ["{", f'"source": {json.dumps(table["source"])},', f'"generator": {json.dumps(table["generator"])},']
    lines.append('"apis": {')
    items = list(table["apis"].items())
    for i, (key, api) in enumerate(items):
        sep = "," if i < len(items) - 1 else ""
        lines.append(f"{json.dumps(key)}: {json.dumps(api, separators=(',', ':'), sort_keys=True)}{sep}")
    lines += ["}", "}"]
    return "\n".join(lines) + "\n"


def _verbs_text(version: dict[str, Any]) -> str:
    """``get list cancel({}) delete wait(query)``; verbs only some collections have are marked ``*``."""
    counts = {letter: 0 for letter in _LETTERS}
    for coll in version["collections"]:
        for letter in coll["verbs"]:
            counts[letter] += 1
    total = len(version["collections"])
    parts = []
    for letter, verb in _LETTERS.items():
        if not counts[letter]:
            continue
        method = version["methods"].get(verb, {})
        text = verb
        if verb == "cancel":
            text += "({})" if method.get("body") else ""
        if verb == "wait":
            text += f"({method.get('wait')})"
        if verb == "list" and method.get("list") in ("query", "top"):
            text += "(?name=)" if method.get("list") == "query" else "(top)"
        parts.append(text + ("*" if counts[letter] < total else ""))
    return " ".join(parts)


def render_docs(table: dict[str, Any]) -> str:
    """docs/services.md: every API of the table with its versions, collections and verbs."""
    apis = table["apis"]
    lines = [
        "# Services",
        "",
        f"Generated by `{table['generator']}` from the Discovery documents of",
        table["source"].split(" googleapiclient")[0],
        "(do not edit; rerun the script). Every API whose `operations` resources return the standard",
        "`google.longrunning.Operation`. Key: the `service=` value. Verbs per version: `cancel({})` sends a `{}` body,",
        "`wait(query|body)` says where the timeout goes, `list(?name=)` takes the collection in the query, `*` marks a",
        "verb only some collections of that version have (a verb a collection lacks is refused before any request).",
        "Hosts: the global host; the mTLS host and any regional endpoints the documents list are accepted too.",
        "",
        f"{len(apis)} APIs.",
        "",
        "| key | API | host | collections | verbs per version |",
        "|---|---|---|---|---|",
    ]
    for key, api in apis.items():
        versions = api["versions"]
        colls = len({c["name"] for v in versions.values() for c in v["collections"]})
        verbs = "<br>".join(f"{v}: {_verbs_text(d)}" for v, d in versions.items())
        regional = (
            f" (+{sum(len(x) for x in api.get('endpoints', {}).values())} regional)" if api.get("endpoints") else ""
        )
        lines.append(f"| `{key}` | {api['title']} | `{api['host']}`{regional} | {colls} | {verbs} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when the committed table is out of date")
    args = parser.parse_args(argv)
    generated = generate()
    text, docs = render(generated), render_docs(generated)
    if args.check:
        stale = [str(p) for p, t in ((OUT, text), (DOCS_OUT, docs)) if not p.exists() or p.read_text("utf-8") != t]
        if stale:
            print(f"out of date: {', '.join(stale)}; run python scripts/generate_services.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    DOCS_OUT.parent.mkdir(exist_ok=True)
    DOCS_OUT.write_text(docs, encoding="utf-8")
    table = json.loads(text)
    print(f"wrote {OUT} ({len(table['apis'])} APIs, {len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
