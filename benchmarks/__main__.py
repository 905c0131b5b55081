"""Run the benchmarks: ``python -m benchmarks`` from the repository root (or ``bash benchmarks/run``).

Prints one table of figures, sipsimple next to pjsua2 and the ratio sipsimple / pjsua2, and
writes the same as JSON to benchmarks/results/latest.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from benchmarks import bench_calls, bench_media, bench_message, bench_notifications, bench_options
from benchmarks.harness import (
    PEER_MODULES,
    REPO,
    RESULTS,
    SIDES,
    BenchmarkError,
    BenchmarkResult,
    Settings,
    describe_pjsua2,
    environment,
    format_table,
    pin_cpus,
    pjsua2_info,
    write_json,
)
from devkit.sipp import sipp_binary

# One module per benchmark, each with NAME, DESCRIPTION and run(settings) -> BenchmarkResult.
BENCHMARKS: tuple[ModuleType, ...] = (bench_options, bench_notifications, bench_message, bench_calls, bench_media)


def importable(python: str, statement: str, env: dict[str, str] | None = None) -> str | None:
    """None if `statement` runs in a fresh interpreter started in the repository, else why not."""
    try:
        done = subprocess.run([python, "-c", statement], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit code {done.returncode}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    names = [module.NAME for module in BENCHMARKS]
    parser = argparse.ArgumentParser(prog="benchmarks", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=names, default=names, help="benchmarks to run")
    parser.add_argument("--count", type=int, default=Settings.count, help="OPTIONS per SIPp run")
    parser.add_argument("--limit", type=int, default=Settings.limit, help="most OPTIONS outstanding (SIPp -l)")
    parser.add_argument("--repeats", type=int, default=Settings.repeats, help="runs per side; best is reported")
    parser.add_argument("--sipp-timeout", type=int, default=Settings.sipp_timeout_s, help="seconds per SIPp run")
    parser.add_argument(
        "--call-limit",
        type=int,
        default=Settings.call_limit,
        help="most calls outstanding in the calls rate runs (capped by pjsua2's PJSUA_MAX_CALLS)",
    )
    parser.add_argument("--media-calls", type=int, default=Settings.media_calls, help="calls held in the media runs")
    parser.add_argument(
        "--media-window", type=float, default=Settings.media_window_s, help="seconds of CPU measured in the media runs"
    )
    parser.add_argument(
        "--media-ladder",
        default=",".join(str(calls) for calls in Settings.media_ladder),
        help="call counts tried for the media ceiling, comma-separated, or 'none' to skip it",
    )
    parser.add_argument(
        "--pjsua2-path",
        type=Path,
        help="directory of the pjsua2 module for the pjsua2 peers (benchmarks/run passes the build of"
        " deps/pjsip/build_pjsua2.sh); default: the installed pjsua2-python wheel",
    )
    parser.add_argument(
        "--sipsimple-stand-in",
        action="store_true",
        help="measure the pjsua2 peer in the sipsimple column too (to test the harness without sipsimple)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="JSON file to write")
    parser.add_argument("--pin", action="store_true", help="pin SIPp and the peer to separate CPUs")
    parser.add_argument("-v", "--verbose", action="store_true", help="report each step on stderr")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    settings = Settings(
        count=args.count,
        limit=args.limit,
        repeats=args.repeats,
        sipp_timeout_s=args.sipp_timeout,
        verbose=args.verbose,
        cpus=pin_cpus() if args.pin else None,
        call_limit=args.call_limit,
        media_calls=args.media_calls,
        media_window_s=args.media_window,
        media_ladder=()
        if args.media_ladder.lower() == "none"
        else tuple(int(calls) for calls in args.media_ladder.split(",") if calls.strip()),
    )
    try:
        sipp_binary()
    except RuntimeError as exc:  # no SIPp
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.pjsua2_path is not None:
        if not (args.pjsua2_path / "pjsua2.py").is_file():
            print(f"error: --pjsua2-path {args.pjsua2_path}: no pjsua2.py there", file=sys.stderr)
            return 2
        settings.pjsua2_path = str(args.pjsua2_path.resolve())

    labels = dict(zip(SIDES, SIDES, strict=True))
    probes = {"sipsimple": "from sipsimple.core import Engine", "pjsua2": "import pjsua2"}
    for side in SIDES:
        module = PEER_MODULES[side]
        if side == "sipsimple" and args.sipsimple_stand_in:
            module = PEER_MODULES["pjsua2"]
            labels[side] = "sipsimple*"
        reason = importable(
            settings.python, probes["pjsua2" if module == PEER_MODULES["pjsua2"] else side], settings.peer_env()
        )
        if reason is None:
            settings.peers[side] = module
        else:
            settings.unavailable[side] = reason
            print(f"note: {side} is not measured: {reason}", file=sys.stderr)
    if not settings.peers:
        print("error: neither sipsimple nor pjsua2 can be imported", file=sys.stderr)
        return 2
    if PEER_MODULES["pjsua2"] in settings.peers.values():
        try:
            settings.pjsua2 = pjsua2_info(settings)
        except BenchmarkError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"pjsua2: {describe_pjsua2(settings.pjsua2)}", file=sys.stderr, flush=True)

    started = time.monotonic()
    results: list[BenchmarkResult] = []
    for module in BENCHMARKS:
        if module.NAME not in args.only:
            continue
        print(f"running {module.NAME}: {module.DESCRIPTION}", file=sys.stderr, flush=True)
        results.append(module.run(settings))
    elapsed = time.monotonic() - started

    print()
    print(format_table(results, labels))
    print()
    print("ratio = sipsimple / pjsua2; figures are the best of", settings.repeats, "runs per side.")
    if args.sipsimple_stand_in:
        print("* stand-in: the sipsimple column was measured with the pjsua2 peer.")
    print(f"pjsua2: {describe_pjsua2(settings.pjsua2)}")
    reference = settings.sipp_reference.get("rate")
    if reference:
        print(f"reference: SIPp's client against a SIPp server drives {reference:.0f} OPTIONS/s here.")
    for result in results:
        for note in result.notes:
            print(f"note: {note}")
    for side, reason in settings.unavailable.items():
        print(f"{side}: not measured ({reason})")
    errors = [error for result in results for error in result.errors]
    for error in errors:
        print(f"error: {error.splitlines()[0]}")

    payload = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(elapsed, 1),
        "ratio": "sipsimple / pjsua2",
        "stand_in": bool(args.sipsimple_stand_in),
        "settings": {
            "count": settings.count,
            "limit": settings.limit,
            "repeats": settings.repeats,
            "sipp_timeout_s": settings.sipp_timeout_s,
            "call_limit": settings.call_limit,
            "media_calls": settings.media_calls,
            "media_window_s": settings.media_window_s,
            "media_ladder": list(settings.media_ladder),
            "pjsua2_path": settings.pjsua2_path,
            "cpus_sipp_peer": settings.cpus,
            "transport": "udp",
            "address": "127.0.0.1",
        },
        "unavailable": settings.unavailable,
        "pjsua2": settings.pjsua2,
        "sipp_reference": settings.sipp_reference,
        "environment": environment(settings),
        "benchmarks": {result.name: result.as_dict() for result in results},
    }
    write_json(args.output, payload)
    try:
        shown = args.output.resolve().relative_to(REPO)
    except ValueError:
        shown = args.output
    print(f"results written to {shown} ({elapsed:.0f} s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
