"""Engine lifecycle, options and runtime changes."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devkit.ports import free_port
from devkit.sipp import SippResult, run_sipp, sip_target
from sipsimple.core import PJSIP_VERSION, Engine, PJSIPError, SIPCoreError, SIPCoreInvalidStateError
from sipsimple.notification import NotificationCenter
from tests.support.notifications import observe
from tests.support.scenarios import SCENARIOS

OPTIONS = SCENARIOS / "options_uac.xml"
REPO = Path(__file__).resolve().parent.parent


def _options_ok(port: int, transport: str = "udp") -> bool:
    return run_sipp(OPTIONS, sip_target("127.0.0.1", port), transport=transport).succeeded


def test_start_stop_start_again_with_notifications() -> None:
    recorder = observe("SIPEngineWillStart", "SIPEngineDidStart", "SIPEngineWillEnd", "SIPEngineDidEnd")
    engine = Engine()
    assert engine is Engine()
    assert not engine.is_running
    for _ in range(3):
        engine.start(ip_address="127.0.0.1", udp_port=0)
        assert engine.is_running
        assert _options_ok(engine.local_udp_port)
        engine.stop()
        assert not engine.is_running
        assert engine.local_udp_port is None
    recorder.wait_for(lambda n: len(recorder.named("SIPEngineDidEnd")) == 3)
    assert recorder.names == ["SIPEngineWillStart", "SIPEngineDidStart", "SIPEngineWillEnd", "SIPEngineDidEnd"] * 3
    assert all(n.sender is engine for n in recorder.notifications)


def test_notifications_come_from_the_engine_thread(engine: Engine) -> None:
    recorder = observe("SIPEngineSIPTrace")
    threads: list[str] = []

    class ThreadRecorder:
        def handle_notification(self, notification) -> None:
            threads.append(threading.current_thread().name)

    observer = ThreadRecorder()
    NotificationCenter().add_observer(observer, name="SIPEngineSIPTrace")
    assert _options_ok(engine.local_udp_port)
    recorder.wait_for(lambda n: not n.data.received)
    assert set(threads) == {"sipsimple-engine"}


def test_start_twice_is_an_invalid_state(engine: Engine) -> None:
    with pytest.raises(SIPCoreInvalidStateError):
        engine.start(ip_address="127.0.0.1")


def test_stop_when_stopped_does_nothing() -> None:
    Engine().stop()
    Engine().stop()
    assert not Engine().is_running


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM])
def test_port_in_use_is_a_clear_error_naming_the_port(kind: int) -> None:
    recorder = observe("SIPEngineDidFail")
    with socket.socket(socket.AF_INET, kind) as blocker:
        blocker.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            blocker.listen()
        port = blocker.getsockname()[1]
        option = "udp_port" if kind == socket.SOCK_DGRAM else "tcp_port"
        options = {"ip_address": "127.0.0.1", "udp_port": None, option: port}
        with pytest.raises(SIPCoreError) as error:
            Engine().start(**options)
    message = str(error.value)
    assert f"127.0.0.1:{port}" in message
    assert ("UDP" if kind == socket.SOCK_DGRAM else "TCP") in message
    assert "in use" in message.lower()
    assert not Engine().is_running
    assert recorder.named("SIPEngineDidFail")[0].data.error is error.value
    # Nothing was left half-started: the Engine starts normally afterwards.
    Engine().start(ip_address="127.0.0.1", udp_port=0)
    assert _options_ok(Engine().local_udp_port)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"udp_port": "5060"}, TypeError),
        ({"udp_port": 70000}, ValueError),
        ({"udp_port": -1}, ValueError),
        ({"tcp_port": 1.5}, TypeError),
        ({"tls_port": True}, TypeError),
        ({"ip_address": "not-an-address"}, ValueError),
        ({"ip_address": 127}, TypeError),
        ({"log_level": 9}, ValueError),
        ({"log_level": "debug"}, TypeError),
        ({"rtp_port_range": (5, 4)}, ValueError),
        ({"rtp_port_range": 50000}, TypeError),
        ({"codecs": "PCMU"}, TypeError),
        ({"codecs": ["PCMU", 8]}, TypeError),
        ({"codecs": ["PCMU", "no-such-codec"]}, ValueError),
        ({"user_agent": b"bytes"}, TypeError),
        ({"tls_cert_file": "/no/such/file.pem"}, ValueError),
        ({"tls_port": 0, "tls_cert_file": __file__, "tls_privkey_file": __file__}, ValueError),
        ({"tls_port": 0, "tls_ca_file": __file__}, ValueError),
        ({"tls_timeout": 0}, ValueError),
        ({"no_such_option": 1}, TypeError),
    ],
)
def test_invalid_options_are_rejected(options: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        Engine().start(ip_address=options.pop("ip_address", "127.0.0.1"), **options)
    assert not Engine().is_running


def test_properties_while_running(engine: Engine) -> None:
    assert engine.pjsip_version == PJSIP_VERSION == "2.12.1"
    assert engine.ip_address == "127.0.0.1"
    transports = engine.transports
    assert ("udp", "127.0.0.1", engine.local_udp_port) in transports
    assert ("tcp", "127.0.0.1", engine.local_tcp_port) in transports
    assert engine.local_tls_port is None
    assert {"opus", "G722", "speex", "GSM", "PCMU", "PCMA"} <= set(engine.available_codecs)
    assert engine.codecs == ["opus", "G722", "speex", "GSM", "PCMU", "PCMA"]
    assert engine.allowed_methods == [
        "OPTIONS",
        "MESSAGE",
        "NOTIFY",
        "REFER",
        "INVITE",
        "ACK",
        "CANCEL",
        "BYE",
        "UPDATE",
        "PRACK",
    ]
    assert engine.supported_extensions == ["100rel", "timer", "replaces"]
    assert engine.accepted_types[0] == "application/sdp"
    assert engine.rtp_port_range == (50000, 50500)


def test_codec_variants(engine: Engine) -> None:
    variants = {(name, rate, channels) for name, rate, channels, _ in engine.codec_variants}
    assert {
        ("opus", 48000, 2),
        ("G722", 16000, 1),
        ("GSM", 8000, 1),
        ("PCMU", 8000, 1),
        ("PCMA", 8000, 1),
        ("speex", 8000, 1),
        ("speex", 16000, 1),
        ("speex", 32000, 1),
    } <= variants
    priorities = {name: priority for name, _, _, priority in engine.codec_variants}
    assert priorities["opus"] > priorities["G722"] > priorities["PCMA"] > 0
    assert priorities["L16"] == 0  # available but not enabled


def test_exception_in_a_callback_is_reported_not_raised(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # Break what the SIP trace callback uses, so that it raises inside PJSIP's
    # receive path: the Engine must report it and keep serving.
    import sipsimple.core._core as core_module

    class BrokenClock:
        class datetime:  # stands in for the datetime module
            @staticmethod
            def now():
                raise RuntimeError("clock is broken")

    recorder = observe("SIPEngineGotException")
    monkeypatch.setattr(core_module, "datetime", BrokenClock)
    assert _options_ok(engine.local_udp_port)
    report = recorder.wait_named("SIPEngineGotException")
    assert report.data.type is RuntimeError
    assert str(report.data.value) == "clock is broken"
    assert "clock is broken" in report.data.traceback and "Traceback" in report.data.traceback
    monkeypatch.undo()
    assert _options_ok(engine.local_udp_port)
    assert engine.is_running


def test_codecs_can_be_changed_while_running(engine: Engine) -> None:
    engine.codecs = ["pcma", "PCMU"]
    assert engine.codecs == ["PCMA", "PCMU"]
    with pytest.raises(ValueError):
        engine.codecs = ["nonsense"]
    assert engine.codecs == ["PCMA", "PCMU"]


def test_ports_can_be_changed_while_running(engine: Engine) -> None:
    recorder = observe("SIPEngineTransportsDidChange")
    old_port = engine.local_udp_port
    new_port = free_port()
    engine.set_udp_port(new_port)
    assert engine.local_udp_port == new_port
    changed = recorder.wait_named("SIPEngineTransportsDidChange")
    assert ("udp", "127.0.0.1", old_port) in changed.data.old_transports
    assert ("udp", "127.0.0.1", new_port) in changed.data.transports
    assert ("udp", "127.0.0.1", old_port) not in changed.data.transports
    engine.set_udp_port(new_port)  # no change, no notification
    assert _options_ok(new_port)
    # Nothing listens on the old port any more: it can be bound again.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", old_port))
    assert len(recorder.named("SIPEngineTransportsDidChange")) == 1
    engine.set_tcp_port(None)
    assert engine.local_tcp_port is None
    assert all(name != "tcp" for name, _, _ in recorder.named("SIPEngineTransportsDidChange")[-1].data.transports)
    assert all(name != "tcp" for name, _, _ in engine.transports)
    engine.set_tcp_port(0)
    assert _options_ok(engine.local_tcp_port, "tcp")
    with pytest.raises(TypeError):
        engine.set_udp_port("5060")


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM], ids=["udp", "tcp"])
def test_a_port_change_that_fails_keeps_the_old_transport(engine: Engine, kind: int) -> None:
    transport = "udp" if kind == socket.SOCK_DGRAM else "tcp"
    set_port = engine.set_udp_port if transport == "udp" else engine.set_tcp_port

    def bound() -> int | None:
        return engine.local_udp_port if transport == "udp" else engine.local_tcp_port

    old_port = bound()
    with socket.socket(socket.AF_INET, kind) as blocker:
        blocker.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            blocker.listen()
        with pytest.raises(PJSIPError, match="in use"):
            set_port(blocker.getsockname()[1])
    assert bound() == old_port
    assert _options_ok(old_port, transport)
    # The port already bound is no change at all.
    set_port(old_port)
    assert bound() == old_port
    assert _options_ok(old_port, transport)


def _message_source_port(engine: Engine, body: str) -> int:
    """Send a MESSAGE over UDP to a socket of the test's; the port it came from (the Engine's UDP port)."""
    from sipsimple.core import SIPURI, FromHeader, Message, RouteHeader, ToHeader

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(5)
        port = sink.getsockname()[1]
        message = Message(
            FromHeader(SIPURI(user="alice", host="127.0.0.1")),
            ToHeader(SIPURI(user="bob", host="127.0.0.1", port=port)),
            RouteHeader(SIPURI(host="127.0.0.1", port=port)),
            "text/plain",
            body,
        )
        message.send(timeout=1)
        while True:
            data, (_, source_port) = sink.recvfrom(65535)
            if body.encode() in data:
                message.end()
                return source_port


def test_requests_go_out_of_the_moved_udp_transport(engine: Engine) -> None:
    # PJSIP keeps offering a UDP transport that was shut down while
    # transactions hold it; the Engine moves its one UDP transport in place.
    assert _message_source_port(engine, "first") == engine.local_udp_port
    for round_ in range(3):
        old_port = engine.local_udp_port
        engine.set_udp_port(0)
        assert engine.local_udp_port != old_port
        assert _message_source_port(engine, f"moved {round_}") == engine.local_udp_port
        assert _options_ok(engine.local_udp_port)
    # Off: nothing listens, requests over UDP fail clearly; on again: it works.
    port = engine.local_udp_port
    engine.set_udp_port(None)
    assert engine.local_udp_port is None and all(name != "udp" for name, _, _ in engine.transports)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))
    with pytest.raises(PJSIPError):
        _message_source_port(engine, "while off")
    engine.set_udp_port(0)
    assert _message_source_port(engine, "on again") == engine.local_udp_port
    assert _options_ok(engine.local_udp_port)


def _options_over_tls(port: int, tls_files: Any) -> SippResult:
    """SIPp's OPTIONS to the TLS listener at `port` on 127.0.0.1, with the test certificates."""
    result = run_sipp(
        OPTIONS,
        sip_target("127.0.0.1", port),
        transport="tls",
        tls_cert=tls_files.cert_file,
        tls_key=tls_files.key_file,
        tls_ca=tls_files.ca_file,
    )
    assert isinstance(result, SippResult)
    return result


