"""Peer processes (SIP user agent servers) driven by the benchmark harness."""
