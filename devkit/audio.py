"""Small audio analysis for tests: 16-bit mono PCM in, frequencies, DTMF digits and levels out.

Standard library only. Samples are sequences of ints (-32768..32767), as
read_wav() and pcm_to_samples() return them. Typical use::

    samples, rate = read_wav(path)
    for start, end in sound_segments(samples, rate):
        part = samples[start:end]
        dominant_frequency(part, rate), rms_dbfs(part), detect_dtmf(part, rate)
"""

from __future__ import annotations

import array
import math
import sys
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = [
    "DTMF_HIGH",
    "DTMF_LOW",
    "DTMF_DIGITS",
    "detect_dtmf",
    "dominant_frequency",
    "dtmf_sequence",
    "pcm_to_samples",
    "read_wav",
    "rms_dbfs",
    "samples_to_pcm",
    "sound_segments",
    "tone",
    "tone_power",
    "write_wav",
]

DTMF_LOW = (697, 770, 852, 941)
DTMF_HIGH = (1209, 1336, 1477, 1633)
DTMF_DIGITS = ("123A", "456B", "789C", "*0#D")  # rows: DTMF_LOW, columns: DTMF_HIGH


def pcm_to_samples(data: bytes) -> array.array:
    """Little-endian 16-bit PCM bytes -> array of ints."""
    samples = array.array("h")
    samples.frombytes(data[: len(data) - len(data) % 2])
    if sys.byteorder != "little":
        samples.byteswap()
    return samples


def samples_to_pcm(samples: Iterable[int]) -> bytes:
    """Ints -> little-endian 16-bit PCM bytes (values are clipped)."""
    result = array.array("h", (max(-32768, min(32767, int(sample))) for sample in samples))
    if sys.byteorder != "little":
        result.byteswap()
    return result.tobytes()


def read_wav(path: str | Path) -> tuple[array.array, int]:
    """(samples, sample rate) of a mono 16-bit PCM WAV file."""
    with wave.open(str(path), "rb") as reader:
        if reader.getnchannels() != 1 or reader.getsampwidth() != 2:
            raise ValueError(
                f"{path}: not mono 16-bit PCM ({reader.getnchannels()} channels, {8 * reader.getsampwidth()} bits)"
            )
        return pcm_to_samples(reader.readframes(reader.getnframes())), reader.getframerate()


def write_wav(path: str | Path, samples: Iterable[int], rate: int, channels: int = 1) -> None:
    """Write 16-bit PCM (interleaved when channels > 1)."""
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples_to_pcm(samples))


def tone(
    frequency: float, duration: float, rate: int, amplitude: float = 8000.0, frequency2: float | None = None
) -> array.array:
    """A sine tone (or the sum of two, each of half the amplitude) of `duration` seconds."""
    count = round(duration * rate)
    step1 = 2 * math.pi * frequency / rate
    if frequency2 is None:
        return array.array("h", (round(amplitude * math.sin(step1 * n)) for n in range(count)))
    step2 = 2 * math.pi * frequency2 / rate
    half = amplitude / 2
    return array.array("h", (round(half * math.sin(step1 * n) + half * math.sin(step2 * n)) for n in range(count)))


def tone_bursts(
    frequency: float,
    duration: float,
    rate: int,
    amplitude: float = 8000.0,
    on_seconds: float = 0.2,
    off_seconds: float = 0.05,
) -> array.array:
    """A sine tone cut into bursts: `on_seconds` of tone, `off_seconds` of silence, repeated.

    Closer to speech than a steady tone for a predictive codec: a decoder
    knocked out of step by a lost frame is back in step after the next gap
    (docs/api/media.md). The tone's phase runs on through the gaps.
    """
    samples = tone(frequency, duration, rate, amplitude)
    period = round((on_seconds + off_seconds) * rate)
    on = round(on_seconds * rate)
    for index in range(len(samples)):
        if index % period >= on:
            samples[index] = 0
    return samples


def rms_dbfs(samples: Sequence[int]) -> float:
    """RMS level relative to a full-scale square wave (a full-scale sine is -3 dBFS); -inf for silence."""
    if not samples:
        return -math.inf
    mean_square = sum(sample * sample for sample in samples) / len(samples)
    if mean_square == 0:
        return -math.inf
    return 10 * math.log10(mean_square / (32768.0 * 32768.0))


