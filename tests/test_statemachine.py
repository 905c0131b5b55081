"""sipsimple.statemachine, and the tables built on it (core and middleware) checked as data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sipsimple._states import MACHINES as MIDDLEWARE_MACHINES
from sipsimple.account.registration import REGISTRATION_STATES, RegistrationState
from sipsimple.application import APPLICATION_STATES, SIPApplicationError
from sipsimple.core import _states
from sipsimple.statemachine import InvalidOperationError, InvalidTransitionError, StateMachine, Transition

ALL_MACHINES = (*_states.MACHINES, *MIDDLEWARE_MACHINES)


def door() -> StateMachine:
    return StateMachine(
        "Door",
        ("closed", "open", "locked"),
        "closed",
        [
            Transition("closed", "open", "open", "open()"),
            Transition("open", "close", "closed"),
            Transition("closed", "lock", "locked"),
            Transition("locked", "unlock", "closed"),
        ],
        {"open": ("closed",), "lock": ("closed",), "knock": ("closed", "locked")},
    )


# --- the mechanism ------------------------------------------------------------------------


def test_next_follows_the_table() -> None:
    machine = door()
    assert machine.next("closed", "open") == "open"
    assert machine.next("open", "close") == "closed"
    assert machine.next("locked", "unlock") == "closed"


def test_next_raises_on_a_transition_the_table_lacks_naming_state_and_event() -> None:
    machine = door()
    with pytest.raises(InvalidTransitionError, match=r"Door: no transition for event 'open' in state 'locked'"):
        machine.next("locked", "open")
    with pytest.raises(InvalidTransitionError, match="events there: unlock"):
        machine.next("locked", "lock")
    with pytest.raises(InvalidTransitionError):
        machine.next("ajar", "close")


def test_require_passes_where_allowed_and_raises_the_given_error_naming_operation_and_state() -> None:
    machine = door()
    machine.require("closed", "open")
    with pytest.raises(
        InvalidOperationError, match=r"Door\.open\(\) is not possible in state 'locked' \(only in closed\)"
    ):
        machine.require("locked", "open")

    class Refused(Exception):
        pass

    with pytest.raises(Refused, match=r"FrontDoor\.lock\(\) is not possible in state 'open'"):
        machine.require("open", "lock", Refused, "FrontDoor")
    assert machine.allows("locked", "knock") and not machine.allows("open", "knock")


def test_an_unknown_operation_is_a_bug_not_a_refusal() -> None:
    with pytest.raises(KeyError, match="no operation 'kick'"):
        door().require("closed", "kick")


def test_a_second_machine_of_an_object_names_its_attribute() -> None:
    machine = StateMachine(
        "Call", ("idle", "busy"), "idle", [Transition("idle", "go", "busy")], {"go": ("idle",)}, attribute="sub_state"
    )
    assert machine.key == "Call.sub_state" and door().key == "Door"
    with pytest.raises(InvalidOperationError, match=r"Call\.go\(\) is not possible in sub_state 'busy'"):
        machine.require("busy", "go")


@pytest.mark.parametrize(
    ("states", "initial", "transitions", "operations", "message"),
    [
        (("a", "a"), "a", [], {}, "listed twice"),
        (("a", "b c"), "a", [], {}, "not an identifier"),
        (("a",), "z", [], {}, "initial state 'z'"),
        (("a",), "a", [Transition("a", "go", "z")], {}, "unknown state 'z'"),
        (("a", "b"), "a", [Transition("a", "go", "b"), Transition("a", "go", "a")], {}, "two transitions"),
        (("a",), "a", [Transition("a", "go now", "a")], {}, "event 'go now'"),
        (("a",), "a", [], {"run": ("a", "z")}, "unknown states"),
    ],
)
def test_an_inconsistent_table_is_refused_when_built(
    states: tuple[str, ...],
    initial: str,
    transitions: list[Transition],
    operations: dict[str, tuple[str, ...]],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        StateMachine("Bad", states, initial, transitions, operations)


def test_none_can_be_a_state() -> None:
    machine = StateMachine("App", (None, "on"), None, [Transition(None, "start", "on")], {"start": (None,)})
    assert machine.next(None, "start") == "on"
    machine.require(None, "start")
    with pytest.raises(InvalidOperationError, match=r"App\.start\(\) is not possible in state 'on' \(only in None\)"):
        machine.require("on", "start")
    assert "[*] --> None" in machine.diagram()


def test_diagram_is_mermaid_with_every_transition_and_the_operations_table() -> None:
    text = door().diagram()
    lines = text.splitlines()
    assert lines[:3] == ["```mermaid", "stateDiagram-v2", "    [*] --> closed"]
    assert "    closed --> open: open" in lines  # a note that only repeats the event is left out
    assert "    open --> closed: close" in lines
    assert "    locked --> closed: unlock" in lines
    assert "| `knock()` | `closed`, `locked` |" in lines
    assert text.endswith("\n") and lines.count("```") == 1  # the closing fence (the opening one is ```mermaid)


def test_transitions_between_the_same_states_share_one_arrow() -> None:
    machine = StateMachine(
        "M", ("a", "b"), "a", [Transition("a", "go", "b", "go()"), Transition("a", "run", "b", "fast")]
    )
    assert "    a --> b: go / run (fast)" in machine.diagram().splitlines()


def test_reachable_and_targets() -> None:
    machine = door()
    assert machine.reachable() == {"closed", "open", "locked"}
    assert machine.targets("unlock") == {"closed"}
    assert machine.events("closed") == ["open", "lock"]


# --- the project's tables -----------------------------------------------------------------


@pytest.mark.parametrize("machine", ALL_MACHINES, ids=lambda m: m.key)
def test_every_state_is_reachable_from_the_initial_one(machine: StateMachine) -> None:
    assert machine.reachable() == set(machine.states)


@pytest.mark.parametrize("machine", ALL_MACHINES, ids=lambda m: m.key)
def test_every_operation_is_allowed_somewhere_and_every_state_has_a_way_on_or_is_final(machine: StateMachine) -> None:
    for operation, allowed in machine.operations.items():
        assert allowed, f"{machine.key}.{operation}() is allowed nowhere"
    # Final states: the ones the objects end in. Every other state leads on.
    final = {"disconnected", "stopped", "terminated", "done", "INVALID", "STOPPED", "TERMINATED"}
    for state in machine.states:
        if state not in final:
            assert machine.events(state), f"{machine.key}: {state} leads nowhere"


@pytest.mark.parametrize("machine", ALL_MACHINES, ids=lambda m: m.key)
def test_states_have_one_naming_style(machine: StateMachine) -> None:
    # Lower-case snake_case words; the upper-case names are the SIP SIMPLE
    # core's public ones (PJSIP's), kept as that API has them.
    public_upper = {
        "NULL",
        "SENT",
        "ACCEPTED",
        "PENDING",
        "ACTIVE",
        "UNKNOWN",
        "TERMINATED",
        "WAIT_STUN",
        "INIT",
        "IN_PROGRESS",
        "EXPIRING",
        "LOCAL",
        "ESTABLISHED",
        "INVALID",
        "STARTED",
        "STOPPED",
        "GATHERING",
        "READY",
        "NEGOTIATING",
        "RUNNING",
        "FAILED",
        "DISABLED",
    }
    for state in machine.states:
        assert state is None or state in public_upper or state == state.lower(), state
        assert state is None or " " not in state


def test_pjsip_driven_events_lead_to_one_state_each() -> None:
    # The core skips a PJSIP report of the state it is already in by asking
    # the table where the event leads: that must be one place.
    for event in ("provisional", "answered", "acknowledged", "terminated", "engine_stopped"):
        assert len(_states.INVITATION.targets(event)) == 1, event
    for machine in (_states.SUBSCRIPTION, _states.REFERRAL):
        for event in ("sent", "accepted", "pending", "active", "unknown", "terminated", "engine_stopped"):
            assert len(machine.targets(event)) == 1, (machine.key, event)


def test_the_public_state_names_of_the_sip_simple_core_are_kept() -> None:
    assert _states.INVITATION.states == (
        "NULL",
        "outgoing",
        "incoming",
        "early",
        "connecting",
        "connected",
        "disconnecting",
        "disconnected",
    )
    assert _states.INVITATION_SUB_STATE.states == ("normal", "sending_proposal", "received_proposal")
    assert set(_states.SUBSCRIPTION.states) >= {"NULL", "SENT", "ACCEPTED", "PENDING", "ACTIVE", "TERMINATED"}
    assert _states.INCOMING_SUBSCRIPTION.states == ("incoming", "pending", "active", "terminated")
    assert _states.RTP_TRANSPORT.states == ("NULL", "WAIT_STUN", "INIT", "LOCAL", "ESTABLISHED", "INVALID")
    assert _states.AUDIO_TRANSPORT.states == ("NULL", "INIT", "STARTED", "STOPPED")
    assert APPLICATION_STATES.states == (None, "starting", "started", "stopping", "stopped")


def test_registration_states_are_the_enum_values() -> None:
    assert REGISTRATION_STATES.states == tuple(state.value for state in RegistrationState)
    assert RegistrationState.LOOKING_UP.value == "looking_up"


def test_the_application_refuses_a_second_start_naming_its_state() -> None:
    with pytest.raises(SIPApplicationError, match=r"SIPApplication\.start\(\) is not possible in state 'started'"):
        APPLICATION_STATES.require("started", "start", SIPApplicationError)


# --- the code uses its tables --------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "sipsimple" / "core"
# The sources that drive each machine.
DRIVERS: dict[str, tuple[Path, ...]] = {
    "Request": (CORE / "request.pxi", CORE / "ua.pxi"),
    "IncomingRequest": (CORE / "request.pxi", CORE / "ua.pxi"),
    "Message": (CORE / "_message.py",),
    "Invitation": (CORE / "invitation.pxi", CORE / "ua.pxi"),
    "Invitation.sub_state": (CORE / "invitation.pxi",),
    "Subscription": (CORE / "subscription.pxi", CORE / "ua.pxi"),
    "Referral": (CORE / "subscription.pxi", CORE / "referral.pxi", CORE / "ua.pxi"),
    "IncomingSubscription": (CORE / "subscription.pxi", CORE / "ua.pxi"),
    "IncomingReferral": (CORE / "subscription.pxi", CORE / "referral.pxi", CORE / "transfer.pxi", CORE / "ua.pxi"),
    "RTPTransport": (CORE / "mediatransport.pxi",),
    "RTPTransport.ice_state": (CORE / "mediatransport.pxi",),
    "AudioTransport": (CORE / "mediatransport.pxi",),
    "AudioMixer": (CORE / "sound.pxi",),
    "MixerSlot": (CORE / "sound.pxi",),
    "SIPApplication": (ROOT / "sipsimple" / "application.py",),
    "AccountRegistrar": (ROOT / "sipsimple" / "account" / "registration.py",),
    "WavePlayer": (ROOT / "sipsimple" / "audio.py",),
}
STATE_CHANGE = re.compile(r"_(?:change_state|set_state|set_sub_state|set_ice_state)\(\"(\w+)\"")


def test_every_machine_has_its_drivers_listed() -> None:
    assert {machine.key for machine in ALL_MACHINES} == set(DRIVERS)


@pytest.mark.parametrize("machine", ALL_MACHINES, ids=lambda m: m.key)
def test_every_event_and_operation_of_a_table_is_used_by_its_code(machine: StateMachine) -> None:
    source = "".join(path.read_text(encoding="utf-8") for path in DRIVERS[machine.key])
    for transition in machine.transitions:
        assert f'"{transition.event}"' in source, f"{machine.key}: event {transition.event} is never raised"
    for operation in machine.operations:
        assert f'"{operation}"' in source, f"{machine.key}: operation {operation} is never checked"


@pytest.mark.parametrize("path", sorted({path for paths in DRIVERS.values() for path in paths}), ids=lambda p: p.name)
def test_every_state_change_in_the_code_is_an_event_of_its_tables(path: Path) -> None:
    events = {t.event for m in ALL_MACHINES if path in DRIVERS[m.key] for t in m.transitions}
    used = set(STATE_CHANGE.findall(path.read_text(encoding="utf-8")))
    assert used, f"{path.name} changes no state through a table"
    assert used <= events, f"{path.name}: {sorted(used - events)} are in no table"


@pytest.mark.parametrize("path", sorted({path for paths in DRIVERS.values() for path in paths}), ids=lambda p: p.name)
def test_no_state_is_assigned_outside_the_one_place(path: Path) -> None:
    # ``x.state = "..."`` with a literal: a change that bypasses the table.
    assignments = re.findall(
        r"^\s*(?:self|\w+|\(<\w+> \w+\))\.(?:state|sub_state|ice_state|_state) = (?:\"|RegistrationState\.)",
        path.read_text(encoding="utf-8"),
        re.M,
    )
    assert not assignments
