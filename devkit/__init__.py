"""What the tests, the scripts and the benchmarks share, and nothing of the SDK itself.

Not shipped: pyproject.toml's package discovery takes only ``sipsimple*``. The modules
need no sipsimple (the scripts and benchmarks import sipsimple themselves where they
use it), and ``devkit.pjsua2`` alone imports pjsua2, for the processes that run it.

- ``audio``: 16-bit PCM analysis (frequencies, levels, DTMF, sound segments), WAV files.
- ``g711``: mu-law encoding, for audio a peer sends as it is (SIPp's rtp_stream).
- ``ports``: free UDP/TCP ports.
- ``processes``: stopping child processes.
- ``sipp``: finding and running SIPp, as client or as server, and what one run gives.
- ``pjsua2``: one pjsua2 Endpoint set up for a peer process.
"""
