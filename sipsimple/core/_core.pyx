# cython: language_level=3, embedsignature=True
# distutils: language = c
"""The Cython core of sipsimple: PJSIP, PJMEDIA and PJNATH behind a Python API.

One module, split by area into .pxi files included below. The public Python
names are re-exported by sipsimple.core; the Engine itself is pure Python
(sipsimple/core/_engine.py) and drives the PJSIPUA defined in ua.pxi.
"""

# The public names of the core, re-exported by sipsimple.core (its __init__ adds those of the
# pure-Python modules). _core.pyi declares the same __all__; stubtest and tests/test_core_names.py
# check that the two agree and that the stub declares each name.
__all__ = [
    "AudioMixer", "AudioTransport", "available_srtp_suites", "ContactHeader", "ContentDispositionHeader",
    "ContentTypeHeader", "Credentials", "DEFAULT_EVENTS", "DialogID", "EventHeader", "FromHeader",
    "FrozenContactHeader", "FrozenContentDispositionHeader", "FrozenContentTypeHeader", "FrozenCredentials",
    "frozendict", "FrozenEventHeader", "FrozenFromHeader", "FrozenHeader", "FrozenPAssertedIdentityHeader",
    "FrozenPPreferredIdentityHeader", "FrozenReasonHeader", "FrozenRecordRouteHeader", "FrozenReferToHeader",
    "FrozenReplacesHeader", "FrozenRetryAfterHeader", "FrozenRouteHeader", "FrozenSDPAttribute",
    "FrozenSDPAttributeList", "FrozenSDPBandwidthInfo", "FrozenSDPConnection", "FrozenSDPMediaStream",
    "FrozenSDPSession", "FrozenSIPURI", "FrozenSubjectHeader", "FrozenSubscriptionStateHeader", "FrozenToHeader",
    "FrozenViaHeader", "FrozenWarningHeader", "Header", "ICECandidate", "IncomingReferral", "IncomingRequest",
    "IncomingSubscription", "Invitation", "MixerPort", "PAssertedIdentityHeader", "PJSIP_VERSION", "PJSIPError",
    "PPreferredIdentityHeader", "ReasonHeader", "RecordingWaveFile", "RecordRouteHeader", "Referral", "ReferToHeader",
    "RelayPort", "ReplacesHeader", "Request", "RetryAfterHeader", "RouteHeader", "RTPTransport", "SDPAttribute",
    "SDPAttributeList", "SDPBandwidthInfo", "SDPConnection", "SDPMediaStream", "SDPSession", "SIPCoreError",
    "SIPCoreInvalidStateError", "SIPURI", "SubjectHeader", "Subscription", "SubscriptionStateHeader",
    "SYSTEM_DEFAULT_DEVICE", "ToHeader", "ToneGenerator", "ViaHeader", "WarningHeader", "WaveFile",
]

cimport cython
from sipsimple.core._pjsip cimport *

include "util.pxi"
# SIP URIs and headers as value classes, and their PJSIP side.
include "text.pxi"
include "value_classes.pxi"
include "frozendict.pxi"
include "scanner.pxi"
include "uri.pxi"
include "credentials.pxi"
include "header_values.pxi"
include "address_headers.pxi"
include "token_headers.pxi"
include "pjsip_parser.pxi"
include "pjsip_headers.pxi"
include "sdp.pxi"
include "ua.pxi"
include "sound.pxi"
include "request.pxi"
include "dialog.pxi"
include "subscription.pxi"
include "referral.pxi"
include "invitation.pxi"
include "transfer.pxi"
include "mediatransport.pxi"

PJSIP_VERSION = PJ_VERSION.decode()
