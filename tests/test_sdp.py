"""SDP: parsing, printing, validation, the Frozen forms, and agreement with PJMEDIA.

The corpus in tests/data/sdp is ours: shapes of offers and answers seen from
softphones, gateways and browsers (CRLF line ends, and one file with LF only).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sipsimple.core import (
    SIPURI,
    ContactHeader,
    Engine,
    FromHeader,
    FrozenSDPAttribute,
    FrozenSDPAttributeList,
    FrozenSDPBandwidthInfo,
    FrozenSDPConnection,
    FrozenSDPMediaStream,
    FrozenSDPSession,
    Invitation,
    SDPAttribute,
    SDPAttributeList,
    SDPBandwidthInfo,
    SDPConnection,
    SDPMediaStream,
    SDPSession,
    SIPCoreError,
    ToHeader,
)
from sipsimple.notification import NotificationCenter
from tests.support.notifications import observe

CORPUS = sorted((Path(__file__).parent / "data" / "sdp").glob("*.sdp"))
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 12


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_corpus_parse_print(path: Path):
    data = path.read_bytes()
    text = data.decode()
    session = SDPSession.parse(data)
    assert session == SDPSession.parse(text) == FrozenSDPSession.parse(text)
    printed = str(session)
    assert lines_of(printed) == lines_of(text)
    assert printed.endswith("\r\n") and "\n" not in printed.replace("\r\n", "")
    assert SDPSession.parse(printed) == session
    frozen = FrozenSDPSession.new(session)
    assert str(frozen) == printed
    assert hash(frozen) == hash(FrozenSDPSession.parse(printed))


def without_multicast_suffix(connection: FrozenSDPConnection | None) -> FrozenSDPConnection | None:
    if connection is None:
        return None
    return FrozenSDPConnection(connection.address.split("/")[0], connection.net_type, connection.address_type)


def pjmedia_meaning(session: FrozenSDPSession) -> FrozenSDPSession:
    """What survives PJMEDIA's structures.

    No i/u/e/p/k lines, 32-bit o= numbers, the session's direction moved into
    the media, c= addresses without their multicast /ttl/count suffix.
    """
    session_direction = None
    attributes = []
    for attribute in session.attributes:
        if attribute.name in DIRECTIONS[1:] and session_direction is None:
            session_direction = attribute
        else:
            attributes.append(attribute)
    media = []
    for stream in session.media:
        stream_attributes = list(stream.attributes)
        if session_direction is not None and not any(a.name in DIRECTIONS for a in stream_attributes):
            stream_attributes.append(session_direction)
        media.append(
            FrozenSDPMediaStream(
                stream.media,
                stream.port,
                stream.transport,
                stream.port_count,
                stream.formats,
                without_multicast_suffix(stream.connection),
                stream_attributes,
                stream.bandwidth_info,
            )
        )
    return FrozenSDPSession(
        session.address,
        session.id % 2**32,
        session.version % 2**32,
        session.user,
        session.net_type,
        session.address_type,
        session.name,
        session.connection,
        session.start_time,
        session.stop_time,
        attributes,
        session.bandwidth_info,
        media,
    )


# What PJMEDIA makes of an SDP is read the way a call reads it: the Engine
# sends the SDP as the offer of an INVITE to itself (our conversion to
# PJMEDIA's structures, which PJMEDIA prints into the request), its incoming
# side has PJMEDIA parse the offer and hands it over converted back
# (Invitation.proposed_remote_sdp), then refuses the call.


class CallingItself:
    """The running Engine calling its own UDP port; it keeps each offer as received and refuses the call (488)."""

    def __init__(self, engine: Engine) -> None:
        self.port = engine.local_udp_port
        self.offers: list[FrozenSDPSession | None] = []
        self.states = observe("SIPInvitationChangedState")
        NotificationCenter().add_observer(self, name="SIPInvitationChangedState")

    def handle_notification(self, notification: Any) -> None:
        invitation = notification.sender
        if notification.data.state == "incoming" and invitation.direction == "incoming":
            self.offers.append(invitation.proposed_remote_sdp)
            invitation.send_response(488)

    def invite(self, invitation: Invitation, sdp: SDPSession | FrozenSDPSession) -> None:
        invitation.send_invite(
            FromHeader(SIPURI(user="alice", host="127.0.0.1")),
            ToHeader(SIPURI(user="bob", host="127.0.0.1", port=self.port)),
            None,
            ContactHeader(SIPURI(user="alice", host="127.0.0.1", port=self.port)),
            sdp=sdp,
            timeout=10,
        )

    def offer_as_received(self, sdp: SDPSession | FrozenSDPSession) -> FrozenSDPSession | None:
        """`sdp` sent as an INVITE's offer, as the receiving side read it."""
        received = len(self.offers)
        invitation = Invitation()
        self.invite(invitation, sdp)
        ended = self.states.wait_for(lambda n: n.sender is invitation and n.data.state == "disconnected")
        assert ended.data.code == 488
        [offer] = self.offers[received:]
        return offer


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_corpus_accepted_by_pjmedia(engine: Engine, path: Path):
    sdp = FrozenSDPSession.parse(path.read_text())
    assert CallingItself(engine).offer_as_received(sdp) == pjmedia_meaning(sdp)


