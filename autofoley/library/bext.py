"""Read the text a WAV file carries about itself: the BWF ``bext``
Description and the RIFF ``LIST/INFO`` title and comment.

Library tools (Soundminer, BaseHead, recorders) write the sound's description
into the 256-byte ``bext`` Description, so it is often better than the file
name. The chunks are walked by hand: soundfile does not expose ``bext``, and a
chunk walk reads a few hundred bytes without decoding any audio. Odd or broken
files give empty text, never an exception: this is best-effort metadata.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

_DESCRIPTION_BYTES = 256  # fixed size of bext Description (EBU Tech 3285)
_INFO_MAX_BYTES = 1 << 16  # a LIST/INFO larger than this is not worth reading
_MAX_CHUNKS = 4096  # guards against a crafted file with millions of tiny chunks
_RF64_UNKNOWN = 0xFFFFFFFF  # RF64 size placeholder; the real size is in ds64


@dataclass(frozen=True)
class WavText:
    """Text found in a WAV file's metadata chunks ('' where absent)."""

    description: str = ""  # bext Description
    title: str = ""  # LIST/INFO INAM
    comment: str = ""  # LIST/INFO ICMT

    @property
    def best(self) -> str:
        """The description, else title and comment joined."""
        if self.description:
            return self.description
        parts = [self.title] if self.title else []
        if self.comment and self.comment != self.title:
            parts.append(self.comment)
        return ", ".join(parts)


def read_bext_description(path: str | Path) -> str:
    """The sound's own description: bext Description, else INFO INAM/ICMT.

    Returns '' for a file without them or that is not RIFF/RF64 WAV at all.
    """
    return read_wav_text(path).best


def read_wav_text(path: str | Path) -> WavText:
    """bext Description and INFO title/comment of a RIFF, RF64 or BW64 WAV."""
    try:
        with open(path, "rb") as f:
            return _read(f)
    except (OSError, struct.error, ValueError):
        return WavText()


def _read(f: BinaryIO) -> WavText:
    description = title = comment = ""
    for chunk_id, size in _chunks(f):
        if chunk_id == b"bext" and not description:
            description = _text(f.read(min(size, _DESCRIPTION_BYTES)))
        elif chunk_id == b"LIST" and 4 <= size <= _INFO_MAX_BYTES:
            body = f.read(size)
            if body[:4] == b"INFO":
                info = _info_fields(body[4:])
                title = title or info.get(b"INAM", "")
                comment = comment or info.get(b"ICMT", "")
    return WavText(description, title, comment)


def _chunks(f: BinaryIO) -> Iterator[tuple[bytes, int]]:
    """Yield (id, size) of each top-level chunk, with ``f`` at its body.

    The caller may read from the body; the walk seeks to the next chunk
    itself. RF64/BW64 sizes of 0xFFFFFFFF are looked up in the ds64 chunk.
    """
    header = f.read(12)
    if len(header) < 12 or header[:4] not in (b"RIFF", b"RF64", b"BW64") or header[8:12] != b"WAVE":
        return
    end = f.seek(0, 2)
    pos = 12
    big_sizes: dict[bytes, int] = {}
    for _ in range(_MAX_CHUNKS):
        if pos + 8 > end:
            return
        f.seek(pos)
        chunk_id, size = struct.unpack("<4sI", f.read(8))
        if chunk_id == b"ds64":
            f.seek(pos + 8)
            big_sizes = _ds64_sizes(f.read(min(size, 4096)))
        elif size == _RF64_UNKNOWN:
            size = big_sizes.get(chunk_id, end - pos - 8)
        f.seek(pos + 8)
        yield chunk_id, size
        # Chunks are word-aligned: an odd size is followed by one pad byte.
        pos += 8 + size + (size & 1)


def _ds64_sizes(body: bytes) -> dict[bytes, int]:
    """64-bit sizes from an RF64 ds64 chunk: data, plus its optional table."""
    if len(body) < 28:
        return {}
    _riff, data, _samples, count = struct.unpack_from("<QQQI", body)
    sizes = {b"data": data}
    for i in range(count):
        at = 28 + 12 * i
        if at + 12 > len(body):
            break
        chunk_id, size = struct.unpack_from("<4sQ", body, at)
        sizes[chunk_id] = size
    return sizes


def _info_fields(body: bytes) -> dict[bytes, str]:
    fields: dict[bytes, str] = {}
    pos = 0
    while pos + 8 <= len(body):
        field_id, size = struct.unpack_from("<4sI", body, pos)
        fields.setdefault(field_id, _text(body[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return fields


def _text(raw: bytes) -> str:
    """NUL-terminated text as one clean line.

    The standard says ASCII, but tools write UTF-8 or Latin-1 in practice;
    UTF-8 is tried first because Latin-1 never fails to decode.
    """
    raw = raw.split(b"\0", 1)[0]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
