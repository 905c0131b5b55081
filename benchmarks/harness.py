"""Shared pieces of the benchmarks: peer processes, SIPp runs, figures, the table and the JSON.

Every benchmark measures the same figures for two sides, "sipsimple" and "pjsua2", in the
same run and with the same parameters; the ratio printed is sipsimple / pjsua2.
"""

from __future__ import annotations

import json
import os
import platform
import queue
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devkit.ports import free_port
from devkit.sipp import SippResult, collect, sipp_binary, sipp_version

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SCENARIOS = BENCH_DIR / "scenarios"
RESULTS = BENCH_DIR / "results"

SIDES = ("sipsimple", "pjsua2")
PEER_MODULES = {
    "sipsimple": "benchmarks.peers.sipsimple_uas",
    "pjsua2": "benchmarks.peers.pjsua2_uas",
}


# SIPp's socket buffers (-buff_size); the kernel caps them at net.core.rmem_max / wmem_max.
SIPP_SOCKET_BUFFER = 4 * 1024 * 1024

# pjsua's compile-time cap on simultaneous calls (PJSUA_MAX_CALLS) when the pjsua2 module does
# not say otherwise: pjsua.h's default, and what the pjsua2-python wheel is built with.
PJSUA_DEFAULT_MAX_CALLS = 4


class BenchmarkError(RuntimeError):
    pass


@dataclass
class Settings:
    """Parameters shared by every benchmark of one run."""

    count: int = 30000  # OPTIONS transactions per SIPp run
    limit: int = 100  # most OPTIONS outstanding at once (SIPp -l)
    repeats: int = 5  # runs per side; the best one is reported
    sipp_timeout_s: int = 60  # SIPp stops by itself after this long
    python: str = sys.executable
    # side -> peer module; a side missing here is not measured (see `unavailable`)
    peers: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    verbose: bool = False
    # CPUs for SIPp and for the peer, or None to let the scheduler place them (see pin_cpus)
    cpus: tuple[int, int] | None = None
    # SIPp against a SIPp server, measured once (see sipp_reference)
    sipp_reference: dict[str, Any] = field(default_factory=dict)
    # Directory holding the pjsua2 module the peers import (deps/pjsip/build_pjsua2.sh's build),
    # put first on their PYTHONPATH; None: whatever `import pjsua2` finds (the pjsua2-python wheel).
    pjsua2_path: str | None = None
    # Which pjsua2 the peers import (see pjsua2_info)
    pjsua2: dict[str, Any] = field(default_factory=dict)
    # most calls outstanding in the calls benchmark's rate runs (capped by pjsua2_max_calls)
    call_limit: int = 64
    # the media benchmark: calls held, the CPU window, and the ladder of call counts for its ceiling
    media_calls: int = 50
    media_window_s: float = 5.0
    media_ladder: tuple[int, ...] = (25, 50, 100, 200, 250)

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"  {message}", file=sys.stderr, flush=True)

    def peer_env(self) -> dict[str, str] | None:
        """The environment of every peer process: pjsua2_path first on PYTHONPATH (None: inherit)."""
        if not self.pjsua2_path:
            return None
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [self.pjsua2_path, env.get("PYTHONPATH")]))
        return env

    @property
    def pjsua2_max_calls(self) -> int:
        """pjsua's PJSUA_MAX_CALLS in the pjsua2 the peers import, as far as known."""
        return int(self.pjsua2.get("build", {}).get("pjsua_max_calls", PJSUA_DEFAULT_MAX_CALLS))


@dataclass
class Figure:
    """One measured quantity, with a value for each side."""

    name: str
    unit: str
    values: dict[str, float | None]
    higher_is_better: bool | None = True  # None: a check, neither way is better
    is_count: bool = False  # printed as a whole number

    @property
    def ratio(self) -> float | None:
        mine, theirs = self.values.get("sipsimple"), self.values.get("pjsua2")
        if mine is None or theirs is None or theirs == 0:
            return None
        return mine / theirs

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "sipsimple": self.values.get("sipsimple"),
            "pjsua2": self.values.get("pjsua2"),
            "ratio": self.ratio,
            "higher_is_better": self.higher_is_better,
        }


@dataclass
class BenchmarkResult:
    name: str
    description: str
    figures: list[Figure]
    runs: dict[str, list[dict[str, Any]]]
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "figures": [figure.as_dict() for figure in self.figures],
            "runs": self.runs,
            "notes": self.notes,
            "errors": self.errors,
        }