def test_seed_audio_helpers():
    stream = SDPSession.parse((CORPUS[0]).read_bytes()).media[0]
    assert stream.has_srtp and stream.has_ice
    assert stream.direction == "sendrecv"
    assert stream.codecs == ["speex", "speex", "speex", "GSM", "G722", "PCMU", "PCMA", "telephone-event"]
    assert stream.rtpmap["104"] == ("speex", 32000, 1)
    assert stream.fmtp == {"101": "0-15"}
    assert stream.attributes.getfirst("ice-ufrag") == "2701ed80"
    assert len(stream.attributes.getall("candidate")) == 8
    assert "sendrecv" in stream.attributes and "nothing" not in stream.attributes
    assert stream.attributes.getfirst("sendrecv", "absent") is None
    assert stream.attributes.getfirst("nothing", "absent") == "absent"


def test_helpers_on_other_shapes():
    by_name = {path.stem: SDPSession.parse(path.read_bytes()) for path in CORPUS}
    opus = by_name["03_softphone_offer_opus"].media[0]
    assert opus.rtpmap["111"] == ("opus", 48000, 2)
    assert not opus.has_srtp and not opus.has_ice
    assert by_name["05_srtp_savp_crypto"].media[0].has_srtp
    assert by_name["06_ice_candidates_webrtc_like"].media[0].has_srtp
    assert by_name["06_ice_candidates_webrtc_like"].media[0].has_ice
    assert by_name["08_hold_sendonly"].media[0].direction == "sendonly"
    assert by_name["09_hold_inactive_old_style"].media[0].direction == "inactive"
    assert by_name["10_late_offer_answer_in_ack"].media[0].direction == "recvonly"
    assert by_name["12_rejected_stream_port0"].media[1].port == 0
    assert by_name["12_rejected_stream_port0"].media[2].formats == ["*"]
    conference = by_name["13_media_level_connection_override"]
    assert conference.connection == SDPConnection("203.0.113.50")
    assert conference.media[0].connection == SDPConnection("203.0.113.51")
    assert conference.media[1].connection is None
    assert conference.media[2].port_count == 2
    assert conference.media[2].connection.address == "233.252.0.1/127"
    assert conference.information == "Weekly sync" and conference.phones == ["+1 617 555-6011"]
    assert conference.media[1].information == "second leg"
    video = by_name["11_audio_video_bandwidth"]
    assert video.bandwidth_info == [SDPBandwidthInfo("AS", 2048)]
    assert video.media[1].bandwidth_info[1] == FrozenSDPBandwidthInfo("TIAS", 1920000)
    ipv6 = by_name["07_ipv6"]
    assert ipv6.address_type == "IP6" and ipv6.connection.address == "2001:db8::1"


def test_direction_setter():
    stream = SDPMediaStream(
        "audio",
        4000,
        "RTP/AVP",
        formats=["0"],
        attributes=[
            SDPAttribute("rtpmap", "0 PCMU/8000"),
            SDPAttribute("sendrecv", None),
            SDPAttribute("ptime", "20"),
            SDPAttribute("recvonly", None),
        ],
    )
    assert stream.direction == "recvonly"
    stream.direction = "inactive"
    assert [str(a) for a in stream.attributes] == ["rtpmap:0 PCMU/8000", "inactive", "ptime:20"]
    plain = SDPMediaStream("audio", 4000, "RTP/AVP", formats=["0"])
    assert plain.direction == "sendrecv"
    plain.direction = "sendonly"
    assert str(plain) == "m=audio 4000 RTP/AVP 0\r\na=sendonly\r\n"
    with pytest.raises(ValueError):
        plain.direction = "hold"
    with pytest.raises(AttributeError):
        FrozenSDPMediaStream.new(plain).direction = "sendrecv"


