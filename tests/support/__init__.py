"""What the tests share, one job a module; what scripts and benchmarks need too is in devkit/.

- ``notifications``: NotificationRecorder and observe().
- ``scenarios``: where the SIPp scenarios are, and the scenarios written from templates.
- ``peer_programs``: running a peer program of tests/peers/ that prints READY and RESULT lines.
- ``proofs``: the ``proves`` marker and the record of which scenarios a passing test proved.
- ``calls``: SDP for the call tests and applications that answer calls and re-INVITEs.
- ``media_calls``: a call with audio (Invitation + RTPTransport + AudioTransport).
- ``accounts``: a fresh configuration and a DNS zone for the account tests.
- ``configuration``: a backend that counts (and can fail) its saves.
"""
