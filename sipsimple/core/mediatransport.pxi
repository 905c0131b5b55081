# RTPTransport: the RTP/RTCP sockets of one media stream (plain UDP or ICE,
# optionally wrapped in SDES-keyed SRTP), and AudioTransport: a PJMEDIA
# audio stream over an RTPTransport, plugged into an AudioMixer slot.
# docs/api/media.md is the reference; this is the short version.
#
# States: the tables RTP_TRANSPORT and AUDIO_TRANSPORT in
# sipsimple/core/_states.py, drawn in docs/api/media.md; each class changes
# its state only in _change_state(), and RTPTransport its ice_state
# (RTP_TRANSPORT_ICE) only in _set_ice_state().
#
# RTPTransportDidInitialize is posted on reaching INIT (also without ICE,
# after the next poll), RTPTransportDidFail(reason) on failing to.
# ICE negotiation (after start() with ICE in both SDPs) reports
# RTPTransportICENegotiationStateDidChange(prev_state, state) and then
# RTPTransportICENegotiationDidSucceed(chosen_local_candidate,
# chosen_remote_candidate) or RTPTransportICENegotiationDidFail(reason).
#
# Threads:
#   * The ICE callbacks run in the Engine thread (PJNATH's sockets and timers
#     live on the SIP I/O queue and timer heap), holding the ICE group lock;
#     they only change our state and queue events (and a zero-delay timer to
#     close a transport whose gathering failed: never close from inside).
#   * The stream's DTMF callback runs in the thread that receives the RTP
#     (again the Engine thread) and only queues RTPAudioStreamGotDTMF. The
#     mixer's clock thread pulls and pushes audio frames through the stream's
#     port without ever taking the GIL.
#   * Every call into PJMEDIA that takes a PJMEDIA lock (transport, ICE group,
#     stream jitter buffer) is made with the GIL released, since the Engine
#     thread may hold that lock while it waits for the GIL in a callback.
#   * The RTP watchdog (timeout, hold_timeout) is a PJSIP timer: Engine thread.

import time

from sipsimple.core._states import AUDIO_TRANSPORT, RTP_TRANSPORT, RTP_TRANSPORT_ICE

ICECandidate = collections.namedtuple("ICECandidate", "type address port")
ICECandidate.__doc__ = "An ICE candidate: type (host, srflx, prflx, relay), address, port."