def test_defaults_and_printing_order():
    session = SDPSession(
        "192.0.2.1",
        connection=SDPConnection("192.0.2.1"),
        bandwidth_info=[SDPBandwidthInfo("CT", 128)],
        attributes=[SDPAttribute("tool", "x")],
        media=[SDPMediaStream("audio", 5004, "RTP/AVP", formats=["0"])],
        information="info",
        uri="http://example.com/",
        emails=["a@example.com"],
        phones=["+1 555"],
        encryption_key="prompt",
    )
    assert session.id == session.version and session.id > 3_900_000_000  # NTP seconds, past 2023
    text = str(session)
    assert [line[0] for line in text.split("\r\n")[:-1]] == list("vosiuepcbtkam")
    assert text.startswith(f"v=0\r\no=- {session.id} {session.version} IN IP4 192.0.2.1\r\ns= \r\n")
    assert SDPSession.parse(text) == session
    assert SDPSession("::1", 1, 2, address_type="IP6").address == "::1"


def test_lf_only_and_trailing_blank_lines():
    text = "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 0 RTP/AVP 0\n\n\n"
    session = SDPSession.parse(text)
    assert session.media[0].port == 0
    assert str(session) == text.rstrip("\n").replace("\n", "\r\n") + "\r\n"


def test_lenient_real_world_lines():
    text = (
        "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=3900000000 3900003600\r\n"
        "r=7d 1h 0 25h\r\nt=0 0\r\nz=2882844526 -1h\r\nk=clear:secret\r\na=x-unknown:keep me  \r\n"
        "m=audio 5000 RTP/AVP 0\r\nk=prompt\r\na=flag\r\n"
    )
    session = SDPSession.parse(text)
    assert (session.start_time, session.stop_time) == (3900000000, 3900003600)
    assert session.encryption_key == "clear:secret"
    assert session.attributes.getfirst("x-unknown") == "keep me  "
    assert session.media[0].encryption_key == "prompt"
    assert session.media[0].attributes == [SDPAttribute("flag", None)]
    big = SDPSession.parse("v=0\r\no=- 8436145932498519523 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n")
    assert big.id == 8436145932498519523


