"""A real Kamailio as the tests' registrar, proxy and presence server.

Kamailio 5.6 from Debian's packages (kamailio, kamailio-sqlite-modules,
kamailio-presence-modules, kamailio-xml-modules; scripts/bootstrap installs
them). Each Kamailio instance runs in a directory of its own, with its own
configuration (tests/peers/kamailio/kamailio.cfg behind a generated header),
its own SQLite database and its own ports on the loopback address::

    with Kamailio(tmp_path, users={"alice": "secret", "bob": "hunter2"}) as server:
        ...  # register sip:alice@example.test through server.host:server.udp_port
        assert server.contacts("alice")

What the server does is described at the top of kamailio.cfg. In short:
REGISTER is authenticated with a 401 challenge and saved in the location
table; MESSAGE and INVITE from a user are authenticated with a 407 challenge
and relayed to the registered contacts of the user they are for (404 when
there is none); PUBLISH and SUBSCRIBE for presence are authenticated and
handled by the presence module, which sends the NOTIFYs. A wrong password
gets a new challenge (401/407) or, with ``wrong_password_reply=403``, 403.

The SQLite database holds the subscribers only; registrations, published
state and subscriptions live in Kamailio's memory and are read through its
RPC interface (JSON-RPC over UDP): contacts(), presentities(), rpc().
request() sends one raw request (digest included) for what a test wants to
see on the wire without a full user agent.

This module needs neither sipsimple nor pjsua2.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devkit.ports import free_udp_tcp_port
from devkit.processes import Service

__all__ = [
    "DEBIAN_PACKAGES",
    "Kamailio",
    "KamailioError",
    "KamailioRpcError",
    "Registration",
    "SipResponse",
    "check_installation",
    "digest_response",
]

DEBIAN_PACKAGES = ("kamailio", "kamailio-sqlite-modules", "kamailio-presence-modules", "kamailio-xml-modules")
CONFIG_BODY = Path(__file__).with_name("kamailio") / "kamailio.cfg"
SCHEMA_DIRECTORY = Path("/usr/share/kamailio/db_sqlite")
# standard-create.sql makes the version table; the others add their tables
# and the version rows their modules check at startup.
SCHEMA_FILES = ("standard-create.sql", "auth_db-create.sql", "usrloc-create.sql", "presence-create.sql")
MODULES = ("db_sqlite", "auth_db", "usrloc", "registrar", "presence", "presence_xml", "jsonrpcs")
AUTH_ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


# The subscribers the tests register (user -> password).
TEST_USERS = {"alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret"}


class KamailioError(RuntimeError):
    """Kamailio is missing, would not start, or did something unexpected."""


class KamailioRpcError(KamailioError):
    """An RPC command's error reply."""

    def __init__(self, method: str, code: int | None, message: str) -> None:
        super().__init__(f"RPC {method} failed: {code} {message}")
        self.code = code
        self.message = message


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidate = Path("/usr/sbin") / name
    return str(candidate) if os.access(candidate, os.X_OK) else None


def _module_directory(kamailio: str) -> Path | None:
    """The directory Kamailio loads modules from, as `kamailio -I` tells."""
    try:
        info = subprocess.run([kamailio, "-I"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Default paths to modules:\s*(\S+)", info)
    return Path(match.group(1)) if match else None


def check_installation() -> str:
    """Kamailio's path, or a KamailioError that says what is missing and how to get it."""
    hint = f"run scripts/bootstrap, or apt-get install {' '.join(DEBIAN_PACKAGES)}"
    kamailio = _binary("kamailio")
    if kamailio is None:
        raise KamailioError(f"Kamailio is not installed (no kamailio binary): {hint}")
    missing = [name for name in SCHEMA_FILES if not (SCHEMA_DIRECTORY / name).is_file()]
    if missing:
        raise KamailioError(f"Kamailio's SQLite schema files are missing ({', '.join(missing)}): {hint}")
    modules = _module_directory(kamailio)
    if modules is not None:
        missing = [name for name in MODULES if not (modules / f"{name}.so").is_file()]
        if missing:
            raise KamailioError(f"Kamailio modules are missing ({', '.join(missing)}) in {modules}: {hint}")
    return kamailio


def _hash(algorithm: str, text: str) -> str:
    return AUTH_ALGORITHMS[algorithm](text.encode()).hexdigest()


def digest_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str = "00000001",
    cnonce: str = "",
) -> str:
    """The response of RFC 2617 / RFC 8760 digest authentication."""
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop:
        return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True)
