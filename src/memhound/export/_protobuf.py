"""The few pieces of the protocol buffers wire format that a pprof profile needs: varints,
length-delimited fields and packed repeated integers (proto3, no groups, no fixed widths)."""

from __future__ import annotations

from collections.abc import Iterable

_VARINT = 0
LENGTH_DELIMITED = 2


def varint(value: int) -> bytes:
    """Base-128, least significant group first; a negative int64 takes ten bytes, as in proto."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def key(field: int, wire_type: int) -> bytes:
    return varint(field << 3 | wire_type)


def int_field(field: int, value: int) -> bytes:
    """A varint field; proto3 leaves zero out."""
    return key(field, _VARINT) + varint(value) if value else b""


def bytes_field(field: int, payload: bytes) -> bytes:
    """A length-delimited field: an embedded message, a string's UTF-8 bytes or packed numbers."""
    return key(field, LENGTH_DELIMITED) + varint(len(payload)) + payload


def string_field(field: int, text: str) -> bytes:
    return bytes_field(field, text.encode("utf-8", "replace"))


def packed_field(field: int, encoded: Iterable[bytes]) -> bytes:
    """A packed repeated integer field from its values' varints (empty: left out)."""
    payload = b"".join(encoded)
    return bytes_field(field, payload) if payload else b""


class VarintCache(dict):
    """`cache[n]` is n's varint, made once: a profile repeats its location ids, lengths and
    amounts in sample after sample (a dict lookup costs far less than encoding)."""

    def __missing__(self, value: int) -> bytes:
        encoded = self[value] = varint(value)
        return encoded
