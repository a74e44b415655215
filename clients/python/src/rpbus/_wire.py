"""The wire contract: msgpack bodies, numeric arrays, error headers.

Requests are msgpack with ``Content-Type: application/msgpack``, so replies
come back in msgpack too. A numeric array is the map
``{"dtype": "<f4"|"<f8"|"<u4", "shape": [n], "data": <bin>}``;
:func:`array` turns it into a numpy array with ``numpy.frombuffer``: a
read-only view of the reply's bytes, no per-element decoding and no copy.
A scope trace's samples travel as 16-bit codes with a scale,
``{"dtype": "<i2", "shape": [n], "scale": s, "data": <bin>}`` (half the
bytes of float32); they become the float32 array ``codes * scale``, one
vectorised multiply, equal to the volts the service measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgpack
import numpy as np
import numpy.typing as npt

from .errors import InternalError, RpbusError, error_from_code

CONTENT_TYPE = "Content-Type"
MSGPACK = "application/msgpack"
ERROR_HEADER = "Nats-Service-Error"
ERROR_CODE_HEADER = "Nats-Service-Error-Code"

# Sent with every request; nats-py does not modify the dict.
REQUEST_HEADERS: dict[str, str] = {CONTENT_TYPE: MSGPACK}

_ALLOWED_DTYPES = {"<f4", "<f8", "<u4", "<u2", "<i2", "<c16", "<i4", "<i8", "<u8"}


def pack(body: Mapping[str, Any]) -> bytes:
    """Encodes a request body; an empty mapping means "all defaults"."""
    if not body:
        return b""
    out: bytes = msgpack.packb(body, use_bin_type=True, default=_default)
    return out


def _default(v: Any) -> Any:
    # numpy scalars and arrays in request fields.
    if isinstance(v, np.ndarray):
        return wire_array(v)
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"cannot encode {type(v).__name__} in an rpbus request")


def wire_array(a: npt.ArrayLike, dtype: str = "") -> dict[str, Any]:
    """The bin map form of a 1-D array (little-endian bytes)."""
    arr = np.ascontiguousarray(a, dtype=dtype or None)
    arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
    return {"dtype": arr.dtype.str, "shape": list(arr.shape), "data": arr.tobytes()}


def unpack(data: bytes, subject: str) -> Any:
    """Decodes a reply or event body (msgpack)."""
    if not data:
        return {}
    try:
        return msgpack.unpackb(data, raw=False)
    except Exception as e:  # msgpack raises several unrelated types
        raise InternalError(500, f"undecodable msgpack reply: {e}", subject) from e


def check_error(headers: Mapping[str, str] | None, subject: str) -> RpbusError | None:
    """The service error a reply carries, or None."""
    if not headers:
        return None
    desc = headers.get(ERROR_HEADER)
    code = headers.get(ERROR_CODE_HEADER)
    if desc is None and code is None:
        return None
    try:
        status = int(code) if code is not None else 500
    except ValueError:
        status = 500
    return error_from_code(status, desc or "", subject)


def array(v: Any, dtype: str) -> npt.NDArray[Any]:
    """A wire array as numpy: the bin map read in place, or (JSON, or a
    plain msgpack list) numbers with None meaning NaN."""
    if v is None:
        return np.empty(0, dtype=dtype)
    if isinstance(v, Mapping):
        dt = v.get("dtype", dtype)
        if dt not in _ALLOWED_DTYPES:
            raise InternalError(500, f"array dtype {dt!r} not understood")
        arr = np.frombuffer(v["data"], dtype=dt)
        if "scale" in v:
            scale = v["scale"]
            if not isinstance(scale, (int, float)) or not np.isfinite(scale):
                raise InternalError(500, f"array scale {scale!r} is not a finite number")
            # float32 times float32: the product Go and JavaScript compute
            arr = arr.astype(np.float32)
            arr *= np.float32(scale)
        shape = v.get("shape")
        if shape is not None and list(shape) != [arr.size]:
            arr = arr.reshape(shape)
        return arr
    if isinstance(v, Sequence):
        return np.array([np.nan if x is None else x for x in v], dtype=dtype)
    raise InternalError(500, f"expected an array, got {type(v).__name__}")
