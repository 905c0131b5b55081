"""Real SIP peers the tests run beside sipsimple: Kamailio (kamailio.py), pjsua2 (pjsua2_agent.py)."""
