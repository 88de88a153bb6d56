"""``google.rpc.Code``: the canonical rpc codes, their names and the HTTP status each maps to.

Source: googleapis ``google/rpc/code.proto``. ``Operation.error.code`` carries the rpc code; an HTTP error
body's ``error.code`` carries the HTTP status and ``error.status`` the rpc name.
"""

from __future__ import annotations

import enum


class RpcCode(enum.IntEnum):
    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    @property
    def http_status(self) -> int:
        return _HTTP[self]

    @classmethod
    def parse(cls, value: object) -> RpcCode | None:
        """An rpc code from an int, a numeric string or a name (``"CANCELLED"``); ``None`` if unknown."""
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                return None
        if isinstance(value, str):
            text = value.strip()
            if text.lstrip("-").isdigit():
                return cls.parse(int(text))
            return cls.__members__.get(text.upper())
        return None


_HTTP: dict[RpcCode, int] = {
    RpcCode.OK: 200,
    RpcCode.CANCELLED: 499,
    RpcCode.UNKNOWN: 500,
    RpcCode.INVALID_ARGUMENT: 400,
    RpcCode.DEADLINE_EXCEEDED: 504,
    RpcCode.NOT_FOUND: 404,
    RpcCode.ALREADY_EXISTS: 409,
    RpcCode.PERMISSION_DENIED: 403,
    RpcCode.RESOURCE_EXHAUSTED: 429,
    RpcCode.FAILED_PRECONDITION: 400,
    RpcCode.ABORTED: 409,
    RpcCode.OUT_OF_RANGE: 400,
    RpcCode.UNIMPLEMENTED: 501,
    RpcCode.INTERNAL: 500,
    RpcCode.UNAVAILABLE: 503,
    RpcCode.DATA_LOSS: 500,
    RpcCode.UNAUTHENTICATED: 401,
}

# The rpc code an HTTP status means when a body does not name one (google-api-core's table).
HTTP_TO_RPC: dict[int, RpcCode] = {
    400: RpcCode.INVALID_ARGUMENT,
    401: RpcCode.UNAUTHENTICATED,
    403: RpcCode.PERMISSION_DENIED,
    404: RpcCode.NOT_FOUND,
    409: RpcCode.ABORTED,
    412: RpcCode.FAILED_PRECONDITION,
    416: RpcCode.OUT_OF_RANGE,
    429: RpcCode.RESOURCE_EXHAUSTED,
    499: RpcCode.CANCELLED,
    500: RpcCode.INTERNAL,
    501: RpcCode.UNIMPLEMENTED,
    502: RpcCode.UNAVAILABLE,
    503: RpcCode.UNAVAILABLE,
    504: RpcCode.DEADLINE_EXCEEDED,
}