_RTP_ENCRYPTIONS = (None, "opportunistic", "sdes_mandatory")
# Offered in this order by default (the answerer takes the first it knows).
_DEFAULT_SRTP_SUITES = ("AEAD_AES_256_GCM", "AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
_TURN_TRANSPORTS = {"udp": PJ_TURN_TP_UDP, "tcp": PJ_TURN_TP_TCP, "tls": PJ_TURN_TP_TLS}
_ICE_CANDIDATE_TYPES = {PJ_ICE_CAND_TYPE_HOST: "host", PJ_ICE_CAND_TYPE_SRFLX: "srflx",
                        PJ_ICE_CAND_TYPE_PRFLX: "prflx", PJ_ICE_CAND_TYPE_RELAYED: "relay"}
_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_DTMF_DIGITS = "0123456789*#ABCD"

# Where the next walk of rtp_port_range starts (after the last pair taken).
cdef int _next_rtp_port = 0

cdef pjmedia_ice_cb _rtp_ice_callbacks


def available_srtp_suites():
    """The SDES crypto suites this build of PJMEDIA knows, in its order."""
    cdef pjmedia_srtp_crypto cryptos[16]
    cdef unsigned count = 16
    cdef unsigned i
    if pjmedia_srtp_enum_crypto(&count, cryptos) != PJ_SUCCESS:
        return []
    return [_pj_str_to_str(cryptos[i].name) for i in range(count)]


cdef object _sockaddr_address(const pj_sockaddr *address):
    cdef char buffer[PJ_INET6_ADDRSTRLEN + 1]
    if not pj_sockaddr_has_addr(address):
        return None
    pj_sockaddr_print(<pj_sockaddr *> address, buffer, sizeof(buffer), 0)
    return buffer.decode()


cdef PJSIPUA _media_ua():
    if _ua is None or _ua._endpt == NULL or _ua._media_endpt == NULL:
        raise SIPCoreInvalidStateError("Engine is not running")
    return _ua


cdef object _rtp_port_range():
    from sipsimple.core._engine import Engine
    return Engine().rtp_port_range


# --- RTPTransport ---------------------------------------------------------------------------------

@cython.auto_pickle(False)
cdef class RTPTransport:
    """The RTP and RTCP sockets of one media stream: UDP or ICE, with SRTP (SDES) on request.

    See docs/api/media.md. `encryption`: None (plain RTP), "opportunistic"
    (RTP/AVP with a=crypto: SRTP when the peer answers with a key, plain RTP
    otherwise) or "sdes_mandatory" (RTP/SAVP: SRTP or no call).
    """

    cdef pjmedia_transport *_obj        # what the stream uses: the SRTP wrapper, or the base
    cdef pjmedia_transport *_base       # UDP or ICE
    cdef PJSIPUA _ua
    cdef pj_timer_entry _close_timer
    cdef list _keep                     # bytes PJMEDIA may point at while the transport lives
    cdef object _remote_rtp             # (address, port) from the negotiated SDP
    cdef object _chosen_local
    cdef object _chosen_remote
    cdef readonly str state
    cdef readonly str ice_state
    cdef readonly object encryption
    cdef readonly bint use_ice
    cdef readonly object ice_stun_address
    cdef readonly int ice_stun_port
    cdef readonly object ice_turn_address
    cdef readonly int ice_turn_port
    cdef readonly object ice_turn_username
    cdef object _ice_turn_password
    cdef readonly str ice_turn_transport
    cdef readonly tuple srtp_suites
    cdef readonly bint ice_relay_only

    def __cinit__(self):
        self.state = RTP_TRANSPORT.initial
        self.ice_state = RTP_TRANSPORT_ICE.initial
        self._keep = []

    def __init__(self, encryption=None, use_ice=False, ice_stun_address=None, ice_stun_port=3478,
                 ice_turn_address=None, ice_turn_port=3478, ice_turn_username=None, ice_turn_password=None,
                 ice_turn_transport="udp", srtp_suites=None, ice_relay_only=False):
        if encryption not in _RTP_ENCRYPTIONS:
            raise ValueError("encryption must be one of %r, not %r" % (_RTP_ENCRYPTIONS, encryption))
        if ice_stun_address is not None and not isinstance(ice_stun_address, str):
            raise TypeError("ice_stun_address must be a str or None")
        if ice_turn_address is not None and not isinstance(ice_turn_address, str):
            raise TypeError("ice_turn_address must be a str or None")
        _check_int(ice_stun_port, "ice_stun_port", 1, 65535)
        _check_int(ice_turn_port, "ice_turn_port", 1, 65535)
        if ice_turn_transport not in _TURN_TRANSPORTS:
            raise ValueError("ice_turn_transport must be one of udp, tcp, tls")
        if (ice_stun_address or ice_turn_address) and not use_ice:
            raise ValueError("STUN and TURN servers are used by ICE only (use_ice=True)")
        if ice_relay_only and ice_turn_address is None:
            raise ValueError("ice_relay_only needs a TURN server (ice_turn_address)")
        if srtp_suites is None:
            known = available_srtp_suites()
            srtp_suites = tuple(name for name in _DEFAULT_SRTP_SUITES if name in known)
        else:
            if isinstance(srtp_suites, str):
                raise TypeError("srtp_suites must be a list of suite names")
            srtp_suites = tuple(srtp_suites)
            known = available_srtp_suites()
            for name in srtp_suites:
                if name not in known:
                    raise ValueError("Unknown SRTP crypto suite %r; available: %s" % (name, ", ".join(known)))
            if not srtp_suites or len(srtp_suites) > 8:
                raise ValueError("srtp_suites must name 1 to 8 suites")
        self.encryption = encryption
        self.use_ice = bool(use_ice)
        self.ice_stun_address = ice_stun_address
        self.ice_stun_port = ice_stun_port
        self.ice_turn_address = ice_turn_address
        self.ice_turn_port = ice_turn_port
        self.ice_turn_username = ice_turn_username
        self._ice_turn_password = ice_turn_password
        self.ice_turn_transport = ice_turn_transport
        self.srtp_suites = srtp_suites
        self.ice_relay_only = bool(ice_relay_only)

    def __repr__(self):
        return "<RTPTransport state=%s encryption=%r use_ice=%r>" % (self.state, self.encryption, self.use_ice)

    # --- set-up ------------------------------------------------------------------------------------

    def set_INIT(self):
        """Bind the sockets (from the Engine's rtp_port_range) and, with ICE, start gathering candidates.

        Without ICE the transport is INIT when this returns; with ICE it is
        WAIT_STUN until the candidates are gathered. RTPTransportDidInitialize
        (or RTPTransportDidFail) follows either way.
        """
        cdef PJSIPUA ua
        RTP_TRANSPORT.require(self.state, "set_INIT", SIPCoreInvalidStateError)
        ua = _media_ua()
        _check_thread()
        self._ua = ua
        ua._live_objects.add(self)
        try:
            if self.use_ice:
                self._change_state("gather")
                self._set_ice_state("gather", False)
                self._create_ice(ua)
            else:
                self._create_udp(ua)
            if self.encryption is not None:
                self._wrap_srtp(ua)
            else:
                self._obj = self._base
        except BaseException:
            self._close()
            raise
        if not self.use_ice:
            self._change_state("set_INIT")
            ua._add_event("RTPTransportDidInitialize", dict(), self)
        elif self.state == "INVALID":
            # Gathering failed within pjmedia_ice_create3 (the failure was reported).
            self._close()
        return None

    cdef int _create_udp(self, PJSIPUA ua) except -1:
        global _next_rtp_port
        cdef pjmedia_transport *tp = NULL
        cdef pj_str_t address
        cdef pj_str_t *address_ptr = NULL
        cdef int status = PJ_SUCCESS
        cdef int port
        cdef int af = ua._af
        start, end = _rtp_port_range()
        first = start + (start % 2)
        count = (end - first) // 2          # pairs (p, p + 1) with p + 1 < end
        encoded = ua.ip_address.encode()
        if ua.ip_address not in ("0.0.0.0", "::"):
            _set_pj_str(&address, encoded)
            address_ptr = &address
        if not first <= _next_rtp_port < first + 2 * count:
            _next_rtp_port = first
        for attempt in range(count):
            port = first + ((_next_rtp_port - first) // 2 + attempt) % count * 2
            with nogil:
                status = pjmedia_transport_udp_create3(ua._media_endpt, af, "rtp", address_ptr, port, 0, &tp)
            if status == PJ_SUCCESS:
                _next_rtp_port = port + 2
                self._base = tp
                return 0
        if count <= 0:
            raise SIPCoreError("rtp_port_range %r holds no RTP/RTCP port pair" % ((start, end),))
        raise PJSIPError("No free RTP/RTCP port pair in rtp_port_range %r" % ((start, end),), status)

    cdef int _create_ice(self, PJSIPUA ua) except -1:
        cdef pj_ice_strans_cfg cfg
        cdef pjmedia_transport *tp = NULL
        cdef pj_str_t host
        cdef int status
        start, end = _rtp_port_range()
        pj_ice_strans_cfg_default(&cfg)
        pj_stun_config_init(&cfg.stun_cfg, &ua._caching_pool.factory, 0, pjsip_endpt_get_ioqueue(ua._endpt),
                            pjsip_endpt_get_timer_heap(ua._endpt))
        cfg.af = ua._af
        # One STUN socket per component gives the host candidate (the
        # Engine's address, loopback included when that is what it is bound
        # to) and, with a STUN server, the server-reflexive one.
        # With ice_relay_only there is none: the TURN allocation's relayed
        # address is the only candidate (a policy like WebRTC's "relay", for
        # privacy or for networks where only the relay gets through).
        cfg.stun_tp_cnt = 0 if self.ice_relay_only else 1
        # (PJNATH falls back to the deprecated single cfg.stun, with host
        # candidates from every interface, when stun_tp_cnt is 0 and it still
        # asks for host candidates: it must not.)
        cfg.stun.max_host_cands = 0
        pj_ice_strans_stun_cfg_default(&cfg.stun_tp[0])
        cfg.stun_tp[0].af = ua._af
        bound = ua.ip_address if ua.ip_address not in ("0.0.0.0", "::") else ""
        encoded_host = bound.encode()
        self._keep.append(encoded_host)
        _set_pj_str(&host, encoded_host)
        pj_sockaddr_init(ua._af, &cfg.stun_tp[0].cfg.bound_addr, &host, start)
        cfg.stun_tp[0].cfg.port_range = end - start
        cfg.stun_tp[0].loop_addr = PJ_TRUE if bound else PJ_FALSE
        if self.ice_stun_address is not None:
            encoded = self.ice_stun_address.encode()
            self._keep.append(encoded)
            _set_pj_str(&cfg.stun_tp[0].server, encoded)
            cfg.stun_tp[0].port = self.ice_stun_port
        if self.ice_turn_address is not None:
            cfg.turn_tp_cnt = 1
            pj_ice_strans_turn_cfg_default(&cfg.turn_tp[0])
            cfg.turn_tp[0].af = ua._af
            pj_sockaddr_init(ua._af, &cfg.turn_tp[0].cfg.bound_addr, &host, 0)
            encoded = self.ice_turn_address.encode()
            self._keep.append(encoded)
            _set_pj_str(&cfg.turn_tp[0].server, encoded)
            cfg.turn_tp[0].port = self.ice_turn_port
            cfg.turn_tp[0].conn_type = _TURN_TRANSPORTS[self.ice_turn_transport]
            if self.ice_turn_username is not None:
                username = self.ice_turn_username.encode()
                password = (self._ice_turn_password or "").encode()
                self._keep.extend([username, password])
                cfg.turn_tp[0].auth_cred.type = PJ_STUN_AUTH_CRED_STATIC
                _set_pj_str(&cfg.turn_tp[0].auth_cred.data.static_cred.username, username)
                cfg.turn_tp[0].auth_cred.data.static_cred.data_type = PJ_STUN_PASSWD_PLAIN
                _set_pj_str(&cfg.turn_tp[0].auth_cred.data.static_cred.data, password)
        _rtp_ice_callbacks.on_ice_complete = _cb_rtp_ice_complete
        # The completion of gathering may be reported from inside this call.
        with nogil:
            status = pjmedia_ice_create3(ua._media_endpt, "ice", 2, &cfg, &_rtp_ice_callbacks, 0, <void *> self, &tp)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the ICE media transport", status)
        self._base = tp
        return 0

    cdef int _wrap_srtp(self, PJSIPUA ua) except -1:
        cdef pjmedia_srtp_setting setting
        cdef pjmedia_transport *srtp = NULL
        cdef int status
        cdef unsigned i
        pjmedia_srtp_setting_default(&setting)
        setting.use = PJMEDIA_SRTP_MANDATORY if self.encryption == "sdes_mandatory" else PJMEDIA_SRTP_OPTIONAL
        setting.close_member_tp = PJ_TRUE
        setting.keying_count = 1
        setting.keying[0] = PJMEDIA_SRTP_KEYING_SDES
        setting.crypto_count = len(self.srtp_suites)
        for i, name in enumerate(self.srtp_suites):
            encoded = name.encode()
            self._keep.append(encoded)
            _set_pj_str(&setting.crypto[i].name, encoded)
            setting.crypto[i].key.slen = 0
            setting.crypto[i].flags = 0
        with nogil:
            status = pjmedia_transport_srtp_create(ua._media_endpt, self._base, &setting, &srtp)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the SRTP transport", status)
        self._obj = srtp
        return 0

    # --- teardown ----------------------------------------------------------------------------------

    def close(self):
        """Close the sockets now (state INVALID). AudioTransport.stop() does this for its transport."""
        if self._ua is not None and self._ua._endpt != NULL:
            _check_thread()
        self._close()

    cdef void _close(self):
        cdef pjmedia_transport *tp = self._obj if self._obj != NULL else self._base
        cdef PJSIPUA ua = self._ua
        self._obj = NULL
        self._base = NULL
        if ua is not None and ua._endpt != NULL:
            _cancel_timer(ua._endpt, &self._close_timer)
        if tp != NULL:
            with nogil:
                pjmedia_transport_close(tp)      # the SRTP wrapper closes its member too
        self._change_state("close")
        if ua is not None:
            ua._live_objects.discard(self)

    cdef void _close_later(self):
        # From a PJNATH callback, which holds the ICE group lock: the
        # transport is closed from a timer instead.
        cdef pj_time_val delay
        if self._ua is None or self._ua._endpt == NULL or self._close_timer.id != 0:
            return
        delay.sec = 0
        delay.msec = 0
        self._close_timer.user_data = <void *> self
        self._close_timer.cb = _cb_rtp_close_timer
        if pjsip_endpt_schedule_timer(self._ua._endpt, &self._close_timer, &delay) == PJ_SUCCESS:
            self._close_timer.id = 1

    # --- used by AudioTransport --------------------------------------------------------------------

    cdef int _change_state(self, str event) except -1:
        # The one place where state changes: to where RTP_TRANSPORT says `event` leads.
        self.state = RTP_TRANSPORT.next(self.state, event)
        return 0

    cdef int _media_create(self, pj_pool_t *pool, pjmedia_sdp_session *remote, unsigned index) except -1:
        cdef int status
        RTP_TRANSPORT.require(self.state, "create_media", SIPCoreInvalidStateError)
        with nogil:
            status = pjmedia_transport_media_create(self._obj, pool, 0, remote, index)
        if status != PJ_SUCCESS:
            raise PJSIPError("The media transport refused the session", status)
        self._change_state("create_media")
        return 0

    cdef int _encode_sdp(self, pj_pool_t *pool, pjmedia_sdp_session *local, pjmedia_sdp_session *remote,
                         unsigned index) except -1:
        cdef int status
        if self._obj == NULL:
            raise SIPCoreInvalidStateError("The RTPTransport is closed")
        with nogil:
            status = pjmedia_transport_encode_sdp(self._obj, pool, local, remote, index)
        if status != PJ_SUCCESS:
            raise PJSIPError("The media transport could not describe itself in the SDP", status)
        return 0

    cdef int _media_start(self, pj_pool_t *pool, pjmedia_sdp_session *local, pjmedia_sdp_session *remote,
                          unsigned index, object remote_rtp) except -1:
        cdef int status
        RTP_TRANSPORT.require(self.state, "start_media", SIPCoreInvalidStateError)
        with nogil:
            status = pjmedia_transport_media_start(self._obj, pool, local, remote, index)
        if status != PJ_SUCCESS:
            raise PJSIPError("The media transport could not start", status)
        self._remote_rtp = remote_rtp
        self._change_state("start_media")
        if self.use_ice:
            if self.ice_active:
                if self.ice_state != "RUNNING":
                    self._set_ice_state("negotiate", True)
            else:
                self._set_ice_state("peer_without_ice", True)
        return 0

    cdef int _set_ice_state(self, str event, bint announce) except -1:
        # The one place where ice_state changes: to where RTP_TRANSPORT_ICE
        # says `event` leads; nothing when it is there already (a renegotiation).
        if self.ice_state in RTP_TRANSPORT_ICE.targets(event):
            return 0
        prev_state, self.ice_state = self.ice_state, RTP_TRANSPORT_ICE.next(self.ice_state, event)
        if announce and self._ua is not None:
            self._ua._add_event("RTPTransportICENegotiationStateDidChange",
                                dict(prev_state=prev_state, state=self.ice_state), self)
        return 0

    # --- what it is --------------------------------------------------------------------------------

    cdef int _info(self, pjmedia_transport_info *info) except -1:
        cdef int status
        if self._obj == NULL:
            raise SIPCoreInvalidStateError("The RTPTransport is not initialized (state %s)" % self.state)
        pjmedia_transport_info_init(info)
        with nogil:
            status = pjmedia_transport_get_info(self._obj, info)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not read the media transport's state", status)
        return 0

    @property
    def local_rtp_address(self):
        cdef pjmedia_transport_info info
        if self._obj == NULL or self.state == "WAIT_STUN":
            return None
        self._info(&info)
        return _sockaddr_address(&info.sock_info.rtp_addr_name)

    @property
    def local_rtp_port(self):
        cdef pjmedia_transport_info info
        if self._obj == NULL or self.state == "WAIT_STUN":
            return None
        self._info(&info)
        return pj_sockaddr_get_port(&info.sock_info.rtp_addr_name)

    @property
    def remote_rtp_address(self):
        candidate = self.remote_rtp_candidate
        if candidate is not None:
            return candidate.address
        return None if self._remote_rtp is None or self._obj == NULL else self._remote_rtp[0]

    @property
    def remote_rtp_port(self):
        candidate = self.remote_rtp_candidate
        if candidate is not None:
            return candidate.port
        return None if self._remote_rtp is None or self._obj == NULL else self._remote_rtp[1]

    @property
    def srtp_active(self):
        cdef pjmedia_transport_info info
        cdef pjmedia_srtp_info *srtp
        if self._obj == NULL or self.encryption is None or self.state != "ESTABLISHED":
            return False
        self._info(&info)
        srtp = <pjmedia_srtp_info *> pjmedia_transport_info_get_spc_info(&info, PJMEDIA_TRANSPORT_TYPE_SRTP)
        return srtp != NULL and bool(srtp.active)

    @property
    def srtp_cipher(self):
        """The SDES suite in use (AES_CM_128_HMAC_SHA1_80, ...), or None when SRTP is not active."""
        cdef pjmedia_transport_info info
        cdef pjmedia_srtp_info *srtp
        if self._obj == NULL or self.encryption is None or self.state != "ESTABLISHED":
            return None
        self._info(&info)
        srtp = <pjmedia_srtp_info *> pjmedia_transport_info_get_spc_info(&info, PJMEDIA_TRANSPORT_TYPE_SRTP)
        if srtp == NULL or not srtp.active:
            return None
        return _pj_str_to_str(srtp.tx_policy.name)

    @property
    def ice_active(self):
        """True when both SDPs had ICE and the negotiation is under way or done."""
        cdef pjmedia_transport_info info
        cdef pjmedia_ice_transport_info *ice
        if self._obj == NULL or not self.use_ice or self.state != "ESTABLISHED":
            return False
        self._info(&info)
        ice = <pjmedia_ice_transport_info *> pjmedia_transport_info_get_spc_info(&info, PJMEDIA_TRANSPORT_TYPE_ICE)
        return ice != NULL and bool(ice.active)

    @property
    def local_rtp_candidate(self):
        """The local ICECandidate ICE chose for RTP, or None."""
        return self._chosen_local if self._obj != NULL else None

    @property
    def remote_rtp_candidate(self):
        """The remote ICECandidate ICE chose for RTP, or None."""
        return self._chosen_remote if self._obj != NULL else None

    cdef int _read_chosen_candidates(self) except -1:
        cdef pjmedia_transport_info info
        cdef pjmedia_ice_transport_info *ice
        self._info(&info)
        ice = <pjmedia_ice_transport_info *> pjmedia_transport_info_get_spc_info(&info, PJMEDIA_TRANSPORT_TYPE_ICE)
        if ice == NULL or ice.comp_cnt < 1:
            return 0
        self._chosen_local = ICECandidate(_ICE_CANDIDATE_TYPES.get(ice.comp[0].lcand_type, "unknown"),
                                          _sockaddr_address(&ice.comp[0].lcand_addr),
                                          pj_sockaddr_get_port(&ice.comp[0].lcand_addr))
        self._chosen_remote = ICECandidate(_ICE_CANDIDATE_TYPES.get(ice.comp[0].rcand_type, "unknown"),
                                           _sockaddr_address(&ice.comp[0].rcand_addr),
                                           pj_sockaddr_get_port(&ice.comp[0].rcand_addr))
        return 0


cdef void _cb_rtp_ice_complete(pjmedia_transport *tp, pj_ice_strans_op op, pj_status_t status) noexcept with gil:
    # Engine thread (or the thread in pjmedia_ice_create3), ICE group lock
    # held. tp.user_data is the RTPTransport (set by pjmedia_ice_create3
    # before anything can call back).
    cdef PJSIPUA ua = _ua
    cdef RTPTransport transport
    if ua is None or tp == NULL or tp.user_data == NULL:
        return
    transport = <RTPTransport> tp.user_data
    try:
        if transport.state == "INVALID":
            return
        if op == PJ_ICE_STRANS_OP_INIT:
            if status == PJ_SUCCESS:
                transport._change_state("gathered")
                transport._set_ice_state("gathered", False)
                ua._add_event("RTPTransportDidInitialize", dict(), transport)
            else:
                transport._change_state("gathering_failed")
                transport._set_ice_state("gathering_failed", False)
                ua._add_event("RTPTransportDidFail", dict(reason=_pj_status_to_str(status)), transport)
                transport._close_later()
        elif op == PJ_ICE_STRANS_OP_NEGOTIATION:
            if status == PJ_SUCCESS:
                transport._read_chosen_candidates()
                transport._set_ice_state("negotiation_succeeded", True)
                ua._add_event("RTPTransportICENegotiationDidSucceed", dict(
                    chosen_local_candidate=transport._chosen_local,
                    chosen_remote_candidate=transport._chosen_remote), transport)
            else:
                transport._set_ice_state("negotiation_failed", True)
                ua._add_event("RTPTransportICENegotiationDidFail", dict(reason=_pj_status_to_str(status)),
                              transport)
    except BaseException:
        _report_callback_exception()


cdef void _cb_rtp_close_timer(pj_timer_heap_t *heap, pj_timer_entry *entry) noexcept with gil:
    cdef PJSIPUA ua = _ua
    cdef RTPTransport transport
    if ua is None or entry.user_data == NULL:
        return
    entry.id = 0
    transport = <RTPTransport> entry.user_data
    try:
        transport._close()
    except BaseException:
        _report_callback_exception()


# --- AudioTransport -------------------------------------------------------------------------------

_PJMEDIA_DIRECTIONS = {"sendrecv": PJMEDIA_DIR_ENCODING_DECODING, "sendonly": PJMEDIA_DIR_ENCODING,
                       "recvonly": PJMEDIA_DIR_DECODING, "inactive": PJMEDIA_DIR_NONE}
_DIRECTION_NAMES = {PJMEDIA_DIR_ENCODING_DECODING: "sendrecv", PJMEDIA_DIR_ENCODING: "sendonly",
                    PJMEDIA_DIR_DECODING: "recvonly", PJMEDIA_DIR_NONE: "inactive"}
# How often the RTP watchdog looks at the receive counters.
cdef int _WATCHDOG_PERIOD_MS = 500


cdef object _codec_filter(object codecs):
    # ["opus", "speex/16000"] -> [(name lower, rate or None)]
    result = []
    for codec in codecs:
        if not isinstance(codec, str) or not codec:
            raise TypeError("codec names must be non-empty str")
        name, _, rate = codec.partition("/")
        result.append((name.lower(), int(rate) if rate else None))
    return result


cdef bint _codec_matches(object entry, object wanted):
    name, rate, _ = entry
    return any(name.lower() == want_name and (want_rate is None or want_rate == rate)
               for want_name, want_rate in wanted)


@cython.auto_pickle(False)
cdef class AudioTransport:
    """An RTP audio stream over an RTPTransport, connected to the AudioMixer at `slot`. See docs/api/media.md."""

    cdef PJSIPUA _ua
    cdef pj_pool_t *_pool
    cdef pjmedia_stream *_stream
    cdef pj_timer_entry _watchdog
    cdef object _codecs
    cdef AudioMixer _mixer
    cdef readonly RTPTransport transport
    cdef readonly str state
    cdef readonly object slot
    cdef readonly object codec
    cdef readonly object sample_rate
    cdef readonly object direction
    cdef readonly bint enable_silence_detection
    # watchdog
    cdef object _timeout
    cdef object _hold_timeout
    cdef unsigned _last_rx_packets
    cdef double _rx_idle_since
    cdef object _hold_since
    cdef bint _hold_reported

    def __cinit__(self):
        self.state = AUDIO_TRANSPORT.initial

    def __init__(self, AudioMixer mixer not None, RTPTransport transport not None, remote_sdp=None, sdp_index=0,
                 enable_silence_detection=False, codecs=None):
        cdef PJSIPUA ua = _media_ua()
        cdef pjmedia_sdp_session *remote = NULL
        AUDIO_TRANSPORT.require(self.state, "__init__", SIPCoreInvalidStateError)
        RTP_TRANSPORT.require(transport.state, "create_media", SIPCoreInvalidStateError)
        _check_int(sdp_index, "sdp_index", 0, PJMEDIA_MAX_SDP_MEDIA - 1)
        self._codecs = None if codecs is None else _codec_filter(codecs)
        _check_thread()
        self._ua = ua
        self._mixer = mixer
        self.transport = transport
        self.enable_silence_detection = bool(enable_silence_detection)
        self._pool = pjmedia_endpt_create_pool(ua._media_endpt, "audio_transport", 4096, 4096)
        if self._pool == NULL:
            raise MemoryError("Could not allocate a memory pool")
        ua._live_objects.add(self)
        try:
            if remote_sdp is not None:
                remote = _pjmedia_sdp_from_sdp(self._pool, remote_sdp)
                if sdp_index >= len(remote_sdp.media):
                    raise ValueError("sdp_index %d is beyond the remote SDP's %d media"
                                     % (sdp_index, len(remote_sdp.media)))
            transport._media_create(self._pool, remote, sdp_index)
        except BaseException:
            self._release()
            raise
        self._change_state("create")

    @property
    def mixer(self):
        return self._mixer

    def __repr__(self):
        return "<AudioTransport state=%s codec=%r slot=%r>" % (self.state, self.codec, self.slot)

    # --- SDP -----------------------------------------------------------------------------------------

    def get_local_media(self, remote_sdp=None, index=0, direction="sendrecv"):
        """The SDPMediaStream to put at `index` of our offer (remote_sdp None) or of our answer to remote_sdp.

        Codecs: the Engine's, in its order, narrowed to this transport's
        `codecs` and, for an answer, to what the offer has; telephone-event;
        the transport adds its ICE candidates and a=crypto lines.
        """
        cdef PJSIPUA ua = _media_ua()
        cdef pjmedia_transport_info info
        cdef pjmedia_sdp_session *generated = NULL
        cdef pjmedia_sdp_session *local = NULL
        cdef pjmedia_sdp_session *remote = NULL
        cdef pj_pool_t *pool = NULL
        cdef int status
        AUDIO_TRANSPORT.require(self.state, "get_local_media", SIPCoreInvalidStateError)
        if direction not in _DIRECTIONS:
            raise ValueError("direction must be one of %s" % ", ".join(_DIRECTIONS))
        _check_int(index, "index", 0, PJMEDIA_MAX_SDP_MEDIA - 1)
        _check_thread()
        self.transport._info(&info)
        pool = pjmedia_endpt_create_pool(ua._media_endpt, "audio_sdp", 4096, 4096)
        if pool == NULL:
            raise MemoryError("Could not allocate a memory pool")
        try:
            with nogil:
                status = pjmedia_endpt_create_sdp(ua._media_endpt, pool, 1, &info.sock_info, &generated)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not describe the audio codecs", status)
            template = _frozen_sdp_from_pjmedia(generated)
        finally:
            pj_pool_release(pool)
        stream = SDPMediaStream.new(template.media[0])
        remote_media = None
        if remote_sdp is not None:
            if index >= len(remote_sdp.media):
                raise ValueError("index %d is beyond the remote SDP's %d media" % (index, len(remote_sdp.media)))
            remote_media = remote_sdp.media[index]
        self._narrow_codecs(stream, remote_media)
        stream.direction = direction
        # The transport writes into a whole session, with ours at `index`.
        session = SDPSession(template.address, connection=template.connection,
                             media=[SDPMediaStream("audio", 0, "RTP/AVP", formats=["0"]) for _ in range(index)]
                             + [stream])
        local = _pjmedia_sdp_from_sdp(self._pool, session)
        if remote_sdp is not None:
            remote = _pjmedia_sdp_from_sdp(self._pool, remote_sdp)
        self.transport._encode_sdp(self._pool, local, remote, index)
        encoded = _frozen_sdp_from_pjmedia(local)
        result = SDPMediaStream.new(encoded.media[index])
        if result.connection is None:
            result.connection = SDPConnection.new(encoded.connection)
        return result

    cdef int _narrow_codecs(self, object stream, object remote_media) except -1:
        rtpmap = stream.rtpmap
        offered = None
        if remote_media is not None:
            offered = [(name.lower(), rate) for name, rate, _ in remote_media.rtpmap.values()]
        keep = []
        for fmt in stream.formats:
            entry = rtpmap.get(fmt)
            if entry is None:
                continue
            is_event = entry[0].lower() == "telephone-event"
            if not is_event and self._codecs is not None and not _codec_matches(entry, self._codecs):
                continue
            if offered is not None and (entry[0].lower(), entry[1]) not in offered:
                continue
            keep.append(fmt)
        if not [fmt for fmt in keep if rtpmap[fmt][0].lower() != "telephone-event"]:
            raise SIPCoreError("No codec in common (ours: %s)" % ", ".join(
                "%s/%d" % rtpmap[fmt][:2] for fmt in stream.formats if fmt in rtpmap))
        stream.formats = keep
        attributes = []
        for attribute in stream.attributes:
            if attribute.name in ("rtpmap", "fmtp") and attribute.value and attribute.value.split(" ")[0] not in keep:
                continue
            attributes.append(attribute)
        stream.attributes = attributes
        return 0

    # --- the stream ----------------------------------------------------------------------------------

    def start(self, local_sdp, remote_sdp, sdp_index, hold_timeout=None, timeout=30):
        """Start the stream with the negotiated SDPs (Invitation's local_sdp and remote_sdp).

        Called again while started (a renegotiation that changed more than
        the direction), it rebuilds the stream on the same transport: `slot`
        may change. timeout: seconds without RTP, while RTP is expected,
        before RTPAudioTransportDidNotGetRTP (None: never). hold_timeout:
        seconds on hold (direction not sendrecv) before
        RTPAudioTransportDidTimeout (None: never).
        """
        cdef PJSIPUA ua = _media_ua()
        cdef pjmedia_sdp_session *local = NULL
        cdef pjmedia_sdp_session *remote = NULL
        cdef pjmedia_stream_info info
        cdef pjmedia_stream *stream = NULL
        cdef pjmedia_port *port = NULL
        cdef int status
        cdef unsigned index
        AUDIO_TRANSPORT.require(self.state, "start", SIPCoreInvalidStateError)
        _check_int(sdp_index, "sdp_index", 0, PJMEDIA_MAX_SDP_MEDIA - 1)
        index = sdp_index
        for name, value in (("timeout", timeout), ("hold_timeout", hold_timeout)):
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0):
                raise ValueError("%s must be a positive number of seconds or None" % name)
        if sdp_index >= len(local_sdp.media) or sdp_index >= len(remote_sdp.media):
            raise ValueError("sdp_index %d is beyond the SDPs' media" % sdp_index)
        if local_sdp.media[sdp_index].port == 0 or remote_sdp.media[sdp_index].port == 0:
            raise SIPCoreError("The audio stream was rejected (port 0)")
        _check_thread()
        local = _pjmedia_sdp_from_sdp(self._pool, local_sdp)
        remote = _pjmedia_sdp_from_sdp(self._pool, remote_sdp)
        with nogil:
            status = pjmedia_stream_info_from_sdp(&info, self._pool, ua._media_endpt, local, remote, index)
        if status != PJ_SUCCESS:
            raise PJSIPError("No audio stream can be made of the SDPs", status)
        if self._stream != NULL:
            self._destroy_stream()
        remote_media = remote_sdp.media[sdp_index]
        remote_connection = remote_media.connection or remote_sdp.connection
        self.transport._media_start(self._pool, local, remote, sdp_index,
                                    (remote_connection.address if remote_connection is not None else None,
                                     remote_media.port))
        negotiated = _DIRECTION_NAMES.get(info.dir, "inactive")
        # Created for both directions, then paused as negotiated, so that
        # update_direction() can turn either way back on.
        info.dir = PJMEDIA_DIR_ENCODING_DECODING
        if info.param != NULL:
            info.param.setting.vad = 1 if self.enable_silence_detection else 0
        with nogil:
            status = pjmedia_stream_create(ua._media_endpt, NULL, &info, self.transport._obj, NULL, &stream)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the audio stream", status)
        self._stream = stream
        try:
            with nogil:
                status = pjmedia_stream_set_dtmf_callback(stream, _cb_audio_dtmf, <void *> self)
            if status == PJ_SUCCESS:
                with nogil:
                    status = pjmedia_stream_start(stream)
            if status == PJ_SUCCESS:
                status = pjmedia_stream_get_port(stream, &port)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not start the audio stream", status)
            self._apply_direction(negotiated)
            self.slot = self._mixer._add_port(self._pool, port)
        except BaseException:
            self._destroy_stream()
            raise
        self.codec = _pj_str_to_str(info.fmt.encoding_name)
        self.sample_rate = info.fmt.clock_rate
        self._timeout = timeout
        self._hold_timeout = hold_timeout
        self._last_rx_packets = 0
        self._rx_idle_since = time.monotonic()
        self._hold_since = None
        self._hold_reported = False
        self._change_state("start")
        self._schedule_watchdog()

    def update_direction(self, direction):
        """Apply a renegotiated direction (ours, as in our local SDP) to the running stream."""
        AUDIO_TRANSPORT.require(self.state, "update_direction", SIPCoreInvalidStateError)
        if direction not in _DIRECTIONS:
            raise ValueError("direction must be one of %s" % ", ".join(_DIRECTIONS))
        _check_thread()
        self._apply_direction(direction)

    cdef int _apply_direction(self, str direction) except -1:
        cdef pjmedia_stream *stream = self._stream
        cdef int wanted = _PJMEDIA_DIRECTIONS[direction]
        cdef int on = wanted
        cdef int off = PJMEDIA_DIR_ENCODING_DECODING & ~wanted
        if stream == NULL:
            return 0
        with nogil:
            if on != PJMEDIA_DIR_NONE:
                pjmedia_stream_resume(stream, <pjmedia_dir> on)
            if off != PJMEDIA_DIR_NONE:
                pjmedia_stream_pause(stream, <pjmedia_dir> off)
        if direction in ("sendrecv", "recvonly") and self.direction not in ("sendrecv", "recvonly"):
            self._rx_idle_since = time.monotonic()     # RTP is expected again from now on
        self.direction = direction
        return 0

    def send_dtmf(self, digit):
        """Send one DTMF digit (0-9, *, #, A-D) as RFC 4733 telephone-events."""
        cdef pj_str_t digits
        cdef int status
        AUDIO_TRANSPORT.require(self.state, "send_dtmf", SIPCoreInvalidStateError)
        if self._stream == NULL:
            raise SIPCoreInvalidStateError("AudioTransport.send_dtmf(): the stream is gone")
        if not isinstance(digit, str) or len(digit) != 1 or digit.upper() not in _DTMF_DIGITS:
            raise ValueError("digit must be one of %s" % _DTMF_DIGITS)
        _check_thread()
        encoded = digit.upper().encode()
        _set_pj_str(&digits, encoded)
        with nogil:
            status = pjmedia_stream_dial_dtmf(self._stream, &digits)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send DTMF (does the peer take telephone-event?)", status)

    @property
    def statistics(self):
        """RTP/RTCP counters: rx and tx (packets, bytes, packets_lost, packets_discarded, packets_reordered,
        packets_duplicated, jitter) and rtt; jitter and rtt as dicts of count/last/min/avg/max in
        microseconds (tx loss and jitter as the peer reports them in RTCP)."""
        cdef pjmedia_rtcp_stat stat
        cdef int status
        if self._stream == NULL:
            return None
        with nogil:
            status = pjmedia_stream_get_stat(self._stream, &stat)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not read the stream's statistics", status)
        return dict(rx=_stream_stat(&stat.rx), tx=_stream_stat(&stat.tx), rtt=_math_stat(&stat.rtt))

    def stop(self):
        """End the stream: out of the mixer, stream destroyed, the RTPTransport closed (INVALID)."""
        if self.state == "STOPPED":
            return
        if self._ua is not None and self._ua._endpt != NULL:
            _check_thread()
        self._release()

    cdef void _destroy_stream(self):
        cdef pjmedia_stream *stream = self._stream
        cdef PJSIPUA ua = self._ua
        if ua is not None and ua._endpt != NULL:
            _cancel_timer(ua._endpt, &self._watchdog)
        if self.slot is not None:
            slot, self.slot = self.slot, None
            try:
                self._mixer._remove_port(slot)
            except BaseException:
                if ua is not None:
                    ua._add_exception()
        self._stream = NULL
        if stream != NULL:
            with nogil:
                pjmedia_stream_destroy(stream)

    cdef void _release(self):
        cdef PJSIPUA ua = self._ua
        self._destroy_stream()
        if self.transport is not None:
            if self.transport._obj != NULL and self.transport.state in ("LOCAL", "ESTABLISHED"):
                with nogil:
                    pjmedia_transport_media_stop(self.transport._obj)
            self.transport._close()
        if self._pool != NULL:
            pj_pool_release(self._pool)
            self._pool = NULL
        self._change_state("stop")
        if ua is not None:
            ua._live_objects.discard(self)

    cdef int _change_state(self, str event) except -1:
        # The one place where state changes: to where AUDIO_TRANSPORT says `event` leads.
        self.state = AUDIO_TRANSPORT.next(self.state, event)
        return 0

    def __dealloc__(self):
        # Normally stop() or the Engine's stop came first; it is kept in the
        # Engine's live objects for as long as it has PJMEDIA state.
        if self._pool != NULL and _ua is not None and _ua._media_endpt != NULL:
            pj_pool_release(self._pool)
            self._pool = NULL

    # --- the RTP watchdog (Engine thread) ------------------------------------------------------------

    cdef void _schedule_watchdog(self):
        cdef pj_time_val delay
        if self._timeout is None and self._hold_timeout is None:
            return
        if self._ua is None or self._ua._endpt == NULL or self._watchdog.id != 0:
            return
        delay.sec = 0
        delay.msec = _WATCHDOG_PERIOD_MS
        self._watchdog.user_data = <void *> self
        self._watchdog.cb = _cb_audio_watchdog
        if pjsip_endpt_schedule_timer(self._ua._endpt, &self._watchdog, &delay) == PJ_SUCCESS:
            self._watchdog.id = 1

    cdef int _watch(self) except -1:
        cdef pjmedia_rtcp_stat stat
        if self._stream == NULL or self.state != "STARTED":
            return 0
        pjmedia_stream_get_stat(self._stream, &stat)
        now = time.monotonic()
        receiving = self.direction in ("sendrecv", "recvonly")
        if stat.rx.pkt != self._last_rx_packets or not receiving:
            self._last_rx_packets = stat.rx.pkt
            self._rx_idle_since = now
        elif self._timeout is not None and now - self._rx_idle_since >= self._timeout:
            self._ua._add_event("RTPAudioTransportDidNotGetRTP", dict(got_any=stat.rx.pkt > 0,
                                                                      timeout=self._timeout), self)
            self._rx_idle_since = now           # again after another `timeout` of silence
        if self.direction == "sendrecv":
            self._hold_since = None
            self._hold_reported = False
        elif self._hold_since is None:
            self._hold_since = now
        elif (self._hold_timeout is not None and not self._hold_reported
              and now - self._hold_since >= self._hold_timeout):
            self._hold_reported = True
            self._ua._add_event("RTPAudioTransportDidTimeout", dict(hold_timeout=self._hold_timeout), self)
        return 0


cdef dict _math_stat(pj_math_stat *stat):
    return dict(count=stat.n, last=stat.last, min=stat.min if stat.n else 0, avg=stat.mean, max=stat.max)


cdef dict _stream_stat(pjmedia_rtcp_stream_stat *stat):
    return dict(packets=stat.pkt, bytes=stat.bytes, packets_lost=stat.loss, packets_discarded=stat.discard,
                packets_reordered=stat.reorder, packets_duplicated=stat.dup, jitter=_math_stat(&stat.jitter))


cdef void _cb_audio_dtmf(pjmedia_stream *stream, void *user_data, int digit) noexcept with gil:
    # The thread that received the RTP packet (the Engine thread): queue only.
    cdef PJSIPUA ua = _ua
    if ua is None or user_data == NULL:
        return
    try:
        ua._add_event("RTPAudioStreamGotDTMF", dict(digit=chr(digit)), <AudioTransport> user_data)
    except BaseException:
        _report_callback_exception()


cdef void _cb_audio_watchdog(pj_timer_heap_t *heap, pj_timer_entry *entry) noexcept with gil:
    cdef PJSIPUA ua = _ua
    cdef AudioTransport audio
    if ua is None or entry.user_data == NULL:
        return
    entry.id = 0
    audio = <AudioTransport> entry.user_data
    try:
        audio._watch()
        audio._schedule_watchdog()
    except BaseException:
        _report_callback_exception()


cdef int _media_transports_engine_stopping(PJSIPUA ua) except -1:
    # From PJSIPUA.destroy(), before the mixer, the media endpoint and the I/O
    # queue go: streams first (out of the mixer), then their sockets.
    for obj in list(ua._live_objects):
        if isinstance(obj, AudioTransport):
            (<AudioTransport> obj)._release()
    for obj in list(ua._live_objects):
        if isinstance(obj, RTPTransport):
            (<RTPTransport> obj)._close()
    return 0