def pin_cpus() -> tuple[int, int] | None:
    """Two distinct CPUs, one for SIPp and one for the peer, when this process may use two.

    Pinning keeps the load generator and the peer off each other's CPU. It is off by default:
    on a 2-core machine it did not make the figures steadier, and it keeps a peer that uses
    more than one thread from spreading them.
    """
    try:
        available = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    return (available[0], available[1]) if len(available) >= 2 else None


def _affinity(cpu: int | None) -> Callable[[], None] | None:
    if cpu is None:
        return None

    def apply() -> None:
        os.sched_setaffinity(0, {cpu})

    return apply


# ---------------------------------------------------------------------------------------------
# Ports and peers


class Peer:
    """A peer process speaking the line protocol of benchmarks/peers/protocol.py."""

    def __init__(self, settings: Settings, side: str, trace: bool, ready_timeout_s: float = 30.0) -> None:
        self.side = side
        self.module = settings.peers[side]
        # the peer stops by itself well after SIPp would have
        max_seconds = settings.sipp_timeout_s * 2 + 60
        self.argv = [settings.python, "-m", self.module, "--max-seconds", str(max_seconds)]
        if trace:
            self.argv.append("--trace")
        self.ready_timeout_s = ready_timeout_s
        self.env = settings.peer_env()
        self.cpu = settings.cpus[1] if settings.cpus else None
        self.port = 0
        self.noise: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            self.argv,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
            preexec_fn=_affinity(self.cpu),  # before the peer starts any thread
        )
        threading.Thread(target=self._pump, args=(self._process,), daemon=True).start()
        deadline = time.monotonic() + self.ready_timeout_s
        while True:
            line = self._next_line(deadline)
            if line.startswith("READY "):
                self.port = int(line.split()[1])
                return
            self.noise.append(line)

    def stop(self, timeout_s: float = 20.0) -> dict[str, Any]:
        """Ask the peer to stop and return the counters it reports."""
        assert self._process is not None and self._process.stdin is not None
        try:
            self._process.stdin.write("STOP\n")
            self._process.stdin.flush()
            self._process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._next_line(deadline)
            if line.startswith("{"):
                counters: dict[str, Any] = json.loads(line)
                break
            self.noise.append(line)
        try:
            self._process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            counters["exit"] = "killed after reporting"
        else:
            counters["exit_code"] = self._process.returncode
        return counters

    def kill(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._stderr.close()

    def _pump(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _next_line(self, deadline: float) -> str:
        remaining = deadline - time.monotonic()
        try:
            line = self._lines.get(timeout=max(0.0, remaining))
        except queue.Empty:
            raise BenchmarkError(f"{self.side} peer: no answer in time{self._stderr_tail()}") from None
        if line is None:
            self._lines.put(None)  # keep reporting the end of output
            raise BenchmarkError(f"{self.side} peer ended early{self._stderr_tail()}")
        return line

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            tail = self._stderr.read()[-1500:].strip()
        except (OSError, ValueError):
            return ""
        return f"; its stderr ends with:\n{tail}" if tail else ""


@contextmanager
def running_peer(settings: Settings, side: str, trace: bool) -> Iterator[Peer]:
    peer = Peer(settings, side, trace)
    try:
        peer.start()
        settings.log(f"{side} peer ready on UDP port {peer.port}")
        yield peer
    finally:
        peer.kill()


# ---------------------------------------------------------------------------------------------
# SIPp


@dataclass
class LoadFigures:
    """What a SIPp load run (-trace_stat) measured, from its result's final statistics."""

    successful: int
    failed: int
    retransmissions: int  # requests SIPp had to send again: the peer lost or was slow to answer them
    elapsed_s: float
    cpu_s: float  # SIPp's own CPU time: near elapsed_s means SIPp, not the peer, set the pace
    exit_code: int
    timed_out: bool

    @property
    def rate(self) -> float:
        return self.successful / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def sipp_load(self) -> float:
        """SIPp's CPU use as a share of one core."""
        return self.cpu_s / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate": self.rate, "sipp_load": self.sipp_load}


def _children_cpu_s() -> float:
    # CPU time of reaped child processes; only SIPp is reaped between two readings
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _epoch(stat_field: str) -> float:
    # SIPp writes dates as "YYYY-MM-DD<TAB>HH:MM:SS.micro<TAB>epoch.micro"
    return float(stat_field.split("\t")[-1])


def load_figures(result: SippResult, cpu_s: float, timed_out: bool, timeout_s: float) -> LoadFigures:
    """A finished load run's figures, from its final statistics line; its screen (stdout) explains a failure."""
    final = result.statistics
    if not final:
        raise BenchmarkError(f"SIPp failed (exit {result.returncode}): it wrote no statistics\n{result.stdout[-1500:]}")
    elapsed = _epoch(final["CurrentTime"]) - _epoch(final["StartTime"])
    return LoadFigures(
        successful=int(final["SuccessfulCall(C)"]),
        failed=int(final["FailedCall(C)"]),
        retransmissions=int(final.get("Retransmissions(C)", 0)),
        elapsed_s=elapsed,
        cpu_s=cpu_s,
        exit_code=result.returncode,
        timed_out=timed_out or elapsed >= timeout_s,
    )


def load_command(workdir: Path, scenario: Path, port: int, count: int, limit: int, timeout_s: float) -> list[str]:
    """SIPp starting calls to 127.0.0.1:`port` as fast as it can (-r 100000 per second), at most `limit` at once
    (-l then bounds the transactions in flight, so the rate is set by how fast the peer answers), and writing
    its statistics (-trace_stat) into `workdir`."""
    return [
        sipp_binary(),
        f"127.0.0.1:{port}",
        "-sf", str(scenario),
        "-i", "127.0.0.1",
        "-p", str(free_port()),
        "-m", str(count),
        "-r", "100000", "-rp", "1000",
        "-l", str(limit),
        "-timeout", f"{timeout_s}s",
        "-buff_size", str(SIPP_SOCKET_BUFFER),
        "-nostdin",
        "-trace_stat", "-stf", str(workdir / "stats.csv"), "-fd", "1",
    ]  # fmt: skip


def start_load(settings: Settings, argv: list[str], workdir: Path) -> subprocess.Popen[bytes]:
    """SIPp started on argv in `workdir`, its screen going to workdir/screen.txt."""
    with (workdir / "screen.txt").open("w") as out:
        return subprocess.Popen(
            argv,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_affinity(settings.cpus[0] if settings.cpus else None),
        )


def finish_load(process: subprocess.Popen[bytes], workdir: Path, cpu_before: float, timeout_s: float) -> LoadFigures:
    """Wait for a load run (killing it if it overruns its own timeout by 30 s) and read its figures."""
    timed_out = False
    try:
        exit_code = process.wait(timeout_s + 30)
    except subprocess.TimeoutExpired:
        timed_out = True
        process.kill()
        exit_code = process.wait(10)
    finally:
        if process.poll() is None:  # interrupted: do not leave SIPp behind
            process.kill()
            process.wait(10)
    cpu = _children_cpu_s() - cpu_before
    screen = (workdir / "screen.txt").read_text(errors="replace")
    return load_figures(collect(workdir, exit_code, screen, ""), cpu, timed_out, timeout_s)


def run_sipp_uac(settings: Settings, port: int, count: int | None = None) -> LoadFigures:
    """Send `count` OPTIONS to 127.0.0.1:`port`, at most settings.limit outstanding, and wait for all.

    See load_command. A request unanswered for 5 s (with retransmissions after 0.5, 1 and 2 s)
    is a failed transaction.
    """
    count = count or settings.count
    workdir = Path(tempfile.mkdtemp(prefix="bench-sipp-"))
    argv = load_command(workdir, SCENARIOS / "options_uac.xml", port, count, settings.limit, settings.sipp_timeout_s)
    cpu_before = _children_cpu_s()
    result = finish_load(start_load(settings, argv, workdir), workdir, cpu_before, settings.sipp_timeout_s)
    settings.log(
        f"SIPp: {result.successful} ok, {result.failed} failed, {result.retransmissions} retransmitted,"
        f" {result.rate:.0f}/s, SIPp CPU {result.sipp_load:.0%}"
    )
    return result


def sipp_reference(settings: Settings, runs: int = 2) -> dict[str, Any]:
    """SIPp's client against a SIPp server (best of `runs`): about the most OPTIONS/s SIPp drives here.

    The result is kept in settings.sipp_reference, so it is measured once per run of the suite.
    """
    if settings.sipp_reference:
        return settings.sipp_reference
    best_run: dict[str, Any] = {}
    for _ in range(runs):
        port = free_port()
        argv = [
            sipp_binary(),
            "-sf", str(SCENARIOS / "options_uas.xml"),
            "-i", "127.0.0.1",
            "-p", str(port),
            "-m", str(settings.count),
            "-timeout", f"{settings.sipp_timeout_s + 10}s",
            "-buff_size", str(SIPP_SOCKET_BUFFER),
            "-nostdin",
        ]  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="bench-sipp-uas-") as tmp:
            server = subprocess.Popen(
                argv,
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_affinity(settings.cpus[1] if settings.cpus else None),
            )
            try:
                time.sleep(0.5)
                if server.poll() is not None:
                    raise BenchmarkError(f"the SIPp server exited at once (exit {server.returncode})")
                settings.log("reference: SIPp client against a SIPp server")
                result = run_sipp_uac(settings, port).as_dict()
            finally:
                server.kill()
                server.wait(10)
        if result["rate"] > best_run.get("rate", -1.0):
            best_run = result
    settings.sipp_reference = best_run
    return best_run


# ---------------------------------------------------------------------------------------------
# Repetition


def alternate(
    settings: Settings, measure: Callable[[str], dict[str, Any]], errors: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Measure each available side settings.repeats times, swapping which side goes first each round."""
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    given_up: set[str] = set()
    for round_index in range(settings.repeats):
        order = SIDES if round_index % 2 == 0 else tuple(reversed(SIDES))
        for side in order:
            if side not in settings.peers or side in given_up:
                continue
            settings.log(f"round {round_index + 1}/{settings.repeats}: {side}")
            try:
                run = measure(side)
            except BenchmarkError as exc:
                errors.append(f"{side}, round {round_index + 1}: {exc}")
                print(f"  error: {side}, round {round_index + 1}: {exc}", file=sys.stderr, flush=True)
                continue
            runs[side].append(run)
            if run.get("timed_out"):
                # a side that cannot finish in time would only make every later round as long
                given_up.add(side)
                message = f"{side}, round {round_index + 1}: SIPp hit its {settings.sipp_timeout_s} s timeout"
                errors.append(message + "; no more rounds for this side")
                print(f"  error: {message}", file=sys.stderr, flush=True)
    return runs


def best(runs: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The run with the highest value of `key` (best of N filters out noise from other processes)."""
    usable = [run for run in runs if run.get(key) is not None]
    return max(usable, key=lambda run: run[key]) if usable else None


def near_ceiling_notes(settings: Settings, name: str, rates: dict[str, float | None], share: float = 0.85) -> list[str]:
    """Flag the sides whose OPTIONS rate came near what SIPp drives against a SIPp server."""
    ceiling = settings.sipp_reference.get("rate") if settings.sipp_reference else None
    if not ceiling:
        return []
    return [
        f"{name}, {side}: {rate:.0f} OPTIONS/s is {rate / ceiling:.0%} of the SIPp reference ({ceiling:.0f}/s):"
        " the load generator may have set the pace; compare the CPU figures"
        for side, rate in rates.items()
        if rate is not None and rate >= share * ceiling
    ]


def cpu_per_transaction_us(peer_counters: dict[str, Any], successful: int) -> float | None:
    """The peer's CPU time (all its threads) per answered OPTIONS, in microseconds."""
    cpu = peer_counters.get("cpu_s")
    if cpu is None or not successful:
        return None
    return float(cpu) / successful * 1e6


def options_flood(settings: Settings, side: str, trace: bool) -> tuple[LoadFigures, dict[str, Any]]:
    """SIPp's OPTIONS load (run_sipp_uac) against a fresh peer of `side`, message tracing on or off.

    Returns SIPp's figures and the run's measurement as far as the two OPTIONS benchmarks share it:
    SIPp's figures, the peer's counters ("peer") and its CPU per answered OPTIONS.
    """
    with running_peer(settings, side, trace=trace) as peer:
        sipp = run_sipp_uac(settings, peer.port)
        counters = peer.stop()
    return sipp, {
        **sipp.as_dict(),
        "peer": counters,
        "peer_cpu_us_per_options": cpu_per_transaction_us(counters, sipp.successful),
    }


def pick(run: dict[str, Any] | None, key: str) -> float | None:
    if run is None:
        return None
    value = run.get(key)
    return None if value is None else float(value)


@dataclass
class SidedRuns:
    """Every run of both sides, the best one of each, and what went wrong."""

    runs: dict[str, list[dict[str, Any]]]
    chosen: dict[str, dict[str, Any] | None]
    failed: dict[str, float | None]
    errors: list[str]
    notes: list[str]

    def figure(self, name: str, unit: str, key: str, higher_is_better: bool | None = True) -> Figure:
        return Figure(name, unit, {side: pick(self.chosen[side], key) for side in SIDES}, higher_is_better)

    def failed_figure(self, name: str) -> Figure:
        return Figure(name, "all runs", self.failed, higher_is_better=False, is_count=True)

    def result(self, name: str, description: str, figures: list[Figure]) -> BenchmarkResult:
        return BenchmarkResult(name, description, figures, self.runs, self.notes, self.errors)


def run_both_sides(settings: Settings, name: str, measure: Callable[[str], dict[str, Any]], best_key: str) -> SidedRuns:
    """Measure both sides (alternating), keep each side's best run by `best_key`, run the SIPp
    reference and note the sides whose OPTIONS rate came near it."""
    errors: list[str] = []
    runs = alternate(settings, measure, errors)
    chosen = {side: best(runs[side], best_key) for side in SIDES}
    failed = {side: float(sum(run["failed"] for run in runs[side])) if runs[side] else None for side in SIDES}
    try:
        sipp_reference(settings)
    except BenchmarkError as exc:
        errors.append(f"SIPp reference: {exc}")
    notes = near_ceiling_notes(settings, name, {side: pick(chosen[side], "rate") for side in SIDES})
    return SidedRuns(runs, chosen, failed, errors, notes)


# ---------------------------------------------------------------------------------------------
# Output


def _format_value(value: float | None, is_count: bool = False) -> str:
    if value is None:
        return "n/a"
    if is_count or abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}"


def format_table(results: list[BenchmarkResult], labels: dict[str, str]) -> str:
    header = ["benchmark", "figure", labels["sipsimple"], labels["pjsua2"], "ratio", "better"]
    rows = [header]
    for result in results:
        for figure in result.figures:
            ratio = figure.ratio
            rows.append(
                [
                    result.name,
                    f"{figure.name} ({figure.unit})",
                    _format_value(figure.values.get("sipsimple"), figure.is_count),
                    _format_value(figure.values.get("pjsua2"), figure.is_count),
                    "n/a" if ratio is None else f"{ratio:.2f}",
                    {True: "higher", False: "lower", None: "-"}[figure.higher_is_better],
                ]
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:-1], widths[2:-1], strict=True)]
        cells.append(row[-1].ljust(widths[-1]))
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