INVALID = [
    ("", None, "empty"),
    ("o=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", 1, "v="),
    ("v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", 1, "version"),
    ("v=0\r\ns=-\r\nt=0 0\r\n", 2, "o="),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n", 3, "missing s="),
    ("v=0\r\no=- x 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", 2, "number"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n", 5, "port"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio port RTP/AVP 0\r\n", 5, "port"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nthis is garbage\r\n", 5, "not a <type>=<value>"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nx=unknown\r\n", 5, "unknown line type"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 300.1.2.3\r\nt=0 0\r\n", 4, "IPv4"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 2001:db8::1\r\nt=0 0\r\n", 4, "IP4"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP6 192.0.2.1\r\nt=0 0\r\n", 4, "IP6"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP5 192.0.2.1\r\nt=0 0\r\n", 4, "address_type"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4\r\nt=0 0\r\n", 4, "fields"),
    (
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n",
        5,
        "more than one",
    ),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n", 6, "media description"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n\r\na=sendrecv\r\n", 5, "empty line"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nb=AS\r\n", 5, "modifier"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\na=bad name:1\r\n", 5, "attribute name"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0 a,b\r\n", 5, "format"),
    ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=\r\nt=0 0\r\n", 3, "empty"),
]


@pytest.mark.parametrize(("text", "line", "reason"), INVALID)
def test_invalid(text: str, line: int | None, reason: str):
    with pytest.raises(SIPCoreError) as info:
        SDPSession.parse(text)
    message = str(info.value)
    if line is not None:
        assert f"line {line} " in message
    assert reason in message


def test_parse_type_error():
    with pytest.raises(TypeError):
        SDPSession.parse(42)


def test_validation_in_constructors_and_on_assignment():
    with pytest.raises(ValueError, match="port"):
        SDPMediaStream("audio", 65536, "RTP/AVP")
    with pytest.raises(TypeError):
        SDPMediaStream("audio", "5000", "RTP/AVP")
    with pytest.raises(ValueError, match="media"):
        SDPMediaStream("audio video", 5000, "RTP/AVP")
    with pytest.raises(ValueError, match="transport"):
        SDPMediaStream("audio", 5000, "RTP//AVP")
    with pytest.raises(ValueError, match="format"):
        SDPMediaStream("audio", 5000, "RTP/AVP", formats=["0 8"])
    with pytest.raises(TypeError):
        SDPMediaStream("audio", 5000, "RTP/AVP", attributes=["sendrecv"])
    with pytest.raises(ValueError, match="IP6"):
        SDPConnection("192.0.2.1", address_type="IP6")
    with pytest.raises(ValueError):
        SDPConnection("not an address")
    with pytest.raises(ValueError, match="address_type"):
        SDPConnection("192.0.2.1", address_type="IPX")
    assert SDPConnection("media.example.com", address_type="IP6").address == "media.example.com"
    with pytest.raises(ValueError):
        SDPAttribute("rtpmap", "0 PCMU/8000\r\na=evil")
    with pytest.raises(ValueError):
        SDPBandwidthInfo("AS", -1)
    with pytest.raises(ValueError):
        SDPSession("192.0.2.1", name="")
    with pytest.raises(ValueError):
        SDPSession("192.0.2.1", user="two words")
    with pytest.raises(ValueError):
        SDPSession("192.0.2.1", id=-1)

    stream = SDPMediaStream("audio", 5000, "RTP/AVP", formats=["0"])
    with pytest.raises(ValueError):
        stream.port = 70000
    with pytest.raises(TypeError):
        stream.connection = "IN IP4 192.0.2.1"
    stream.connection = FrozenSDPConnection("192.0.2.5")
    assert type(stream.connection) is SDPConnection
    connection = SDPConnection("192.0.2.1")
    with pytest.raises(ValueError):
        connection.address = "2001:db8::1"
    with pytest.raises(ValueError):
        connection.address_type = "IP6"
    session = SDPSession("192.0.2.1", 1, 1)
    with pytest.raises(ValueError):
        session.version = 2**64
    with pytest.raises(ValueError):
        session.address = "::1"
    session.media.append("not a stream")
    with pytest.raises(TypeError):
        str(session)
    attributes = SDPAttributeList()
    with pytest.raises(TypeError):
        attributes.append(("a", "b"))
    with pytest.raises(TypeError):
        attributes[0:0] = ["x"]


def test_frozen_forms():
    session = SDPSession.parse(CORPUS[0].read_bytes())
    frozen = FrozenSDPSession.new(session)
    assert frozen == session and FrozenSDPSession.new(frozen) is frozen
    assert isinstance(frozen.attributes, FrozenSDPAttributeList)
    assert isinstance(frozen.media, tuple) and isinstance(frozen.media[0], FrozenSDPMediaStream)
    assert isinstance(frozen.media[0].attributes[0], FrozenSDPAttribute)
    assert {frozen: 1}[FrozenSDPSession.parse(str(session))] == 1
    with pytest.raises(AttributeError):
        frozen.name = "x"
    with pytest.raises(TypeError):
        hash(session)
    back = SDPSession.new(frozen)
    assert back == session and type(back.media[0]) is SDPMediaStream and type(back.attributes) is SDPAttributeList
    back.media[0].port = 1
    assert back != session
    for cls, frozen_cls, args in (
        (SDPConnection, FrozenSDPConnection, ("192.0.2.1",)),
        (SDPAttribute, FrozenSDPAttribute, ("sendrecv", None)),
        (SDPBandwidthInfo, FrozenSDPBandwidthInfo, ("AS", 64)),
    ):
        assert cls(*args) == frozen_cls(*args)
        assert hash(frozen_cls(*args)) == hash(frozen_cls.new(cls(*args)))
        with pytest.raises(TypeError):
            frozen_cls.new(object())
    assert SDPAttributeList([SDPAttribute("a", "1")]) == FrozenSDPAttributeList([SDPAttribute("a", "1")])
    assert hash(FrozenSDPAttributeList([SDPAttribute("a", "1")])) == hash(
        FrozenSDPAttributeList([FrozenSDPAttribute("a", "1")])
    )
    assert pickle.loads(pickle.dumps(frozen)) == frozen
    assert pickle.loads(pickle.dumps(session)) == session


def test_pjmedia_refuses(engine: Engine):
    # Valid for us, refused by pjmedia_sdp_validate: a dynamic payload type without rtpmap.
    text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 5 RTP/AVP 96\r\n"
    many = SDPSession(
        "192.0.2.1",
        1,
        1,
        connection=SDPConnection("192.0.2.1"),
        media=[SDPMediaStream("audio", 0, "RTP/AVP", formats=["0"])] * 17,
    )
    calls = CallingItself(engine)
    ua = engine._ua
    assert ua is not None
    pools = ua.pool_usage[0]
    for sdp, reason in ((SDPSession.parse(text), "rtpmap"), (many, "at most 16")):
        invitation = Invitation()
        with pytest.raises(SIPCoreError, match=reason):
            calls.invite(invitation, sdp)
        assert invitation.state == "NULL"
    # Refused before anything was made: no dialog (nor its pool) left behind, nothing sent.
    assert ua.pool_usage[0] == pools
    assert calls.offers == []
    # And the Engine still calls with an SDP PJMEDIA takes.
    assert calls.offer_as_received(FrozenSDPSession.parse(CORPUS[0].read_text())) is not None


# --- property-based ----------------------------------------------------------------------

token = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~", min_size=1, max_size=12
)
line_text = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)), min_size=1, max_size=20
)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(str)
hostname = st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z0-9](\.[a-z][a-z0-9]{0,5}){0,2}", fullmatch=True)
connections = st.one_of(
    st.builds(SDPConnection, st.one_of(ipv4, hostname), st.just("IN"), st.just("IP4")),
    st.builds(SDPConnection, st.one_of(ipv6, hostname), st.just("IN"), st.just("IP6")),
)
attributes = st.builds(SDPAttribute, token, st.one_of(st.none(), line_text, st.just("")))
bandwidths = st.builds(SDPBandwidthInfo, token, st.integers(0, 2**32 - 1))
transports = st.lists(token, min_size=1, max_size=3).map("/".join)
streams = st.builds(
    SDPMediaStream,
    token,
    st.integers(0, 65535),
    transports,
    st.integers(1, 65535),
    st.lists(token, max_size=5),
    st.one_of(st.none(), connections),
    st.lists(attributes, max_size=5),
    st.lists(bandwidths, max_size=2),
    st.one_of(st.none(), line_text),
    st.one_of(st.none(), line_text),
)


