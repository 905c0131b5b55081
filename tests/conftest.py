"""Fixtures shared by the tests: a running Engine, TLS credentials."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sipsimple.core import Engine
from tests.peers.kamailio import TEST_USERS, Kamailio, KamailioError

# Fixtures of the support package: proven (tests.support.proofs), pjsua2_installed (tests.support.peer_programs).
pytest_plugins = ["tests.support.proofs", "tests.support.peer_programs"]


@dataclass
class TLSFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A test CA and a certificate for 127.0.0.1, ::1 and localhost, made by trustme."""
    import trustme

    directory = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "::1", "localhost")
    files = TLSFiles(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    ca.cert_pem.write_to_path(str(files.ca_file))
    certificate.cert_chain_pems[0].write_to_path(str(files.cert_file))
    certificate.private_key_pem.write_to_path(str(files.key_file))
    return files


@pytest.fixture(autouse=True)
def engine_stopped_afterwards() -> Iterator[None]:
    """Every test leaves the Engine stopped, whatever happened in it."""
    yield
    Engine().stop()
    assert not Engine().is_running


@pytest.fixture
def engine() -> Iterator[Engine]:
    """A running Engine on 127.0.0.1 with UDP and TCP on ephemeral ports and the SIP trace on."""
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0, trace_sip=True)
    yield engine
    engine.stop()


@pytest.fixture
def make_kamailio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Kamailio]]:
    """Start Kamailio instances (users: tests.peers.kamailio.TEST_USERS unless given); all stop afterwards.

    Kamailio missing is a failure, not a skip: scripts/bootstrap installs it.
    """
    servers: list[Kamailio] = []
    directory = tmp_path_factory.mktemp("kamailio")

    def make(**options: object) -> Kamailio:
        options.setdefault("users", TEST_USERS)
        server = Kamailio(directory / f"kamailio-{len(servers)}", **options)  # type: ignore[arg-type]
        servers.append(server)
        try:
            server.start()
        except KamailioError as error:
            pytest.fail(str(error), pytrace=False)
        return server

    yield make
    for server in servers:
        server.stop()
