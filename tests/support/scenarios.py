"""Where the SIPp scenarios are, and the ones written out from a template."""

from __future__ import annotations

import tempfile
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
CALLS = SCENARIOS / "calls"
MALFORMED = SCENARIOS / "malformed"


def request_scenario(method: str, expected: int, in_dialog: bool = False) -> Path:
    """A one-request scenario for `method` expecting final response `expected`.

    SIPp does not allow keywords in the request method, so the scenario is
    written out per method from a template.
    """
    template = (SCENARIOS / "request_uac.xml.in").read_text()
    text = (
        template.replace("@METHOD@", method)
        .replace("@EXPECTED@", str(expected))
        .replace("@TO_TAG@", ";tag=no-such-dialog" if in_dialog else "")
    )
    path = Path(tempfile.mkdtemp(prefix="scenario-")) / f"{method.lower()}_{expected}.xml"
    path.write_text(text)
    return path


# malformed_request.xml.in's cases: name -> (method, From, CSeq, the faulty lines).
MALFORMED_REQUESTS = {
    "cseq-not-a-number": ("OPTIONS", '"SIPp" <sip:sipp@[local_ip]>;tag=[call_number]', "abc OPTIONS", ""),
    "cseq-too-large": ("OPTIONS", '"SIPp" <sip:sipp@[local_ip]>;tag=[call_number]', "4294967296 OPTIONS", ""),
    "from-not-a-uri": ("MESSAGE", "<not a uri>;tag=[call_number]", "1 MESSAGE", ""),
    "max-forwards-not-a-number": (
        "OPTIONS",
        "<sip:sipp@[local_ip]>;tag=[call_number]",
        "1 OPTIONS",
        "      Max-Forwards: many",
    ),
    "content-length-negative": (
        "MESSAGE",
        "<sip:sipp@[local_ip]>;tag=[call_number]",
        "1 MESSAGE",
        "      Content-Type: text/plain\n      Content-Length: -5",
    ),
    "header-without-colon": (
        "OPTIONS",
        "<sip:sipp@[local_ip]>;tag=[call_number]",
        "1 OPTIONS",
        "      This line has no colon",
    ),
    "contact-not-parsable": (
        "OPTIONS",
        "<sip:sipp@[local_ip]>;tag=[call_number]",
        "1 OPTIONS",
        "      Contact: <sip:@@>;;;",
    ),
}


def malformed_request_scenario(directory: Path, name: str, case: tuple[str, str, str, str] | None = None) -> Path:
    """malformed_request.xml.in filled in for `case` (method, From, CSeq, faulty lines; by default the case
    `name` of MALFORMED_REQUESTS), written into `directory` as <name>.xml."""
    method, from_value, cseq, faulty = case or MALFORMED_REQUESTS[name]
    template = (SCENARIOS / "malformed_request.xml.in").read_text()
    if "Content-Length" not in faulty:
        faulty = (faulty + "\n" if faulty else "") + "      Content-Length: 0"
    text = (
        template.replace("@METHOD@", method)
        .replace("@FROM@", from_value)
        .replace("@CSEQ@", cseq)
        .replace("@FAULTY_LINES@", faulty)
    )
    path = directory / f"{name}.xml"
    path.write_text(text)
    return path