def test_tls_settings_that_fail_keep_the_old_listener(engine: Engine, tls_files) -> None:
    engine.set_tls_options(
        port=0, cert_file=str(tls_files.cert_file), privkey_file=str(tls_files.key_file), ca_file=str(tls_files.ca_file)
    )
    port = engine.local_tls_port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        with pytest.raises(PJSIPError, match="in use"):
            engine.set_tls_options(
                port=blocker.getsockname()[1], cert_file=str(tls_files.cert_file), privkey_file=str(tls_files.key_file)
            )
    assert engine.local_tls_port == port
    # Files that are not a certificate are refused before anything changes.
    with pytest.raises(ValueError, match="certificate"):
        engine.set_tls_options(port=port, cert_file=__file__, privkey_file=__file__)
    assert engine.local_tls_port == port
    result = _options_over_tls(port, tls_files)
    assert result.returncode == 0, result.stderr


def test_tls_can_be_enabled_while_running(engine: Engine, tls_files) -> None:
    assert engine.local_tls_port is None
    engine.set_tls_options(
        port=0, cert_file=str(tls_files.cert_file), privkey_file=str(tls_files.key_file), ca_file=str(tls_files.ca_file)
    )
    port = engine.local_tls_port
    assert port
    result = _options_over_tls(port, tls_files)
    assert result.succeeded, result.stderr + result.log
    engine.set_tls_options(port=None)
    assert engine.local_tls_port is None


