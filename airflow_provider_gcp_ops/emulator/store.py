"""Every operation, by full name and by collection (parent), in creation order.

Plain dicts and lists: the emulator runs on one event loop and never awaits while it holds them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from bisect import bisect_right
from collections.abc import Callable, Iterator

from airflow_provider_gcp_ops.emulator.operation import Operation


class InvalidPageTokenError(ValueError):
    pass


class Store:
    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}
        self._by_parent: dict[str, list[Operation]] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._ops)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self._ops.values())

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add(self, op: Operation) -> None:
        if op.name in self._ops:
            raise KeyError(op.name)
        self._ops[op.name] = op
        self._by_parent.setdefault(op.parent, []).append(op)

    def get(self, name: str) -> Operation | None:
        return self._ops.get(name)

    def delete(self, name: str) -> Operation | None:
        op = self._ops.pop(name, None)
        if op is not None:
            siblings = self._by_parent.get(op.parent, [])
            siblings.remove(op)
            if not siblings:
                self._by_parent.pop(op.parent, None)
        return op

    def page(
        self, parent: str, accept: Callable[[Operation], bool], after_seq: int, size: int
    ) -> tuple[list[Operation], int | None]:
        """Up to ``size`` accepted operations of ``parent`` created after ``after_seq``, and the cursor of the
        next page (``None`` when no accepted operation follows). Creation order is stable: an operation deleted
        between pages is skipped, one created between pages shows on a later page."""
        siblings = self._by_parent.get(parent, [])
        start = bisect_right(siblings, after_seq, key=lambda o: o.seq)
        found: list[Operation] = []
        for op in siblings[start:]:
            if not accept(op):
                continue
            if len(found) == size:
                return found, found[-1].seq
            found.append(op)
        return found, None


def query_fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


def encode_page_token(after_seq: int, fingerprint: str) -> str:
    raw = json.dumps({"a": after_seq, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, fingerprint: str) -> int:
    """The cursor in ``token``; raises :class:`InvalidPageTokenError` for garbage or a token of another query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidPageTokenError("The page token is invalid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("a"), int) or isinstance(data.get("a"), bool):
        raise InvalidPageTokenError("The page token is invalid.")
    if data.get("q") != fingerprint:
        raise InvalidPageTokenError("The page token does not match the request (parent or filter changed).")
    return int(data["a"])
