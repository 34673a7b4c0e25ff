"""Set a SeaweedFS object's modification time through the filer's gRPC API.

The S3 API has no way to write an object's Last-Modified (it is the time of the upload), but the
inbox DAG picks decks by it, so a test of "decks that arrived over three hours" backdates the
uploads in the store itself: look the entry up, change ``attributes.mtime``, write it back
(``LookupDirectoryEntry`` / ``UpdateEntry`` of weed/pb/filer.proto). The messages are encoded by
hand (a few fields of protobuf's wire format) rather than from generated stubs, which would need
the proto sources and protoc at install time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import PurePosixPath

SERVICE = "/filer_pb.SeaweedFiler"
# Field numbers in filer.proto.
LOOKUP_DIRECTORY, LOOKUP_NAME, LOOKUP_ENTRY = 1, 2, 1
UPDATE_DIRECTORY, UPDATE_ENTRY = 1, 2
ENTRY_ATTRIBUTES = 4
ATTRIBUTES_MTIME, ATTRIBUTES_MTIME_NS = 2, 19
VARINT, LENGTH_DELIMITED = 0, 2


def set_mtime(filer_grpc: str, path: str, when: datetime, timeout: float = 10.0) -> None:
    """Make ``path`` (``/buckets/<bucket>/<key>``) look last modified at ``when``."""
    import grpc

    folder, name = str(PurePosixPath(path).parent), PurePosixPath(path).name
    with grpc.insecure_channel(filer_grpc) as channel:
        lookup = channel.unary_unary(f"{SERVICE}/LookupDirectoryEntry")
        update = channel.unary_unary(f"{SERVICE}/UpdateEntry")
        found = lookup(
            message((LOOKUP_DIRECTORY, folder.encode()), (LOOKUP_NAME, name.encode())),
            timeout=timeout,
        )
        entry = field_bytes(found, LOOKUP_ENTRY)
        attributes = field_bytes(entry, ENTRY_ATTRIBUTES)
        seconds = int(when.timestamp())
        attributes = replaced(attributes, {ATTRIBUTES_MTIME: seconds, ATTRIBUTES_MTIME_NS: 0})
        entry = replaced(entry, {ENTRY_ATTRIBUTES: attributes})
        update(message((UPDATE_DIRECTORY, folder.encode()), (UPDATE_ENTRY, entry)), timeout=timeout)


def encode_varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are ten-byte two's complement
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def decode_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def encode_field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return encode_varint(number << 3 | VARINT) + encode_varint(value)
    return encode_varint(number << 3 | LENGTH_DELIMITED) + encode_varint(len(value)) + value


def message(*fields: tuple[int, int | bytes]) -> bytes:
    return b"".join(encode_field(number, value) for number, value in fields)


def fields(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(field number, wire type, the field's bytes after its tag) for each field, in order."""
    at = 0
    while at < len(data):
        tag, at = decode_varint(data, at)
        number, wire = tag >> 3, tag & 7
        start = at
        if wire == VARINT:
            _, at = decode_varint(data, at)
        elif wire == 1:
            at += 8
        elif wire == LENGTH_DELIMITED:
            length, at = decode_varint(data, at)
            at += length
        elif wire == 5:
            at += 4
        else:
            raise ValueError(f"protobuf wire type {wire} is not handled")
        yield number, wire, data[start:at]


def field_bytes(data: bytes, number: int) -> bytes:
    """The payload of the length-delimited field ``number`` (a nested message)."""
    for found, wire, raw in fields(data):
        if found == number and wire == LENGTH_DELIMITED:
            length, at = decode_varint(raw, 0)
            return raw[at : at + length]
    raise LookupError(f"protobuf field {number} not in the message")


def replaced(data: bytes, values: dict[int, int | bytes]) -> bytes:
    """The message with the given fields set (old occurrences dropped, the rest kept as is)."""
    kept = b"".join(
        encode_varint(number << 3 | wire) + raw
        for number, wire, raw in fields(data)
        if number not in values
    )
    return kept + message(*values.items())
