"""The transition tables of the middleware's stateful objects.

Here rather than next to the classes so that they can be read and drawn
(scripts/state_diagrams.py) without the core extension, which the modules
of those classes import. Each class changes its state only through its table.
"""

from __future__ import annotations

from sipsimple.statemachine import StateMachine, Transition

__all__ = ["APPLICATION_STATES", "MACHINES", "REGISTRATION_STATES", "WAVE_PLAYER_STATES"]

# sipsimple.application.SIPApplication.state; None: never started (as in the SIP SIMPLE API).
APPLICATION_STATES = StateMachine(
    "SIPApplication",
    (None, "starting", "started", "stopping", "stopped"),
    None,
    [
        Transition(None, "start", "starting", "start(): configuration loaded"),
        Transition("stopped", "start", "starting", "start() again"),
        Transition("starting", "started", "started", "every component up"),
        Transition("starting", "stop", "stopping", "stop(), fatal error"),
        Transition("started", "stop", "stopping", "stop(), fatal error"),
        Transition("stopping", "stopped", "stopped", "every component down"),
    ],
    {
        "start": (None, "stopped"),
        "stop": ("starting", "started"),  # elsewhere it does nothing
    },
)

_RUNNING = ("looking_up", "registering", "registered", "waiting")

# sipsimple.account.registration.AccountRegistrar, on the values of its RegistrationState.
REGISTRATION_STATES = StateMachine(
    "AccountRegistrar",
    ("idle", "looking_up", "registering", "registered", "waiting", "unregistering", "stopped"),
    "idle",
    [
        Transition("idle", "lookup", "looking_up", "start()"),
        Transition("waiting", "lookup", "looking_up", "timer after the back-off, reregister()"),
        *(
            Transition(state, "lookup", "looking_up", "reregister()")
            for state in ("looking_up", "registering", "registered")
        ),
        Transition("looking_up", "register", "registering", "routes found: the first"),
        Transition("waiting", "register", "registering", "timer: the next route"),
        Transition("registering", "registered", "registered", "2xx"),
        Transition("registered", "registered", "registered", "refresh 2xx"),
        Transition("looking_up", "fail", "waiting", "DNS lookup failed"),
        Transition("registering", "fail", "waiting", "failure: the next route, or back-off"),
        Transition("registered", "fail", "waiting", "refresh failed, expired"),
        *(
            Transition(state, "unregister", "unregistering", "stop(unregister=True) with a binding")
            for state in _RUNNING
        ),
        Transition("idle", "stop", "stopped", "stop() before start()"),
        *(Transition(state, "stop", "stopped", "stop()") for state in _RUNNING),
        Transition("unregistering", "stop", "stopped", "SIPRegistrationDidEnd, failure or bounded wait"),
    ],
    {
        "reregister": _RUNNING,  # elsewhere ignored
    },
)


# sipsimple.audio.WavePlayer (``is_active``: not idle). "waiting" is the
# time before a play: pause_time, or the moment it takes to open the file.
WAVE_PLAYER_STATES = StateMachine(
    "WavePlayer",
    ("idle", "waiting", "playing"),
    "idle",
    [
        Transition("idle", "start", "waiting", "start()"),
        Transition("waiting", "play", "playing", "WavePlayerDidStart before the first play"),
        Transition("playing", "played", "waiting", "end of the file, more plays to come: pause_time"),
        Transition("playing", "finish", "idle", "end of the last play (loop_count): WavePlayerDidEnd"),
        Transition("waiting", "stop", "idle", "stop(), the mixer closed: WavePlayerDidEnd"),
        Transition("playing", "stop", "idle", "stop(), the mixer closed: WavePlayerDidEnd"),
        Transition("waiting", "fail", "idle", "the file cannot be played: WavePlayerDidFail"),
    ],
    {
        "start": ("idle",),
        "stop": ("waiting", "playing"),  # elsewhere it does nothing
    },
)


MACHINES: tuple[StateMachine, ...] = (APPLICATION_STATES, REGISTRATION_STATES, WAVE_PLAYER_STATES)