class Registration:
    """One contact in Kamailio's location table."""

    user: str
    contact: str
    expires: float  # seconds left
    received: str | None
    socket: str | None
    user_agent: str
    call_id: str
    cseq: int
    path: str | None = None
    instance: str | None = None
    reg_id: int = 0


@dataclass
class SipResponse:
    """A SIP response as received: status line, headers in order, body."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: str
    raw: str

    def header(self, name: str) -> str | None:
        values = self.headers_named(name)
        return values[0] if values else None

    def headers_named(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @classmethod
    def parse(cls, text: str) -> SipResponse:
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        match = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
        if not match:
            raise KamailioError(f"not a SIP response: {lines[0]!r}")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {line.strip()}")
            elif ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip(), value.strip()))
        return cls(int(match.group(1)), match.group(2), headers, body, text)


def _parse_challenge(value: str) -> dict[str, str]:
    scheme, _, rest = value.partition(" ")
    if scheme.lower() != "digest":
        raise KamailioError(f"not a digest challenge: {value!r}")
    return {
        key.lower(): quoted if quoted else plain
        for key, quoted, plain in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]+))', rest)
    }


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class Kamailio(Service):
    """Kamailio 5.6 as registrar (digest), proxy (MESSAGE, INVITE) and presence server.

    directory: where the configuration, the database and the log go (a
        pytest tmp_path); it is created if needed.
    users: user name -> password, the subscribers (add more with add_user).
    domain: the SIP domain of the users and the digest realm. The server
        also answers to its own address. Clients need it as outbound proxy
        when the domain is a name like the default, which resolves nowhere.
    transports: "udp" and/or "tcp"; both use the same port.
    ipv6: listen on ::1 instead of 127.0.0.1.
    auth_algorithm: "MD5" or "SHA-256", the algorithm of the challenges.
    min_expires: a REGISTER asking for less gets 423 with Min-Expires;
        None: no minimum.
    default_expires: expiry of a contact when the REGISTER names none.
    max_expires: contacts asking for more get this much; None: no maximum.
    presence_max_expires: the longest expiry granted to a PUBLISH or a
        SUBSCRIBE (a short one makes clients refresh soon).
    wrong_password_reply: 401 (a new challenge, 407 for non-REGISTER
        requests) or 403, for a wrong password or an unknown user.
    debug: Kamailio's log level (2: info, with a line per request; 3: debug).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        users: Mapping[str, str] | None = None,
        *,
        domain: str = "example.test",
        transports: Iterable[str] = ("udp", "tcp"),
        ipv6: bool = False,
        auth_algorithm: str = "MD5",
        min_expires: int | None = None,
        default_expires: int = 3600,
        max_expires: int | None = None,
        presence_max_expires: int = 3600,
        wrong_password_reply: int = 401,
        debug: int = 2,
        startup_timeout: float = 15.0,
    ) -> None:
        self.directory = Path(directory)
        self.users = dict(users or {})
        self.domain = domain
        self.transports = tuple(transport.lower() for transport in transports)
        if not self.transports or set(self.transports) - {"udp", "tcp"}:
            raise ValueError(f"transports must be udp and/or tcp, not {self.transports}")
        self.ipv6 = ipv6
        self.host = "::1" if ipv6 else "127.0.0.1"
        if auth_algorithm not in AUTH_ALGORITHMS:
            raise ValueError(f"auth_algorithm must be one of {sorted(AUTH_ALGORITHMS)}, not {auth_algorithm!r}")
        self.auth_algorithm = auth_algorithm
        self.min_expires = min_expires
        self.default_expires = default_expires
        self.max_expires = max_expires
        self.presence_max_expires = presence_max_expires
        if wrong_password_reply not in (401, 403):
            raise ValueError("wrong_password_reply must be 401 or 403")
        self.wrong_password_reply = wrong_password_reply
        self.debug = debug
        self.startup_timeout = startup_timeout
        self.port = 0
        self.rpc_port = 0
        self.config_path = self.directory / "kamailio.cfg"
        self.db_path = self.directory / "kamailio.sqlite"
        self.log_path = self.directory / "kamailio.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._rpc_id = 0

    # -- addresses --------------------------------------------------------

    @property
    def realm(self) -> str:
        return self.domain

    @property
    def udp_port(self) -> int | None:
        return self.port if "udp" in self.transports else None

    @property
    def tcp_port(self) -> int | None:
        return self.port if "tcp" in self.transports else None

    @property
    def hostport(self) -> str:
        """host:port, with the IPv6 address in brackets."""
        return f"{_bracket(self.host)}:{self.port}"

    def uri(self, transport: str | None = None, *, lr: bool = False) -> str:
        """The server's own SIP URI, e.g. for an outbound proxy: uri("tcp", lr=True)."""
        uri = f"sip:{self.hostport}"
        if transport is not None and transport != "udp":
            uri += f";transport={transport}"
        return uri + (";lr" if lr else "")

    def aor(self, user: str) -> str:
        return f"sip:{user}@{self.domain}"

    @property
    def log(self) -> str:
        """What Kamailio has written to its log (stderr) so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- life cycle -------------------------------------------------------

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Write the configuration and the database, start Kamailio, wait until it answers OPTIONS."""
        if self.process is not None:
            raise KamailioError("already started")
        kamailio = check_installation()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._create_database()
        last_error: KamailioError | None = None
        for _ in range(3):  # the ports are picked before Kamailio binds them: another may take them
            self.port = free_udp_tcp_port(self.host)
            self.rpc_port = free_udp_tcp_port("127.0.0.1")
            self._write_config()
            self._check_config(kamailio)
            log_start = len(self.log)
            try:
                self._launch(kamailio)
                return
            except KamailioError as error:
                last_error = error
                if "address already in use" not in self.log[log_start:].lower():
                    raise
        assert last_error is not None
        raise last_error

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate Kamailio (SIGTERM), wait for it, kill its process group if it does not stop."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        # Kamailio's children leave with the main process; make sure of it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def _launch(self, kamailio: str) -> None:
        with open(self.log_path, "ab") as log:
            # -DD: stay in the foreground, with the worker processes; -E: log to stderr.
            self.process = subprocess.Popen(
                [kamailio, "-f", str(self.config_path), "-DD", "-E", "-m", "64", "-M", "8"],
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own process group, for stop()
            )
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise KamailioError(f"Kamailio exited with {code} at startup; its log:\n{self.log[-6000:]}")
            try:
                response = self.request("OPTIONS", timeout=0.5, retries=0)
                if response.status == 200 and self._tcp_ready():
                    return
            except (OSError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise KamailioError(
                    f"Kamailio did not answer within {self.startup_timeout} s; its log:\n{self.log[-6000:]}"
                )
            time.sleep(0.1)

    def _tcp_ready(self) -> bool:
        if "tcp" not in self.transports:
            return True
        try:
            socket.create_connection((self.host, self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def _check_config(self, kamailio: str) -> None:
        checked = subprocess.run(
            [kamailio, "-c", "-f", str(self.config_path)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=self.directory,
        )
        if checked.returncode != 0:
            raise KamailioError(f"Kamailio rejects {self.config_path}:\n{checked.stdout}{checked.stderr}")

    # -- configuration and database --------------------------------------

    def _write_config(self) -> None:
        def substdef(name: str, value: str) -> str:
            if "!" in value or "\n" in value:
                raise KamailioError(f"cannot put {value!r} in the configuration")
            return f'#!substdef "!{name}!{value}!"'

        lines = [
            "#!KAMAILIO",
            "# Generated by tests/peers/kamailio.py; the body below it is tests/peers/kamailio/kamailio.cfg.",
            substdef("KAM_DOMAIN", self.domain),
            substdef("KAM_DB_URL", f"sqlite://{self.db_path}"),
            substdef("KAM_AUTH_ALGO", self.auth_algorithm),
            substdef("KAM_AUTH_SECRET", secrets.token_hex(16)),
            substdef("KAM_RPC", f"udp:127.0.0.1:{self.rpc_port}"),
            substdef("KAM_RUNTIME_DIR", str(self.directory)),
            f"#!define KAM_DEBUG {int(self.debug)}",
            f"#!define KAM_DEFAULT_EXPIRES {int(self.default_expires)}",
            f"#!define KAM_MIN_EXPIRES {int(self.min_expires or 0)}",
            f"#!define KAM_MIN_EXPIRES_MODE {1 if self.min_expires else 0}",
            f"#!define KAM_MAX_EXPIRES {int(self.max_expires or 0)}",
            f"#!define KAM_PRESENCE_MAX_EXPIRES {int(self.presence_max_expires)}",
        ]
        if self.wrong_password_reply == 403:
            lines.append("#!define WITH_FORBIDDEN")
        lines += [f"listen={transport}:{self.hostport}" for transport in self.transports]
        self.config_path.write_text("\n".join(lines) + "\n\n" + CONFIG_BODY.read_text())

    def _create_database(self) -> None:
        for stale in (self.db_path, Path(f"{self.db_path}-wal"), Path(f"{self.db_path}-shm")):
            stale.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(self.db_path)) as db, db:
            # Write-ahead logging: Kamailio's reads and add_user's writes do
            # not block each other. The mode stays with the file.
            db.execute("PRAGMA journal_mode=WAL")
            for name in SCHEMA_FILES:
                db.executescript((SCHEMA_DIRECTORY / name).read_text())
            for user, password in self.users.items():
                self._insert_user(db, user, password)

    def _insert_user(self, db: sqlite3.Connection, user: str, password: str) -> None:
        # auth_db computes the HA1 from the clear password (calculate_ha1 1)
        # with the algorithm of the challenges, MD5 or SHA-256. ha1 and ha1b
        # (the HA1s for "alice" and "alice@domain" as username) are filled in
        # too, with the same algorithm, for a configuration that uses them.
        ha1 = _hash(self.auth_algorithm, f"{user}:{self.realm}:{password}")
        ha1b = _hash(self.auth_algorithm, f"{user}@{self.domain}:{self.realm}:{password}")
        db.execute(
            "INSERT OR REPLACE INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?, ?, ?, ?, ?)",
            (user, self.domain, password, ha1, ha1b),
        )

    def add_user(self, user: str, password: str) -> None:
        """Add or change a subscriber; auth_db reads the table on every request, so it counts at once."""
        self.users[user] = password
        with self._db() as db, db:
            self._insert_user(db, user, password)

    @contextlib.contextmanager
    def _db(self) -> Any:
        db = sqlite3.connect(self.db_path, timeout=5)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    def query(self, sql: str, parameters: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Rows from Kamailio's SQLite database. Only subscriber has any: the rest is in Kamailio's memory."""
        with self._db() as db:
            return db.execute(sql, tuple(parameters)).fetchall()

    # -- state ------------------------------------------------------------

    def rpc(self, method: str, *params: Any, timeout: float = 5.0) -> Any:
        """Run a Kamailio RPC command (JSON-RPC over UDP, the jsonrpcs module) and return its result.

        E.g. rpc("ul.dump"), rpc("ul.lookup", "location", "alice"),
        rpc("presence.presentity_list"), rpc("core.uptime"). An RPC error
        raises KamailioError with its code and message.
        """
        self._rpc_id += 1
        request = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": self._rpc_id})
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.bind(("127.0.0.1", 0))
            sock.sendto(request.encode(), ("127.0.0.1", self.rpc_port))
            while True:
                reply = json.loads(sock.recv(262144))
                if reply.get("id") == self._rpc_id:
                    break
        if "error" in reply:
            error = reply["error"]
            raise KamailioRpcError(method, error.get("code"), str(error.get("message")))
        return reply.get("result")

    def contacts(self, user: str) -> list[Registration]:
        """The registered contacts of user, as Kamailio's location table (in memory) has them now.

        Kamailio saves a contact before it sends the 200 OK for the
        REGISTER, and removes it (expires 0) before that 200 OK too: once a
        client has seen its 200, this tells the state it set. Expired
        contacts are left out even before Kamailio's timer removes them.
        """
        try:
            result = self.rpc("ul.lookup", "location", user)
        except KamailioRpcError as error:
            if "not found" in error.message.lower():
                return []
            raise
        registrations = []
        for item in result.get("Contacts") or []:
            contact = item.get("Contact", item)
            expires = contact.get("Expires")  # seconds left, or "permanent", "deleted"
            if not isinstance(expires, int | float) or expires <= 0:
                continue

            def value(name: str, contact: dict[str, Any] = contact) -> Any:
                found = contact.get(name)
                return None if found == "[not set]" else found

            registrations.append(
                Registration(
                    user=user,
                    contact=contact["Address"],
                    expires=float(expires),
                    received=value("Received"),
                    socket=value("Socket"),
                    user_agent=value("User-Agent") or "",
                    call_id=value("Call-ID") or "",
                    cseq=int(value("CSeq") or 0),
                    path=value("Path"),
                    instance=value("Instance"),
                    reg_id=int(value("Reg-Id") or 0),
                )
            )
        return registrations

    def wait_for_contacts(
        self, user: str, predicate: Callable[[list[Registration]], bool] = bool, timeout: float = 10.0
    ) -> list[Registration]:
        """Poll contacts(user) until predicate holds (default: there is a contact); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            registrations = self.contacts(user)
            if predicate(registrations):
                return registrations
            if time.monotonic() > deadline:
                raise AssertionError(f"contacts of {user} after {timeout} s: {registrations}")
            time.sleep(0.05)

    def presentities(self, user: str, event: str = "presence") -> list[dict[str, Any]]:
        """What user has published (and not yet expired) for event: dicts with "body", "etag", "expires", ..."""
        result = self.rpc("presence.presentity_list", "full") or []
        if isinstance(result, dict):
            result = [result]
        now = time.time()
        found = []
        for record in result:
            if (record.get("user"), record.get("domain"), record.get("event")) == (
                user,
                self.domain,
                event,
            ) and record.get("expires", 0) > now:
                found.append(record)
        return found

    # -- a minimal SIP client, for probes and raw checks ------------------

    def request(
        self,
        method: str,
        *,
        user: str | None = None,
        password: str | None = None,
        uri: str | None = None,
        transport: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: str = "",
        timeout: float = 5.0,
        retries: int = 3,
    ) -> SipResponse:
        """Send one out-of-dialog request to the server and return the final response.

        From (and for REGISTER, To) is user's AOR, or an anonymous probe.
        With a password, one 401/407 challenge is answered (digest, qop=auth
        when offered); the response to that second request is returned. The
        Contact is this request's own socket, closed once it returns (give
        a Contact in headers to change it, e.g. "*" to unregister all), so
        this is for requests the server answers itself: OPTIONS, REGISTER,
        PUBLISH, and MESSAGE when only the challenge or a 404 is wanted.
        """
        transport = transport or self.transports[0]
        family = socket.AF_INET6 if self.ipv6 else socket.AF_INET
        if uri is None:
            uri = f"sip:{self.domain}" if method == "REGISTER" else self.aor(user) if user else self.uri()
        from_uri = self.aor(user) if user else f"sip:probe@{self.domain}"
        to_uri = from_uri if method == "REGISTER" else uri
        call_id = secrets.token_hex(8)
        tag = secrets.token_hex(4)
        extra = dict(headers or {})
        authorization: tuple[str, str] | None = None
        cseq = 1
        with socket.socket(family, socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            if transport == "udp":
                sock.bind((self.host, 0))
                sock.connect((self.host, self.port))
            else:
                sock.connect((self.host, self.port))
            local = f"{_bracket(self.host)}:{sock.getsockname()[1]}"
            buffer = b""
            for _ in range(2):
                message = "\r\n".join(
                    [
                        f"{method} {uri} SIP/2.0",
                        f"Via: SIP/2.0/{transport.upper()} {local};branch=z9hG4bK{secrets.token_hex(8)};rport",
                        "Max-Forwards: 70",
                        f"From: <{from_uri}>;tag={tag}",
                        f"To: <{to_uri}>",
                        f"Call-ID: {call_id}",
                        f"CSeq: {cseq} {method}",
                        *(
                            []
                            if "contact" in {name.lower() for name in extra}
                            else [f"Contact: <sip:{user or 'probe'}@{local};transport={transport}>"]
                        ),
                        *(f"{name}: {value}" for name, value in extra.items()),
                        *([f"{authorization[0]}: {authorization[1]}"] if authorization else []),
                        f"Content-Length: {len(body.encode())}",
                        "",
                        body,
                    ]
                ).encode()
                response, buffer = self._exchange(sock, transport, message, timeout, retries, buffer)
                if response.status in (401, 407) and password is not None and authorization is None:
                    challenge_header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
                    challenge = _parse_challenge(response.header(challenge_header) or "")
                    authorization = (
                        "Authorization" if response.status == 401 else "Proxy-Authorization",
                        self._authorization(challenge, user or "probe", password, method, uri),
                    )
                    cseq += 1
                    continue
                return response
        return response

    def _authorization(self, challenge: dict[str, str], user: str, password: str, method: str, uri: str) -> str:
        algorithm = challenge.get("algorithm", "MD5")
        qop = "auth" if "auth" in challenge.get("qop", "").split(",") else None
        cnonce = secrets.token_hex(8)
        response = digest_response(
            algorithm=algorithm,
            username=user,
            realm=challenge["realm"],
            password=password,
            method=method,
            uri=uri,
            nonce=challenge["nonce"],
            qop=qop,
            cnonce=cnonce,
        )
        fields = [
            f'username="{user}"',
            f'realm="{challenge["realm"]}"',
            f'nonce="{challenge["nonce"]}"',
            f'uri="{uri}"',
            f'response="{response}"',
            f"algorithm={algorithm}",
        ]
        if qop:
            fields += [f"qop={qop}", "nc=00000001", f'cnonce="{cnonce}"']
        if "opaque" in challenge:
            fields.append(f'opaque="{challenge["opaque"]}"')
        return "Digest " + ", ".join(fields)

    def _exchange(
        self, sock: socket.socket, transport: str, message: bytes, timeout: float, retries: int, buffer: bytes
    ) -> tuple[SipResponse, bytes]:
        deadline = time.monotonic() + timeout * (retries + 1)
        sock.sendall(message)
        sent = 1
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no final response from Kamailio to {message.split(b' ', 1)[0].decode()}")
            sock.settimeout(min(remaining, timeout))
            try:
                if transport == "udp":
                    text = sock.recv(65535).decode(errors="replace")
                else:
                    text, buffer = self._read_stream(sock, buffer)
            except TimeoutError:
                if transport == "udp" and sent <= retries:
                    sock.sendall(message)
                    sent += 1
                    continue
                raise
            response = SipResponse.parse(text)
            if response.status >= 200:
                return response, buffer

    @staticmethod
    def _read_stream(sock: socket.socket, buffer: bytes) -> tuple[str, bytes]:
        while True:
            head, separator, rest = buffer.partition(b"\r\n\r\n")
            if separator:
                match = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
                length = int(match.group(1)) if match else 0
                if len(rest) >= length:
                    return (head + separator + rest[:length]).decode(errors="replace"), rest[length:]
            chunk = sock.recv(65535)
            if not chunk:
                raise ConnectionError("Kamailio closed the TCP connection")
            buffer += chunk
