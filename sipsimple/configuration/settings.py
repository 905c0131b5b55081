"""SIPSimpleSettings: the settings of the whole application (accounts have their own objects)."""

from __future__ import annotations

from sipsimple.configuration.datatypes import (
    AudioCodecList,
    ContentTypeList,
    IPAddress,
    IPAddressList,
    MSRPTransport,
    NonNegativeInteger,
    Path,
    PJSIPLogLevel,
    Port,
    PortRange,
    SampleRate,
    SIPAddress,
    SIPTransportList,
    Timeout,
)
from sipsimple.configuration.objects import Group, SettingsGroup, SettingsObject
from sipsimple.configuration.setting import Setting

__all__ = [
    "AudioSettings",
    "ChatSettings",
    "DNSSettings",
    "EchoCancellerSettings",
    "FileTransferSettings",
    "LogsSettings",
    "MSRPSettings",
    "RTPSettings",
    "SIPSettings",
    "SIPSimpleSettings",
    "TLSSettings",
]


class EchoCancellerSettings(SettingsGroup):
    enabled = Setting(type=bool, default=True)
    tail_length = Setting(type=NonNegativeInteger, default=NonNegativeInteger(200))  # milliseconds


class AudioSettings(SettingsGroup):
    # Device names as the audio layer lists them; "system_default" follows the system's choice, None: no device.
    input_device = Setting(type=str, default="system_default", nullable=True)
    output_device = Setting(type=str, default="system_default", nullable=True)
    alert_device = Setting(type=str, default="system_default", nullable=True)
    sample_rate = Setting(type=SampleRate, default=SampleRate(48000))
    echo_canceller: Group[EchoCancellerSettings] = EchoCancellerSettings
    recordings_directory = Setting(type=Path, default=Path("~/.sipsimple/recordings"))


class SIPSettings(SettingsGroup):
    # Listening ports; 0: any free port. Which transports are used is transport_list.
    udp_port = Setting(type=Port, default=Port(0))
    tcp_port = Setting(type=Port, default=Port(0))
    tls_port = Setting(type=Port, default=Port(0))
    transport_list = Setting(type=SIPTransportList, default=SIPTransportList(["tls", "tcp", "udp"]))
    invite_timeout = Setting(type=Timeout, default=Timeout(90))  # seconds an outgoing call may ring unanswered
    register_timeout = Setting(type=Timeout, default=Timeout(30))  # seconds to wait for a REGISTER's final answer


class RTPSettings(SettingsGroup):
    port_range = Setting(type=PortRange, default=PortRange(50000, 50500))
    audio_codec_list = Setting(
        type=AudioCodecList, default=AudioCodecList(["opus", "G722", "speex", "GSM", "PCMU", "PCMA"])
    )
    timeout = Setting(type=Timeout, default=Timeout(30))  # seconds without RTP before a call is reported dead


class TLSSettings(SettingsGroup):
    ca_list = Setting(type=Path, default=None, nullable=True)  # PEM bundle of trusted CAs
    certificate = Setting(type=Path, default=None, nullable=True)  # PEM certificate and private key
    verify_server = Setting(type=bool, default=False)
    timeout = Setting(type=Timeout, default=Timeout(3))  # handshake timeout, seconds


class MSRPSettings(SettingsGroup):
    transport = Setting(type=MSRPTransport, default=MSRPTransport("tls"))


class LogsSettings(SettingsGroup):
    directory = Setting(type=Path, default=Path("~/.sipsimple/logs"))
    trace_sip = Setting(type=bool, default=False)
    trace_pjsip = Setting(type=bool, default=False)
    pjsip_level = Setting(type=PJSIPLogLevel, default=PJSIPLogLevel(5))  # used while trace_pjsip is on
    trace_msrp = Setting(type=bool, default=False)
    trace_notifications = Setting(type=bool, default=False)


class FileTransferSettings(SettingsGroup):
    directory = Setting(type=Path, default=Path("~/Downloads"))  # where received files are written


class ChatSettings(SettingsGroup):
    directory = Setting(type=Path, default=Path("~/.sipsimple/chat"))  # chat history
    accept_types = Setting(type=ContentTypeList, default=ContentTypeList(["message/cpim", "text/*"]))


class DNSSettings(SettingsGroup):
    # The local nameservers DNS lookups (RFC 3263 for registration, STUN, MSRP
    # relays) fall back to; None: the system's (/etc/resolv.conf), read at
    # each lookup.
    nameservers = Setting(type=IPAddressList, default=None, nullable=True)
    # The port every nameserver is asked on: 53 but for local DNS proxies on
    # unprivileged ports (and test setups).
    port = Setting(type=Port, default=Port(53))


class SIPSimpleSettings(SettingsObject):
    """The application's settings, one object: ``SIPSimpleSettings()``, stored under ``SIPSimpleSettings``."""

    __id__ = "SIPSimpleSettings"

    user_agent = Setting(type=str, default="sipsimple")
    local_ip = Setting(type=IPAddress, default=None, nullable=True)  # None: chosen automatically
    default_account = Setting(type=SIPAddress, default=None, nullable=True)

    audio: Group[AudioSettings] = AudioSettings
    sip: Group[SIPSettings] = SIPSettings
    rtp: Group[RTPSettings] = RTPSettings
    tls: Group[TLSSettings] = TLSSettings
    msrp: Group[MSRPSettings] = MSRPSettings
    logs: Group[LogsSettings] = LogsSettings
    file_transfer: Group[FileTransferSettings] = FileTransferSettings
    chat: Group[ChatSettings] = ChatSettings
    dns: Group[DNSSettings] = DNSSettings
