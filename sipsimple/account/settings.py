"""The settings of an Account, by group (docs/api/account.md, "Settings").

A setting that is ``None`` where the application has a setting of the same
meaning (``rtp.audio_codec_list``, ``sip.transport_list``, ``msrp.transport``)
means "as SIPSimpleSettings says": the account follows the application's
choice until it is given its own.
"""

from __future__ import annotations

from sipsimple.configuration.datatypes import (
    AudioCodecList,
    MSRPTransport,
    Path,
    PositiveInteger,
    SIPAddress,
    SIPProxyAddress,
    SIPTransportList,
    SRTPEncryption,
    STUNServerAddressList,
    Timeout,
    XCAPRoot,
)
from sipsimple.configuration.objects import SettingsGroup
from sipsimple.configuration.setting import Setting

__all__ = [
    "AuthSettings",
    "DialogEventSettings",
    "MSRPSettings",
    "MessageSummarySettings",
    "NATTraversalSettings",
    "PresenceSettings",
    "RTPSettings",
    "RegistrationSettings",
    "SIPSettings",
    "TLSSettings",
    "XCAPSettings",
]


class AuthSettings(SettingsGroup):
    # The digest user name; None: the user part of the account's id.
    username = Setting(type=str, default=None, nullable=True)
    password = Setting(type=str, default="")


class SIPSettings(SettingsGroup):
    # Where requests go first: None: the domain of the account's id, found by DNS (RFC 3263).
    outbound_proxy = Setting(type=SIPProxyAddress, default=None, nullable=True)
    # The transports the account may use, in order of preference; None: SIPSimpleSettings.sip.transport_list.
    # Only those the Engine listens on are used.
    transport_list = Setting(type=SIPTransportList, default=None, nullable=True)


class RegistrationSettings(SettingsGroup):
    enabled = Setting(type=bool, default=True)
    expires = Setting(type=PositiveInteger, default=PositiveInteger(600))  # seconds asked for; the registrar decides
    # After every route failed: wait retry_delay seconds, doubling at each round, at most max_retry_delay
    # (a random part of up to a quarter is taken off, so that clients do not come back in step).
    retry_delay = Setting(type=Timeout, default=Timeout(2))
    max_retry_delay = Setting(type=Timeout, default=Timeout(300))


class RTPSettings(SettingsGroup):
    audio_codec_list = Setting(type=AudioCodecList, default=None, nullable=True)  # None: SIPSimpleSettings'
    srtp_encryption = Setting(type=SRTPEncryption, default=SRTPEncryption("optional"))


class NATTraversalSettings(SettingsGroup):
    use_ice = Setting(type=bool, default=False)
    # STUN servers for ICE; None: found by DNS (_stun._udp SRV of the account's domain).
    stun_server_list = Setting(type=STUNServerAddressList, default=None, nullable=True)
    # The MSRP relay (host[:port][;transport=tls|tcp]); None: found by DNS (_msrps._tcp SRV of the domain).
    msrp_relay = Setting(type=SIPProxyAddress, default=None, nullable=True)


class MSRPSettings(SettingsGroup):
    transport = Setting(type=MSRPTransport, default=None, nullable=True)  # None: SIPSimpleSettings.msrp.transport


class PresenceSettings(SettingsGroup):
    enabled = Setting(type=bool, default=False)


class DialogEventSettings(SettingsGroup):
    enabled = Setting(type=bool, default=False)


class MessageSummarySettings(SettingsGroup):
    enabled = Setting(type=bool, default=False)
    voicemail_uri = Setting(type=SIPAddress, default=None, nullable=True)  # None: the account's own address


class XCAPSettings(SettingsGroup):
    enabled = Setting(type=bool, default=False)
    xcap_root = Setting(type=XCAPRoot, default=None, nullable=True)  # None: found by DNS (TXT of xcap.<domain>)


class TLSSettings(SettingsGroup):
    verify_server = Setting(type=bool, default=False)
    certificate = Setting(type=Path, default=None, nullable=True)  # PEM certificate and key presented to servers