def tone_power(samples: Sequence[int], rate: int, frequency: float) -> float:
    """Goertzel: the power of `frequency` in the samples, normalised by their count."""
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    power = previous * previous + before * before - coefficient * previous * before
    return power / max(len(samples), 1) ** 2


def dominant_frequency(
    samples: Sequence[int], rate: int, low: float = 50.0, high: float | None = None, resolution: float = 1.0
) -> float:
    """The strongest frequency between `low` and `high` (default: just under rate / 2), to `resolution` Hz.

    Found in three scans: over the whole band on a short window (wide
    bins, few candidates), then around the winner on all the samples at
    their spectral resolution, then at `resolution`. Give it a segment of
    steady tone; a few thousand samples are plenty.
    """
    if len(samples) < 2:
        raise ValueError("need at least two samples")
    high = rate / 2 - 1 if high is None else high

    def best(window: Sequence[int], start: float, stop: float, step: float) -> float:
        candidates = _frange(max(low, start), min(high, stop), step)
        return max(candidates, key=lambda frequency: tone_power(window, rate, frequency))

    short = samples[:512]
    wide = rate / len(short)
    found = best(short, low, high, wide / 2)
    fine = max(rate / len(samples) / 2, resolution)
    found = best(samples, found - wide, found + wide, fine)
    if fine > resolution:
        found = best(samples, found - fine, found + fine, resolution)
    return found


def _frange(start: float, stop: float, step: float) -> list[float]:
    count = int((stop - start) / step) + 1
    return [start + index * step for index in range(count)]


def detect_dtmf(samples: Sequence[int], rate: int, dominance: float = 10.0) -> str | None:
    """The DTMF digit in a segment, or None.

    The strongest low-group and high-group frequencies must each be at least
    `dominance` times stronger than the others of their group, and the two
    together must carry most of the segment's energy.
    """
    low = [tone_power(samples, rate, frequency) for frequency in DTMF_LOW]
    high = [tone_power(samples, rate, frequency) for frequency in DTMF_HIGH]
    row = max(range(4), key=low.__getitem__)
    column = max(range(4), key=high.__getitem__)
    if any(power * dominance > low[row] for index, power in enumerate(low) if index != row):
        return None
    if any(power * dominance > high[column] for index, power in enumerate(high) if index != column):
        return None
    # A sine of amplitude A has a Goertzel power A^2/4 here and a mean square
    # A^2/2: the two tones must carry at least half of the energy.
    mean_square = sum(sample * sample for sample in samples) / max(len(samples), 1)
    if mean_square == 0 or 2 * (low[row] + high[column]) < 0.5 * mean_square:
        return None
    return DTMF_DIGITS[row][column]


def sound_segments(
    samples: Sequence[int], rate: int, threshold_dbfs: float = -45.0, frame_ms: float = 10.0, min_gap_ms: float = 30.0
) -> list[tuple[int, int]]:
    """(start, end) sample indices of the runs louder than `threshold_dbfs`, in `frame_ms` steps.

    Quiet stretches shorter than `min_gap_ms` do not split a run.
    """
    frame = max(1, round(rate * frame_ms / 1000))
    loud = [rms_dbfs(samples[start : start + frame]) > threshold_dbfs for start in range(0, len(samples), frame)]
    segments: list[tuple[int, int]] = []
    gap_frames = max(1, round(min_gap_ms / frame_ms))
    index = 0
    while index < len(loud):
        if not loud[index]:
            index += 1
            continue
        start = index
        end = index + 1
        quiet = 0
        index += 1
        while index < len(loud) and quiet < gap_frames:
            if loud[index]:
                end = index + 1
                quiet = 0
            else:
                quiet += 1
            index += 1
        segments.append((start * frame, min(end * frame, len(samples))))
        index = end
    return segments


def dtmf_sequence(samples: Sequence[int], rate: int, threshold_dbfs: float = -45.0) -> str:
    """The DTMF digits of the loud segments, in order ("?" for a segment that is no digit)."""
    digits = []
    for start, end in sound_segments(samples, rate, threshold_dbfs):
        # Leave out the edges, where a tone fades in and out.
        margin = (end - start) // 10
        digits.append(detect_dtmf(samples[start + margin : end - margin], rate) or "?")
    return "".join(digits)
