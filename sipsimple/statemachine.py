"""State machines as data: one table of transitions per stateful object.

A StateMachine names an object's states, its initial state, the transitions
``(state, event) -> state`` and which operations (public methods) each state
allows. The object keeps its current state as a plain string and asks the
machine, in one place, for the next one (``next``), and in its methods
whether an operation may run (``require``). The docs' diagrams are drawn
from the same tables (``diagram``; ``scripts/state_diagrams.py`` writes them
into docs/api/), so code, table and docs cannot drift apart.

Pure Python without dependencies: the Cython core imports it as well as the
middleware.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["InvalidOperationError", "InvalidTransitionError", "State", "StateMachine", "Transition"]

# A state is a name; None is one too where a public API has it for "not
# started yet" (SIPApplication.state).
State = str | None

_NAME = re.compile(r"^_{0,2}[A-Za-z][A-Za-z0-9_]*$")


class InvalidTransitionError(Exception):
    """An event the table has no transition for in the current state: a bug in the caller (or the table)."""


class InvalidOperationError(Exception):
    """An operation called in a state that does not allow it (the default error of ``require``)."""


@dataclass(frozen=True)
class Transition:
    """``source --event--> target``; ``note`` says what the event is, for the diagram."""

    source: State
    event: str
    target: State
    note: str = ""


class StateMachine:
    """The states, transitions and allowed operations of one kind of object.

    ``operations`` maps an operation's name to the states it may be called
    in. ``attribute`` is the name of the object's attribute that holds the
    state ("state", or "sub_state" for a second machine of the same
    object); ``key`` names the machine in the docs. States, events and
    operations are identifiers: snake_case, with upper case accepted for
    the public names inherited from the SIP SIMPLE API ("NULL",
    "WAIT_STUN"); no spaces. The table is checked when built: unknown
    states, two transitions for one (state, event), a bad name raise
    ValueError.
    """

    def __init__(
        self,
        name: str,
        states: Iterable[State],
        initial: State,
        transitions: Iterable[Transition],
        operations: Mapping[str, Iterable[State]] | None = None,
        attribute: str = "state",
    ) -> None:
        self.name = name
        self.attribute = attribute
        self.states: tuple[State, ...] = tuple(states)
        self.initial = initial
        self.transitions: tuple[Transition, ...] = tuple(transitions)
        self.operations: dict[str, frozenset[State]] = {
            operation: frozenset(allowed) for operation, allowed in (operations or {}).items()
        }
        self._table: dict[tuple[State, str], State] = {}
        self._check()
        # targets() is asked on every state report from PJSIP (is this a repeat of the state we are in?),
        # so its answers are computed once here, not by a scan of the table each time.
        targets: dict[str, set[State]] = {}
        for transition in self.transitions:
            targets.setdefault(transition.event, set()).add(transition.target)
        self._targets: dict[str, frozenset[State]] = {event: frozenset(found) for event, found in targets.items()}

    def _check(self) -> None:
        known = set(self.states)
        if len(known) != len(self.states):
            raise ValueError(f"{self.name}: a state is listed twice")
        for state in self.states:
            if state is not None and not _NAME.match(state):
                raise ValueError(f"{self.name}: state {state!r} is not an identifier")
        if self.initial not in known:
            raise ValueError(f"{self.name}: the initial state {self.initial!r} is not one of its states")
        for transition in self.transitions:
            for state in (transition.source, transition.target):
                if state not in known:
                    raise ValueError(f"{self.name}: {transition} names the unknown state {state!r}")
            if not _NAME.match(transition.event):
                raise ValueError(f"{self.name}: event {transition.event!r} is not an identifier")
            key = (transition.source, transition.event)
            if key in self._table:
                raise ValueError(f"{self.name}: two transitions for event {transition.event!r} in {transition.source}")
            self._table[key] = transition.target
        for operation, allowed in self.operations.items():
            if not _NAME.match(operation):
                raise ValueError(f"{self.name}: operation {operation!r} is not an identifier")
            unknown = allowed - known
            if unknown:
                raise ValueError(f"{self.name}: operation {operation} names unknown states {sorted(map(str, unknown))}")

    @property
    def key(self) -> str:
        """The machine's name in the docs' markers: the class, with the attribute when it is not "state"."""
        return self.name if self.attribute == "state" else f"{self.name}.{self.attribute}"

    # --- the code asks ---------------------------------------------------------

    def next(self, state: State, event: str) -> State:
        """The state ``event`` leads to from ``state``; InvalidTransitionError when the table has none."""
        key = (state, event)
        if key not in self._table:
            expected = sorted(e for (source, e) in self._table if source == state)
            raise InvalidTransitionError(
                f"{self.name}: no transition for event {event!r} in state {state!r}"
                + (f" (events there: {', '.join(expected)})" if expected else "")
            )
        return self._table[key]

    def allows(self, state: State, operation: str) -> bool:
        """Whether ``operation`` may be called in ``state``."""
        try:
            allowed = self.operations[operation]
        except KeyError:
            raise KeyError(f"{self.name} has no operation {operation!r}") from None
        return state in allowed

    def require(
        self,
        state: State,
        operation: str,
        error: type[Exception] = InvalidOperationError,
        subject: str | None = None,
    ) -> None:
        """Raise ``error`` naming the operation and the state unless ``state`` allows ``operation``.

        ``subject`` names the object in the message when it is not the machine's name (a subclass).
        """
        if not self.allows(state, operation):
            allowed = [str(s) for s in self.states if s in self.operations[operation]]
            raise error(
                f"{subject or self.name}.{operation}() is not possible in {self.attribute} {state!r}"
                f" (only in {', '.join(allowed) or 'no state'})"
            )

    def targets(self, event: str) -> frozenset[State]:
        """The states ``event`` leads to, from wherever it has a transition."""
        return self._targets.get(event, frozenset())

    def events(self, state: State) -> list[str]:
        """The events that have a transition from ``state``, in table order."""
        return [t.event for t in self.transitions if t.source == state]

    def reachable(self) -> set[State]:
        """The states reachable from the initial one."""
        seen = {self.initial}
        pending = [self.initial]
        while pending:
            state = pending.pop()
            for transition in self.transitions:
                if transition.source == state and transition.target not in seen:
                    seen.add(transition.target)
                    pending.append(transition.target)
        return seen

    # --- the docs ----------------------------------------------------------------

    def diagram(self) -> str:
        """The machine as a Mermaid ``stateDiagram-v2`` in a fenced Markdown block, with its operations."""
        lines = ["```mermaid", "stateDiagram-v2", f"    [*] --> {_mermaid_id(self.initial)}"]
        for state in self.states:
            if _mermaid_id(state) != str(state):
                lines.append(f'    state "{state}" as {_mermaid_id(state)}')
        # One arrow per pair of states, labelled with every event that takes it.
        arrows: dict[tuple[State, State], list[str]] = {}
        for transition in self.transitions:
            label = transition.event
            if transition.note and transition.note != f"{transition.event}()":
                label += f" ({transition.note})"
            arrows.setdefault((transition.source, transition.target), []).append(label)
        for (source, target), labels in arrows.items():
            lines.append(f"    {_mermaid_id(source)} --> {_mermaid_id(target)}: {' / '.join(labels)}")
        lines.append("```")
        if self.operations:
            lines.append("")
            lines.append("| operation | allowed in |")
            lines.append("| --- | --- |")
            for operation, allowed in self.operations.items():
                states = ", ".join(f"`{s}`" for s in self.states if s in allowed) or "no state"
                lines.append(f"| `{operation}()` | {states} |")
        return "\n".join(lines) + "\n"

    def __repr__(self) -> str:
        return f"<StateMachine {self.name}: {len(self.states)} states, {len(self.transitions)} transitions>"


def _mermaid_id(state: State) -> str:
    # Mermaid reserves a few words as state ids ("end", "state", ...): those get an alias.
    name = str(state)
    return f"{name}_" if name.lower() in ("end", "state", "note", "direction", "class", "classdef") else name