def test_changing_a_stopped_engine_is_an_invalid_state() -> None:
    with pytest.raises(SIPCoreInvalidStateError):
        Engine().set_udp_port(0)
    with pytest.raises(SIPCoreInvalidStateError):
        Engine().codecs = ["PCMU"]


def test_log_level_changes_while_running(engine: Engine) -> None:
    recorder = observe("SIPEngineLog")
    assert engine.log_level == 0
    assert _options_ok(engine.local_udp_port)
    assert recorder.named("SIPEngineLog") == []
    engine.log_level = 5
    assert _options_ok(engine.local_udp_port)
    log = recorder.wait_for(lambda n: "OPTIONS" in n.data.message)
    assert log.data.level <= 5
    assert log.data.sender
    assert log.data.timestamp is not None
    engine.log_level = 0
    with pytest.raises(ValueError):
        engine.log_level = 7


def test_stop_with_transactions_pending() -> None:
    engine = Engine()
    engine.start(ip_address="127.0.0.1", udp_port=0)
    recorder = observe("SIPEngineDidEnd")
    # A flood of OPTIONS leaves server transactions alive (UDP keeps them in
    # Completed state for 32 s) and more arriving while the Engine stops.
    flood = run_sipp(
        OPTIONS, sip_target("127.0.0.1", engine.local_udp_port), calls=5000, rate=2000, timeout=30, background=True
    )
    try:
        time.sleep(1.0)
        engine.stop()
        assert not engine.is_running
        recorder.wait_named("SIPEngineDidEnd")
    finally:
        flood.kill()
    engine.start(ip_address="127.0.0.1", udp_port=0)
    assert _options_ok(engine.local_udp_port)


def test_stop_from_an_observer_on_the_engine_thread(engine: Engine) -> None:
    ended = observe("SIPEngineDidEnd")

    class Stopper:
        def handle_notification(self, notification) -> None:
            Engine().stop()

    stopper = Stopper()
    NotificationCenter().add_observer(stopper, name="SIPEngineSIPTrace")
    assert run_sipp(OPTIONS, sip_target("127.0.0.1", engine.local_udp_port)).returncode in (0, 1)
    ended.wait_named("SIPEngineDidEnd")
    assert not engine.is_running


def test_interpreter_exit_with_engine_running() -> None:
    # An application that forgets stop() must still exit cleanly and promptly.
    program = textwrap.dedent(
        """
        from sipsimple.core import Engine
        engine = Engine()
        engine.start(ip_address="127.0.0.1", udp_port=0, tcp_port=0, trace_sip=True, log_level=5)
        print(engine.local_udp_port, flush=True)
        """
    )
    completed = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout.split()[0]) > 0
    assert "Traceback" not in completed.stderr