# Run in a peer's environment: which pjsua2 `import pjsua2` finds, its pjproject version
# (Endpoint.libVersion, callable before libCreate) and, for a build of
# deps/pjsip/build_pjsua2.sh, the pjsua2-build.json written next to it.
_PJSUA2_PROBE = """
import importlib.metadata, json, pathlib, pjsua2
info = {"version": pjsua2.Endpoint().libVersion().full, "module": str(pathlib.Path(pjsua2.__file__).resolve())}
build = pathlib.Path(info["module"]).parent / "pjsua2-build.json"
if build.is_file():
    info["build"] = json.loads(build.read_text())
else:
    try:
        wheel = importlib.metadata.distribution("pjsua2-python")
    except importlib.metadata.PackageNotFoundError:
        wheel = None
    if wheel is not None and pathlib.Path(wheel.locate_file("pjsua2/__init__.py")).resolve() == pathlib.Path(
        info["module"]
    ):
        info["distribution"] = "pjsua2-python " + wheel.version
print(json.dumps(info))
"""


def pjsua2_info(settings: Settings) -> dict[str, Any]:
    """Which pjsua2 the peers import (run in their environment); raises BenchmarkError if none."""
    try:
        done = subprocess.run(
            [settings.python, "-c", _PJSUA2_PROBE],
            cwd=REPO,
            env=settings.peer_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BenchmarkError(f"cannot probe pjsua2: {exc}") from exc
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise BenchmarkError(lines[-1] if lines else f"pjsua2 probe: exit code {done.returncode}")
    info: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return info


def describe_pjsua2(info: dict[str, Any]) -> str:
    """One line saying which pjsua2 was measured."""
    if not info:
        return "not measured"
    build = info.get("build")
    if build:
        defines = " ".join(build.get("defines", []))
        origin = f"built by {build.get('built_by')} from sipsimple's pjproject tree and config_site.h, {defines}"
    else:
        what = info.get("distribution") or "not built by deps/pjsip/build_pjsua2.sh"
        origin = f"{what}, PJSUA_MAX_CALLS taken as pjsua's default {PJSUA_DEFAULT_MAX_CALLS}"
    return f"pjproject {info['version']} ({origin}), {info['module']}"


def environment(settings: Settings) -> dict[str, Any]:
    def probe(statement: str) -> str | None:
        try:
            done = subprocess.run(
                [settings.python, "-c", statement], cwd=REPO, capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() or None if done.returncode == 0 else None

    def version(package: str) -> str | None:
        return probe(f"import importlib.metadata as m; print(m.version({package!r}))")

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sipp": sipp_version(),
        # installed, but the peers use it only when settings.pjsua2 says so (see "pjsua2" in the JSON)
        "pjsua2_python": version("pjsua2-python"),
        "sipsimple": version("sipsimple"),
        "sipsimple_pjproject": probe("from sipsimple.core import PJSIP_VERSION; print(PJSIP_VERSION)"),
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    scratch.replace(path)
