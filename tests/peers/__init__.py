"""The peers the tests run beside sipsimple, each in processes of its own: every program a test starts
lives here (tests/scenarios/ holds only SIPp scenarios, data).

Real stacks and servers, driven from the test:
- ``kamailio``: registrar, proxy and presence server. ``dns``: NSD and scripted nameservers.
  ``coturn``: a TURN server. ``baresip``: a softphone.
- ``pjsua2_agent`` (its process: ``pjsua2_agent_process``) and ``sipsimple_agent``
  (``sipsimple_agent_process``): a pjsua2 user agent and a second sipsimple Engine, driven by JSON lines
  (``json_lines``).
Peers for the SIPp scenarios' self-checks (READY/RESULT lines, tests/support/peer_programs.py):
- ``pjsua2_peer`` and ``pjsua2_call_peer``: pjsua2 playing the Engine's part.
- ``raw_peer`` (on ``rawsip``): a scripted peer on a plain socket, for what pjsua2 cannot play.
Programs other tests run: ``example_application``, ``bonjour_node``, ``network_change_driver``,
``configuration_saver``.
"""
