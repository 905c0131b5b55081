"""G.711 mu-law (PCMU) encoding, for audio that a peer sends as it is.

SIPp's rtp_stream sends a file's bytes as RTP payloads without encoding
them, so the tests write their tones already encoded. The encoder follows
ITU-T G.711 section 3 (the "segment + 4-bit mantissa" law, with the
bias of 0x84 and inverted bits); decode() is its inverse, which the tests
use to check the encoder itself.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

_BIAS = 0x84
_CLIP = 32635


def encode_sample(sample: int) -> int:
    """One 16-bit linear sample to one mu-law byte."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sample < 0 else sample, _CLIP) + _BIAS
    exponent = 7
    mask = 0x4000
    while exponent > 0 and not magnitude & mask:
        exponent -= 1
        mask >>= 1
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def decode_sample(byte: int) -> int:
    """One mu-law byte to a 16-bit linear sample."""
    byte = ~byte & 0xFF
    exponent = (byte >> 4) & 0x07
    magnitude = (((byte & 0x0F) << 3) + _BIAS) << exponent
    magnitude -= _BIAS
    return -magnitude if byte & 0x80 else magnitude


def tone_samples(frequency: float, seconds: float, rate: int = 8000, level: float = 0.5) -> list[int]:
    """A sine tone as 16-bit linear samples; level is its peak, 1.0 being full scale."""
    amplitude = level * 32767
    return [round(amplitude * math.sin(2 * math.pi * frequency * n / rate)) for n in range(round(seconds * rate))]


def write_pcmu_wav(path: Path, samples: list[int], rate: int = 8000) -> Path:
    """A WAVE file of format 7 (mu-law), mono: what SIPp's rtp_stream plays as payload type 0."""
    data = bytes(encode_sample(sample) for sample in samples)
    # A 16-byte fmt chunk keeps the header at the usual 44 bytes, which is
    # what players that skip the header rather than parse it expect.
    header = b"RIFF" + struct.pack("<I", 4 + 8 + 16 + 8 + len(data)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 7, 1, rate, rate, 1, 8)
    path.write_bytes(header + fmt + b"data" + struct.pack("<I", len(data)) + data)
    return path
