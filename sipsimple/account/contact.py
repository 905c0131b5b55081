"""ContactURI: the address an account puts in its Contact headers.

An account's contact is ``<random user>@<the Engine's address>``. Indexing it
by a transport name gives the SIPURI to put in a Contact header for a request
sent over that transport, with the port the Engine listens on for it; the
Engine's ports may change at run time (settings changes, restarts), so they
are read at the moment of use, never stored.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

from sipsimple.configuration.datatypes import SIPAddress
from sipsimple.configuration.settings import SIPSimpleSettings
from sipsimple.core import SIPURI, Engine
from sipsimple.network import is_unspecified

__all__ = ["ContactURI", "contact_host", "random_contact_user"]

_TRANSPORTS = ("udp", "tcp", "tls")


def contact_host(system_address: Callable[[], str]) -> str:
    """The host of an account's contact: the address the Engine is bound to.

    When the Engine listens on every interface (or is stopped),
    SIPSimpleSettings.local_ip, else ``system_address()``: the account
    type's own choice of the host's address.
    """
    address = Engine().ip_address
    if not is_unspecified(address):
        return str(address)
    try:
        local_ip = SIPSimpleSettings().local_ip
    except Exception:  # the configuration is not started: fall back on the system's address
        local_ip = None
    return str(local_ip) if local_ip else system_address()


def random_contact_user() -> str:
    """An 8-letter lowercase user part, as the seed describes; one per account per run."""
    return "".join(random.choice(string.ascii_lowercase) for _ in range(8))


class ContactURI(SIPAddress):
    """``user@host``; ``contact["udp"|"tcp"|"tls"]`` gives the SIPURI for that transport.

    Raises KeyError for a transport the Engine is not listening on (or an
    unknown transport name), so that callers choose among the ones that exist.
    """

    def __getitem__(self, transport: str) -> SIPURI:  # type: ignore[override]
        if not isinstance(transport, str):
            raise TypeError(f"a ContactURI is indexed by a transport name, not {type(transport).__name__}")
        transport = transport.lower()
        if transport not in _TRANSPORTS:
            raise KeyError(transport)
        engine = Engine()
        port = {
            "udp": engine.local_udp_port,
            "tcp": engine.local_tcp_port,
            "tls": engine.local_tls_port,
        }[transport]
        if not port:
            raise KeyError(transport)
        host = self.domain
        if host.startswith("["):
            host = host[1:-1]
        parameters = {} if transport == "udp" else {"transport": transport}
        return SIPURI(user=self.username, host=host, port=port, parameters=parameters)