@st.composite
def sessions(draw):
    address_type = draw(st.sampled_from(["IP4", "IP6"]))
    address = draw(st.one_of(ipv4 if address_type == "IP4" else ipv6, hostname))
    return SDPSession(
        address,
        draw(st.integers(0, 2**64 - 1)),
        draw(st.integers(0, 2**64 - 1)),
        draw(st.from_regex(r"[!-~]{1,10}", fullmatch=True)),
        "IN",
        address_type,
        draw(line_text),
        draw(st.one_of(st.none(), connections)),
        draw(st.integers(0, 2**40)),
        draw(st.integers(0, 2**40)),
        draw(st.lists(attributes, max_size=4)),
        draw(st.lists(bandwidths, max_size=2)),
        draw(st.lists(streams, max_size=3)),
        draw(st.one_of(st.none(), line_text)),
        draw(st.one_of(st.none(), line_text)),
        draw(st.lists(line_text, max_size=2)),
        draw(st.lists(line_text, max_size=2)),
        draw(st.one_of(st.none(), line_text)),
    )


@settings(max_examples=200, deadline=None)
@given(sessions())
def test_property_print_parse(session: SDPSession):
    text = str(session)
    assert SDPSession.parse(text) == session
    frozen = FrozenSDPSession.parse(text.encode("utf-8", "surrogateescape"))
    assert frozen == session and hash(frozen) == hash(FrozenSDPSession.new(session))
    assert str(frozen) == text
