"""Benchmarks comparing sipsimple with pjsua2 under SIPp load; run with ``bash benchmarks/run``."""
