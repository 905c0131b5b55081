"""What the tests share, one job a module; what scripts and benchmarks need too is in devkit/.

- ``notifications``: NotificationRecorder and observe().
- ``scenarios``: where the SIPp scenarios are, and the scenarios written from templates.
- ``peer_programs``: running a peer program of tests/peers/ that prints READY and RESULT lines;
  the ``pjsua2_installed`` fixture (pjsua2 missing fails a test, it does not skip it).
- ``proofs``: the ``proven`` fixture: which scenarios a test that ran and passed has proven.
- ``calls``: SDP for the call tests, alice's outgoing call, SIPp calling as bob, and applications
  that answer calls and re-INVITEs.
- ``messages``: the MESSAGE requests the request and threading tests send.
- ``media_calls``: a call with audio (Invitation + RTPTransport + AudioTransport).
- ``accounts``: a fresh configuration and a DNS zone for the account tests.
- ``configuration``: a backend that counts (and can fail) its saves.
- ``dns_zones``: the DNS world of the lookup tests (servers, addresses, zones).
"""
