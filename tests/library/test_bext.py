import struct

import numpy as np
import soundfile as sf
from synth import (
    bext_payload,
    fmt_payload,
    info_payload,
    pcm16,
    riff_chunk,
    wav_bytes,
    write_bwf,
)

from autofoley.library.bext import read_bext_description, read_wav_text

SR = 8000


def _tone(seconds: float = 0.1) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (0.3 * np.sin(2 * np.pi * 440 * t))[:, None]


def test_reads_description_written_by_the_helper(tmp_path):
    path = tmp_path / "door.wav"
    write_bwf(path, _tone(), SR, "Wooden door knock, three knocks")
    assert read_bext_description(path) == "Wooden door knock, three knocks"
    # the file is still a valid WAV for decoders
    assert sf.info(str(path)).frames == len(_tone())


def test_full_256_byte_description_without_terminator(tmp_path):
    text = ("glass smash " * 30)[:256]
    path = tmp_path / "long.wav"
    write_bwf(path, _tone(), SR, text)
    assert read_bext_description(path) == " ".join(text.split())


def test_latin1_and_utf8_descriptions(tmp_path):
    for encoding in ("latin-1", "utf-8"):
        path = tmp_path / f"{encoding}.wav"
        bext = riff_chunk(b"bext", bext_payload("Café door".encode(encoding)))
        path.write_bytes(wav_bytes(_tone(), SR, (bext,)))
        assert read_bext_description(path) == "Café door", encoding


def test_plain_wav_has_no_description(tmp_path):
    path = tmp_path / "plain.wav"
    sf.write(str(path), _tone(), SR, subtype="PCM_16")
    assert read_bext_description(path) == ""


def test_info_title_and_comment_when_no_bext(tmp_path):
    path = tmp_path / "info.wav"
    info = riff_chunk(b"LIST", info_payload(INAM="Dog bark", ICMT="medium dog, outdoors"))
    path.write_bytes(wav_bytes(_tone(), SR, after_data=(info,)))
    text = read_wav_text(path)
    assert (text.description, text.title, text.comment) == ("", "Dog bark", "medium dog, outdoors")
    assert read_bext_description(path) == "Dog bark, medium dog, outdoors"


def test_bext_wins_over_info(tmp_path):
    path = tmp_path / "both.wav"
    path.write_bytes(wav_bytes(_tone(), SR, (riff_chunk(b"bext", bext_payload("from bext")),),
                               (riff_chunk(b"LIST", info_payload(INAM="from info")),)))
    assert read_bext_description(path) == "from bext"


def test_bext_after_data_and_after_odd_sized_chunk(tmp_path):
    # An odd-sized chunk is followed by a pad byte that the walk must skip.
    path = tmp_path / "late.wav"
    path.write_bytes(wav_bytes(_tone(), SR, (riff_chunk(b"junk", b"abc"),),
                               (riff_chunk(b"bext", bext_payload("late description")),)))
    assert read_bext_description(path) == "late description"


def test_rf64_uses_ds64_size_to_skip_the_data(tmp_path):
    audio = pcm16(_tone())
    ds64 = struct.pack("<QQQI", 0, len(audio), len(_tone()), 0)
    body = (b"WAVE" + riff_chunk(b"ds64", ds64) + riff_chunk(b"fmt ", fmt_payload(SR, 1))
            + b"data" + struct.pack("<I", 0xFFFFFFFF) + audio
            + riff_chunk(b"bext", bext_payload("rf64 rain on roof")))
    path = tmp_path / "big.wav"
    path.write_bytes(b"RF64" + struct.pack("<I", 0xFFFFFFFF) + body)
    assert read_bext_description(path) == "rf64 rain on roof"


def test_odd_files_never_raise(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "text.wav"
    text.write_text("this is not audio\n" * 20)
    truncated = tmp_path / "truncated.wav"
    full = wav_bytes(_tone(), SR, (riff_chunk(b"bext", bext_payload("cut short here")),))
    truncated.write_bytes(full[:12 + 8 + 16 + 8 + 11])  # ends 11 bytes into bext
    huge = tmp_path / "huge.wav"
    huge.write_bytes(b"RIFF" + struct.pack("<I", 100) + b"WAVE" + b"junk" + struct.pack("<I", 0xFFFFFFF0))
    for path in (empty, text, truncated, huge, tmp_path / "missing.wav", tmp_path):
        assert isinstance(read_bext_description(path), str)
    assert read_bext_description(text) == ""
    assert read_bext_description(truncated) == "cut short h"
