"""CPU time of the value classes (SIP URIs, headers, SDP), one source tree against another.

A developer's before/after tool, not one of the benchmarks' ratios: pjsua2 has no value
classes to measure against. Give it the trees to compare, each with its extension built
(``bash scripts/build_inplace`` there); the first is the baseline:

    git worktree add /tmp/before <commit>
    (cd /tmp/before && bash scripts/build_inplace)
    python benchmarks/values_microbench.py /tmp/before .

Each tree gets a worker process that imports ``sipsimple.core`` from that tree only. The
parent asks the workers for one operation at a time, alternating between them (in a new
random order each round), so that a change in the machine's load falls on every tree alike.
A worker times ``--number`` runs of the operation in CPU time (time.process_time_ns, so
time spent waiting for the CPU is not counted) and subtracts the time of the same loop
around an empty statement. The figure is the minimum over ``--rounds`` rounds, in
nanoseconds per operation; the last column is each tree's figure over the baseline's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import timeit
from pathlib import Path
from typing import IO

# The operations: name -> (setup, statement). The setups use only the public API that the
# value classes have had from the start, so that older trees can be measured too.
_URI = "sip:alice;tag=1@example.com:5061;transport=tcp?subject=hello"
_SDP = (
    "v=0\r\no=- 3849212338 3849212338 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
)
_IMPORT = "from sipsimple.core import *\n"
_MADE = (
    _IMPORT + f"uri = SIPURI.parse({_URI!r})\n"
    "from_header = FromHeader(SIPURI(user='alice', host='example.com'), 'Alice', {'tag': 'a73kszlfl'})\n"
    "contact = ContactHeader(SIPURI(user='alice', host='192.0.2.4', port=5060), parameters={'expires': '3600'})\n"
    "via = ViaHeader('UDP', '192.0.2.4', 5060, {'branch': 'z9hG4bK776asdhds', 'rport': None})\n"
    f"sdp = SDPSession.parse({_SDP!r})\n"
    "stream = sdp.media[0]\n"
    "connection = SDPConnection('192.0.2.10')\n"
    "attribute = SDPAttribute('rtpmap', '0 PCMU/8000')\n"
    "other_uri = SIPURI(user='bob', host='example.org')\n"
)
OPERATIONS: dict[str, tuple[str, str]] = {
    "SIPURI()": (_IMPORT, "SIPURI(user='alice', host='example.com', port=5060, parameters={'transport': 'tcp'})"),
    "SIPURI.parse": (_IMPORT, f"SIPURI.parse({_URI!r})"),
    "str(SIPURI)": (_MADE, "str(uri)"),
    "SIPURI.host get": (_MADE, "uri.host"),
    "SIPURI.host set": (_MADE, "uri.host = 'example.org'"),
    "SIPURI.port set": (_MADE, "uri.port = 5062"),
    "SIPURI.user set": (_MADE, "uri.user = 'bob'"),
    "FromHeader()": (_MADE, "FromHeader(other_uri, 'Bob', {'tag': 'x'})"),
    "FromHeader.parse": (_IMPORT, "FromHeader.parse('\"Alice\" <sip:alice@example.com>;tag=a73kszlfl')"),
    "str(FromHeader)": (_MADE, "str(from_header)"),
    "FromHeader.uri get": (_MADE, "from_header.uri"),
    "FromHeader.uri set": (_MADE, "from_header.uri = other_uri"),
    "FromHeader.display_name set": (_MADE, "from_header.display_name = 'Bob'"),
    "ContactHeader()": (_MADE, "ContactHeader(other_uri, parameters={'expires': '60'})"),
    "ContactHeader.parse": (_IMPORT, "ContactHeader.parse('<sip:alice@192.0.2.4:5060>;expires=3600;q=0.5')"),
    "str(ContactHeader)": (_MADE, "str(contact)"),
    "ContactHeader.uri set": (_MADE, "contact.uri = other_uri"),
    "ViaHeader()": (_IMPORT, "ViaHeader('UDP', '192.0.2.4', 5060, {'branch': 'z9hG4bK776asdhds'})"),
    "ViaHeader.parse": (_IMPORT, "ViaHeader.parse('SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bK776asdhds;rport')"),
    "str(ViaHeader)": (_MADE, "str(via)"),
    "ViaHeader.host get": (_MADE, "via.host"),
    "ViaHeader.host set": (_MADE, "via.host = '192.0.2.5'"),
    "ViaHeader.port set": (_MADE, "via.port = 5062"),
    "SDPSession.parse": (_IMPORT, f"SDPSession.parse({_SDP!r})"),
    "str(SDPSession)": (_MADE, "str(sdp)"),
    "SDPSession.version set": (_MADE, "sdp.version = 2"),
    "SDPMediaStream.port get": (_MADE, "stream.port"),
    "SDPMediaStream.port set": (_MADE, "stream.port = 49172"),
    "SDPConnection()": (_IMPORT, "SDPConnection('192.0.2.10')"),
    "SDPConnection.address set": (_MADE, "connection.address = '192.0.2.11'"),
    "SDPAttribute.value set": (_MADE, "attribute.value = '8 PCMA/8000'"),
}


def _worker(number: int) -> None:
    """Answer requests on stdin (one operation name a line) with nanoseconds per operation."""
    import sipsimple.core

    tree = Path(os.environ["VALUES_MICROBENCH_TREE"]).resolve()
    if not Path(sipsimple.core.__file__).resolve().is_relative_to(tree):
        raise SystemExit(f"sipsimple.core comes from {sipsimple.core.__file__}, not from {tree}")
    timers = {}
    for name, (setup, statement) in OPERATIONS.items():
        namespace: dict[str, object] = {}
        exec(setup, namespace)
        timers[name] = timeit.Timer(statement, timer=time_ns, globals=namespace)
    empty = timeit.Timer("pass", timer=time_ns)
    print("ready", flush=True)
    for line in sys.stdin:
        name = line.strip()
        loop = empty.timeit(number)
        spent = timers[name].timeit(number)
        print(json.dumps((spent - loop) / number), flush=True)


def time_ns() -> float:
    # The worker's clock: CPU time of this process, in nanoseconds (timeit only subtracts readings).
    return float(time.process_time_ns())


class Worker:
    """A process measuring one tree."""

    def __init__(self, tree: Path, number: int) -> None:
        self.tree = tree
        environment = dict(os.environ, PYTHONPATH=str(tree), VALUES_MICROBENCH_TREE=str(tree))
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--number", str(number)],
            cwd=tree,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self._read() != "ready":
            raise SystemExit(f"the worker for {tree} did not start")

    def _read(self) -> str:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        line = stdout.readline()
        if not line:
            raise SystemExit(f"the worker for {self.tree} ended (exit code {self.process.wait()})")
        return line.strip()

    def measure(self, name: str) -> float:
        stdin: IO[str] | None = self.process.stdin
        assert stdin is not None
        stdin.write(name + "\n")
        stdin.flush()
        return float(json.loads(self._read()))

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "trees", nargs="*", type=Path, help="source trees with a built extension; the first is the baseline"
    )
    parser.add_argument("--rounds", type=int, default=15, help="rounds; the minimum over them is reported")
    parser.add_argument("--number", type=int, default=20000, help="runs of an operation per measurement")
    parser.add_argument("--only", nargs="+", choices=sorted(OPERATIONS), help="operations to measure")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        _worker(options.number)
        return 0
    trees = [tree.resolve() for tree in options.trees] or [Path(__file__).resolve().parent.parent]
    names = options.only or list(OPERATIONS)
    workers = [Worker(tree, options.number) for tree in trees]
    best: dict[str, list[float]] = {name: [float("inf")] * len(workers) for name in names}
    try:
        for _ in range(options.rounds):
            for name in names:
                order = list(range(len(workers)))
                random.shuffle(order)
                for index in order:
                    best[name][index] = min(best[name][index], workers[index].measure(name))
    finally:
        for worker in workers:
            worker.close()
    width = max(len(name) for name in names)
    header = f"{'ns per operation':<{width}}" + "".join(f"  {f'tree {i + 1}':>9}" for i in range(len(trees)))
    if len(trees) > 1:
        header += "".join(f"  {f'{i + 1}/1':>6}" for i in range(1, len(trees)))
    print(header)
    for name in names:
        figures = best[name]
        row = f"{name:<{width}}" + "".join(f"  {figure:9.1f}" for figure in figures)
        row += "".join(f"  {figure / figures[0]:6.3f}" for figure in figures[1:])
        print(row)
    for index, tree in enumerate(trees):
        print(f"tree {index + 1}: {tree}")
    if options.json is not None:
        figures_by_tree = {str(tree): {name: best[name][index] for name in names} for index, tree in enumerate(trees)}
        options.json.write_text(json.dumps(figures_by_tree, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
