# Invitation: an INVITE session (RFC 3261 section 13-15, offer/answer RFC 3264)
# on PJSIP's invite usage, which also brings 100rel/PRACK (RFC 3262), UPDATE
# (RFC 3311) and session timers (RFC 4028).
#
# States (as the SIP SIMPLE core names them):
#
#   outgoing:  NULL --send_invite()--> outgoing --1xx with To tag--> early --2xx--> connecting --ACK--> connected
#   incoming:  NULL --INVITE--> incoming --send_response(1xx)--> early --send_response(2xx)--> connecting --ACK--> connected
#   any state --end()--> disconnecting --> disconnected;  failure or remote BYE/CANCEL --> disconnected
#
# sub_state (while connected): normal, or sending_proposal while our
# re-INVITE is pending. A re-INVITE received with an offer is answered by the
# core at once with our current SDP, each stream's direction mirroring the
# offer's (sendonly -> recvonly, recvonly -> sendonly, inactive -> inactive:
# hold and resume, RFC 3264 section 8.4); SIPInvitationGotSDPUpdate follows.
#
# Notifications (sender: the Invitation): SIPInvitationChangedState
# (prev_state, state, prev_sub_state, sub_state, originator, code, reason,
# headers, body, disconnect_reason), SIPInvitationGotSDPUpdate (succeeded,
# error, local_sdp, remote_sdp).

cdef pjsip_module _invitation_module
cdef pjsip_inv_callback _invitation_callbacks

_INVITATION_STATES = {
    PJSIP_INV_STATE_NULL: "NULL",
    PJSIP_INV_STATE_CALLING: "outgoing",
    PJSIP_INV_STATE_INCOMING: "incoming",
    PJSIP_INV_STATE_EARLY: "early",
    PJSIP_INV_STATE_CONNECTING: "connecting",
    PJSIP_INV_STATE_CONFIRMED: "connected",
    PJSIP_INV_STATE_DISCONNECTED: "disconnected",
}

cdef unsigned _INVITE_OPTIONS = PJSIP_INV_SUPPORT_100REL | PJSIP_INV_SUPPORT_TIMER | PJSIP_INV_SUPPORT_UPDATE


cdef int _register_invitation_module(pjsip_endpoint *endpt) except -1:
    cdef int status
    _invitation_module.name = pj_str("mod-sipsimple-invitation")
    _invitation_module.id = -1
    _invitation_module.priority = PJSIP_MOD_PRIORITY_APPLICATION
    status = pjsip_endpt_register_module(endpt, &_invitation_module)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not register the invitation module", status)
    _invitation_callbacks.on_state_changed = _cb_inv_state_changed
    _invitation_callbacks.on_new_session = _cb_inv_new_session
    _invitation_callbacks.on_media_update = _cb_inv_media_update
    _invitation_callbacks.on_rx_offer = _cb_inv_rx_offer
    status = pjsip_inv_usage_init(endpt, &_invitation_callbacks)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not initialize INVITE sessions", status)
    status = pjsip_100rel_init_module(endpt)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not initialize 100rel", status)
    status = pjsip_timer_init_module(endpt)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not initialize session timers", status)
    status = pjsip_replaces_init_module(endpt)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not initialize Replaces", status)
    return 0


cdef object _sdp_of(const pjmedia_sdp_session *session):
    if session == NULL:
        return None
    return _frozen_sdp_from_pjmedia(session)


@cython.auto_pickle(False)
cdef class Invitation:
    """One INVITE session, outgoing (send_invite) or incoming (announced in state "incoming")."""

    cdef readonly str state
    cdef readonly str sub_state
    cdef readonly object direction
    cdef readonly object from_header
    cdef readonly object to_header
    cdef readonly object request_uri
    cdef readonly object route_header
    cdef readonly object contact_header
    cdef readonly object credentials
    cdef readonly object call_id
    cdef readonly object remote_user_agent
    cdef readonly object peer_address
    cdef readonly object transport
    cdef PJSIPUA _ua
    cdef pjsip_inv_session *_inv
    cdef pj_timer_entry _timer
    cdef int _end_requested

    def __cinit__(self):
        self.state = "NULL"
        self.sub_state = None

    # --- SDP -------------------------------------------------------------------

    @property
    def local_sdp(self):
        cdef const pjmedia_sdp_session *sdp = NULL
        if self._inv == NULL or self._inv.neg == NULL:
            return None
        if pjmedia_sdp_neg_get_active_local(self._inv.neg, &sdp) != PJ_SUCCESS:
            return None
        return _sdp_of(sdp)

    @property
    def remote_sdp(self):
        cdef const pjmedia_sdp_session *sdp = NULL
        if self._inv == NULL or self._inv.neg == NULL:
            return None
        if pjmedia_sdp_neg_get_active_remote(self._inv.neg, &sdp) != PJ_SUCCESS:
            return None
        return _sdp_of(sdp)

    @property
    def proposed_remote_sdp(self):
        """The offer of a received (re-)INVITE waiting for an answer."""
        cdef const pjmedia_sdp_session *sdp = NULL
        if self._inv == NULL or self._inv.neg == NULL:
            return None
        if pjmedia_sdp_neg_get_neg_remote(self._inv.neg, &sdp) != PJ_SUCCESS:
            return None
        return _sdp_of(sdp)

    # --- outgoing --------------------------------------------------------------

    def send_invite(self, from_header, to_header, route_header, contact_header, sdp=None, credentials=None,
                    extra_headers=None, timeout=None):
        cdef PJSIPUA ua = _ua
        cdef pjsip_dialog *dlg = NULL
        cdef pjsip_inv_session *inv = NULL
        cdef pjsip_tx_data *tdata = NULL
        cdef pjmedia_sdp_session *local_sdp = NULL
        cdef pj_pool_t *pool = NULL
        cdef pj_str_t local_uri, contact, remote_uri, target
        cdef int status
        if self.state != "NULL":
            raise SIPCoreInvalidStateError("send_invite() is for a new Invitation (state is %s)" % self.state)
        for name, value in (("from_header", from_header), ("to_header", to_header),
                            ("contact_header", contact_header)):
            if value is None:
                raise TypeError("%s is required" % name)
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ValueError("timeout must be a positive number of seconds")
        if ua is None or ua._endpt == NULL:
            raise SIPCoreInvalidStateError("Engine is not running")
        _check_thread()
        self.from_header, self.to_header, self.route_header = from_header, to_header, route_header
        self.contact_header, self.credentials = contact_header, credentials
        self.request_uri = getattr(to_header, "uri", to_header)
        encoded_local = _header_text(from_header).encode()
        encoded_contact = _header_text(contact_header).encode()
        encoded_remote = _header_text(to_header).encode()
        encoded_target = str(self.request_uri).encode()
        _set_pj_str(&local_uri, encoded_local)
        _set_pj_str(&contact, encoded_contact)
        _set_pj_str(&remote_uri, encoded_remote)
        _set_pj_str(&target, encoded_target)
        with nogil:
            status = pjsip_dlg_create_uac(pjsip_ua_instance(), &local_uri, &contact, &remote_uri, &target, &dlg)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the dialog (check the URIs and headers)", status)
        pool = pjsip_endpt_create_pool(ua._endpt, "invite_sdp", 4096, 4096)
        try:
            if sdp is not None:
                local_sdp = _pjmedia_sdp_from_sdp(pool, sdp)
            with nogil:
                status = pjsip_inv_create_uac(dlg, local_sdp, _INVITE_OPTIONS, &inv)
            if status != PJ_SUCCESS:
                with nogil:
                    pjsip_dlg_terminate(dlg)
                raise PJSIPError("Could not create the INVITE session", status)
        finally:
            pjsip_endpt_release_pool(ua._endpt, pool)
        self._attach(ua, inv)
        _configure_uac_dialog(ua, dlg, route_header, credentials)
        self.call_id = _pj_str_to_str(dlg.call_id.id)
        with nogil:
            status = pjsip_inv_invite(inv, &tdata)
        if status != PJ_SUCCESS:
            self._abandon()
            raise PJSIPError("Could not create the INVITE", status)
        try:
            _add_headers(tdata, list(extra_headers or []))
        except BaseException:
            pjsip_tx_data_dec_ref(tdata)
            self._abandon()
            raise
        self.direction = "outgoing"
        self._set_state("outgoing", "local", None, None, None, None)
        with nogil:
            status = pjsip_inv_send_msg(inv, tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the INVITE", status)
        if timeout is not None:
            self._schedule_timeout(timeout)

    cdef int _attach(self, PJSIPUA ua, pjsip_inv_session *inv) except -1:
        self._ua = ua
        self._inv = inv
        inv.mod_data[_invitation_module.id] = <void *> self
        ua._live_objects.add(self)
        return 0

    cdef int _abandon(self) except -1:
        cdef pjsip_inv_session *inv = self._inv
        if inv != NULL:
            with nogil:
                pjsip_inv_terminate(inv, 500, 0)
        return 0

    cdef int _schedule_timeout(self, double seconds) except -1:
        cdef pj_time_val delay
        self._timer.user_data = <void *> self
        self._timer.cb = _cb_invitation_timer
        delay.sec = <long> seconds
        delay.msec = <long> ((seconds - <long> seconds) * 1000)
        if pjsip_endpt_schedule_timer(self._ua._endpt, &self._timer, &delay) == PJ_SUCCESS:
            self._timer.id = 1
        return 0

    # --- answering -------------------------------------------------------------

    def send_response(self, code, reason=None, contact_header=None, sdp=None, extra_headers=None):
        """Answer the incoming INVITE: 1xx any number of times, then one final response."""
        cdef pjsip_tx_data *tdata = NULL
        cdef pjmedia_sdp_session *local_sdp = NULL
        cdef pj_str_t reason_str
        cdef pj_str_t *reason_ptr = NULL
        cdef int status
        cdef int st_code
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 699:
            raise ValueError("code must be a SIP status code (100-699)")
        if self._inv == NULL:
            raise SIPCoreInvalidStateError("This invitation is over")
        if self.state not in ("incoming", "early"):
            raise SIPCoreInvalidStateError("Nothing to answer in state %s" % self.state)
        _check_thread()
        st_code = code
        if reason is not None:
            encoded_reason = str(reason).encode()
            _set_pj_str(&reason_str, encoded_reason)
            reason_ptr = &reason_str
        if sdp is not None:
            local_sdp = _pjmedia_sdp_from_sdp(self._inv.pool_prov, sdp)
        with nogil:
            status = pjsip_inv_answer(self._inv, st_code, reason_ptr, local_sdp, &tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the response", status)
        try:
            _add_headers(tdata, list(extra_headers or []))
        except BaseException:
            pjsip_tx_data_dec_ref(tdata)
            raise
        with nogil:
            status = pjsip_inv_send_msg(self._inv, tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the response", status)

    # --- re-INVITE -------------------------------------------------------------

    def send_reinvite(self, contact_header=None, sdp=None, extra_headers=None):
        """Propose a change (hold, new streams) with a re-INVITE carrying `sdp`."""
        cdef pjsip_tx_data *tdata = NULL
        cdef pjmedia_sdp_session *offer = NULL
        cdef pj_str_t contact
        cdef pj_str_t *contact_ptr = NULL
        cdef int status
        if self.state != "connected" or self.sub_state != "normal":
            raise SIPCoreInvalidStateError("A re-INVITE needs a connected session with nothing pending")
        _check_thread()
        if contact_header is not None:
            encoded_contact = _header_text(contact_header).encode()
            _set_pj_str(&contact, encoded_contact)
            contact_ptr = &contact
        if sdp is not None:
            offer = _pjmedia_sdp_from_sdp(self._inv.pool_prov, sdp)
        with nogil:
            status = pjsip_inv_reinvite(self._inv, contact_ptr, offer, &tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the re-INVITE", status)
        try:
            _add_headers(tdata, list(extra_headers or []))
        except BaseException:
            pjsip_tx_data_dec_ref(tdata)
            raise
        self._set_sub_state("sending_proposal", "local", None, None)
        with nogil:
            status = pjsip_inv_send_msg(self._inv, tdata)
        if status != PJ_SUCCESS:
            self._set_sub_state("normal", "local", None, None)
            raise PJSIPError("Could not send the re-INVITE", status)

    # --- ending ----------------------------------------------------------------

    def end(self, extra_headers=None, timeout=None):
        """CANCEL an unanswered outgoing call, decline (603) an incoming one, BYE a connected one."""
        cdef pjsip_tx_data *tdata = NULL
        cdef int status
        cdef int code = 603 if self.state in ("incoming", "early") and self.direction == "incoming" else 0
        if self._inv == NULL or self.state in ("NULL", "disconnecting", "disconnected"):
            return
        _check_thread()
        self._end_requested = 1
        with nogil:
            status = pjsip_inv_end_session(self._inv, code, NULL, &tdata)
        if status != PJ_SUCCESS:
            with nogil:
                pjsip_inv_terminate(self._inv, 500, 1)
            return
        if tdata != NULL:
            try:
                _add_headers(tdata, list(extra_headers or []))
            except BaseException:
                pjsip_tx_data_dec_ref(tdata)
                raise
            if self.state != "disconnected":
                self._set_state("disconnecting", "local", None, None, None, None)
            with nogil:
                status = pjsip_inv_send_msg(self._inv, tdata)
            if status != PJ_SUCCESS:
                with nogil:
                    pjsip_inv_terminate(self._inv, 500, 1)
        if timeout is not None and self._inv != NULL:
            self._schedule_timeout(timeout)

    # --- Engine thread ---------------------------------------------------------

    cdef int _set_state(self, str state, str originator, object code, object reason, object headers,
                        object body) except -1:
        prev_state, self.state = self.state, state
        prev_sub_state = self.sub_state
        if state == "connected" and self.sub_state is None:
            self.sub_state = "normal"
        elif state in ("disconnecting", "disconnected"):
            self.sub_state = None
        disconnect_reason = None
        if state == "disconnected" and self._inv != NULL:
            disconnect_reason = _pj_str_to_str(self._inv.cause_text) or None
        self._ua._add_event("SIPInvitationChangedState", dict(
            prev_state=prev_state, state=state, prev_sub_state=prev_sub_state, sub_state=self.sub_state,
            originator=originator, code=code, reason=reason, headers=headers, body=body,
            disconnect_reason=disconnect_reason), self)
        return 0

    cdef int _set_sub_state(self, str sub_state, str originator, object code, object reason) except -1:
        prev_sub_state, self.sub_state = self.sub_state, sub_state
        self._ua._add_event("SIPInvitationChangedState", dict(
            prev_state=self.state, state=self.state, prev_sub_state=prev_sub_state, sub_state=sub_state,
            originator=originator, code=code, reason=reason, headers=None, body=None, disconnect_reason=None),
            self)
        return 0

    cdef int _on_state(self, pjsip_inv_session *inv, pjsip_event *event) except -1:
        cdef pjsip_rx_data *rdata = NULL
        cdef pjsip_transaction *tsx = NULL
        state = _INVITATION_STATES.get(inv.state, "NULL")
        originator = "local"
        code = reason = headers = body = None
        if event != NULL and event.type == PJSIP_EVENT_TSX_STATE:
            tsx = event.body.tsx_state.tsx
            if event.body.tsx_state.type == PJSIP_EVENT_RX_MSG:
                rdata = event.body.tsx_state.src.rdata
                originator = "remote"
                if rdata.msg_info.msg.type == PJSIP_RESPONSE_MSG:
                    code = rdata.msg_info.msg.line.status.code
                    reason = _pj_str_to_str(rdata.msg_info.msg.line.status.reason)
                headers = _received_headers(rdata)
                body = _message_body(rdata.msg_info.msg)
            elif tsx != NULL and tsx.status_code:
                code = tsx.status_code
                reason = _pj_str_to_str(tsx.status_text)
        # "outgoing" and "incoming" are announced by send_invite() and
        # _receive_invite() themselves, with the request's data.
        if state == self.state or state in ("outgoing", "incoming"):
            return 0
        if state == "disconnected" and code is None and self._inv != NULL:
            code = self._inv.cause
            reason = _pj_str_to_str(self._inv.cause_text)
        if state == "disconnected":
            originator = "local" if self._end_requested else "remote"
        self._set_state(state, originator, code, reason, headers, body)
        if state == "disconnected":
            _cancel_timer(self._ua._endpt, &self._timer)
            inv.mod_data[_invitation_module.id] = NULL
            self._inv = NULL
            self._ua._live_objects.discard(self)
        elif state in ("connecting", "connected"):
            _cancel_timer(self._ua._endpt, &self._timer)
        return 0

    cdef int _on_media_update(self, pjsip_inv_session *inv, int status) except -1:
        cdef const pjmedia_sdp_session *local = NULL
        cdef const pjmedia_sdp_session *remote = NULL
        if status == PJ_SUCCESS:
            pjmedia_sdp_neg_get_active_local(inv.neg, &local)
            pjmedia_sdp_neg_get_active_remote(inv.neg, &remote)
        self._ua._add_event("SIPInvitationGotSDPUpdate", dict(
            succeeded=status == PJ_SUCCESS, error=None if status == PJ_SUCCESS else _pj_status_to_str(status),
            local_sdp=_sdp_of(local), remote_sdp=_sdp_of(remote)), self)
        if self.sub_state == "sending_proposal":
            self._set_sub_state("normal", "remote", None, None)
        return 0


cdef int _configure_uac_dialog(PJSIPUA ua, pjsip_dialog *dlg, object route_header, object credentials) except -1:
    # Route set and credentials of a new UAC dialog (subscriptions, referrals,
    # invitations). Only once a usage holds the dialog: PJSIP destroys a
    # dialog without sessions whenever its lock is released, which setting
    # the route set does.
    cdef pjsip_hdr route_set
    cdef void *route
    cdef int parsed_length = 0
    cdef pj_str_t route_name
    cdef pj_str_t route_value
    cdef pj_pool_t *pool
    cdef int status
    if route_header is not None:
        pj_list_init(&route_set)
        pool = pjsip_endpt_create_pool(ua._endpt, "route", 512, 512)
        try:
            pj_strdup2_with_null(pool, &route_name, b"Route")
            pj_strdup2_with_null(pool, &route_value, _header_text(route_header).encode())
            route = pjsip_parse_hdr(pool, &route_name, route_value.ptr, route_value.slen, &parsed_length)
            if route == NULL:
                raise SIPCoreError("Could not parse the route header %s" % _header_text(route_header))
            pj_list_push_back(&route_set, route)
            status = pjsip_dlg_set_route_set(dlg, <pjsip_route_hdr *> &route_set)  # copied into the dialog
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not set the route", status)
        finally:
            pjsip_endpt_release_pool(ua._endpt, pool)
    if credentials is not None:
        _set_auth_credentials(&dlg.auth_sess, credentials)
    return 0


cdef int _receive_invite(PJSIPUA ua, pjsip_rx_data *rdata) except -1:
    # A new INVITE: verified (Require, SDP), answered 100 Trying, announced
    # as an Invitation in state "incoming"; the application answers it.
    cdef Invitation invitation
    cdef pjsip_dialog *dlg = NULL
    cdef pjsip_inv_session *inv = NULL
    cdef pjsip_tx_data *tdata = NULL
    cdef unsigned options = _INVITE_OPTIONS
    cdef pj_str_t contact
    cdef int status
    status = pjsip_inv_verify_request(rdata, &options, NULL, NULL, ua._endpt, &tdata)
    if status != PJ_SUCCESS:
        # PJSIP built the right refusal (420 Bad Extension, 400 Bad SDP, ...).
        if tdata != NULL:
            pjsip_endpt_send_response2(ua._endpt, rdata, tdata, NULL, NULL)
            return 0
        raise PJSIPError("Refusing the INVITE", status)
    encoded_contact = _local_contact(rdata).encode()
    _set_pj_str(&contact, encoded_contact)
    status = pjsip_dlg_create_uas_and_inc_lock(pjsip_ua_instance(), rdata, &contact, &dlg)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not create the dialog", status)
    invitation = Invitation()
    try:
        status = pjsip_inv_create_uas(dlg, rdata, NULL, options, &inv)
        if status != PJ_SUCCESS:
            pjsip_dlg_terminate(dlg)
            raise PJSIPError("Could not create the INVITE session", status)
        invitation._attach(ua, inv)
        invitation.direction = "incoming"
        invitation.call_id = _pj_str_to_str(rdata.msg_info.cid.id)
        invitation.from_header = _frozen_header_from_pjsip(<pjsip_hdr *> rdata.msg_info.from_)
        invitation.to_header = _frozen_header_from_pjsip(<pjsip_hdr *> rdata.msg_info.to)
        invitation.request_uri = _request_uri_of(rdata.msg_info.msg)
        invitation.peer_address = (rdata.pkt_info.src_name.decode(), rdata.pkt_info.src_port)
        type_name = rdata.tp_info.transport.type_name.decode()
        invitation.transport = _TRANSPORT_NAMES.get(type_name, type_name.lower())
        status = pjsip_inv_initial_answer(inv, rdata, 100, NULL, NULL, &tdata)
        if status == PJ_SUCCESS:
            pjsip_inv_send_msg(inv, tdata)
    finally:
        pjsip_dlg_dec_lock(dlg)
    headers = _received_headers(rdata)
    for header in headers:
        if header.name == "User-Agent":
            invitation.remote_user_agent = header.body
            break
    invitation._set_state("incoming", "remote", None, None, headers, _message_body(rdata.msg_info.msg))
    return 0


cdef void _cb_inv_state_changed(pjsip_inv_session *inv, pjsip_event *event) noexcept with gil:
    cdef PJSIPUA ua = _ua
    cdef void *data
    if ua is None or _invitation_module.id < 0:
        return
    data = inv.mod_data[_invitation_module.id]
    if data == NULL:
        return
    try:
        (<Invitation> data)._on_state(inv, event)
    except BaseException:
        ua._add_exception()


cdef void _cb_inv_new_session(pjsip_inv_session *inv, pjsip_event *event) noexcept with gil:
    # A forked dialog (another To tag answering our INVITE): PJSIP creates a
    # session for it; we do not keep it, so it is answered with ACK and BYE.
    pass


cdef void _cb_inv_media_update(pjsip_inv_session *inv, pj_status_t status) noexcept with gil:
    cdef PJSIPUA ua = _ua
    cdef void *data
    if ua is None or _invitation_module.id < 0:
        return
    data = inv.mod_data[_invitation_module.id]
    if data == NULL:
        return
    try:
        (<Invitation> data)._on_media_update(inv, status)
    except BaseException:
        ua._add_exception()


_MIRRORED_DIRECTION = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive",
                       "sendrecv": "sendrecv"}


cdef void _cb_inv_rx_offer(pjsip_inv_session *inv, const pjmedia_sdp_session *offer) noexcept with gil:
    # A re-INVITE (or UPDATE) offer: answered with our current SDP, newer
    # version, each stream's direction mirroring the offered one.
    cdef PJSIPUA ua = _ua
    cdef const pjmedia_sdp_session *local = NULL
    cdef pjmedia_sdp_session *answer_sdp
    if ua is None or inv.neg == NULL:
        return
    try:
        if pjmedia_sdp_neg_get_active_local(inv.neg, &local) != PJ_SUCCESS or local == NULL:
            return
        current = _frozen_sdp_from_pjmedia(local)
        offered = _frozen_sdp_from_pjmedia(offer)
        answer = SDPSession.new(current)
        answer.version = (current.version + 1) % (2 ** 32)
        for stream, offered_stream in zip(answer.media, offered.media):
            stream.direction = _MIRRORED_DIRECTION.get(offered_stream.direction, "sendrecv")
        answer_sdp = _pjmedia_sdp_from_sdp(inv.pool_prov, answer)
        pjsip_inv_set_sdp_answer(inv, answer_sdp)
    except BaseException:
        ua._add_exception()


cdef void _cb_invitation_timer(pj_timer_heap_t *heap, pj_timer_entry *entry) noexcept with gil:
    # The caller's timeout: an unanswered call is given up (CANCEL / 408).
    cdef PJSIPUA ua = _ua
    cdef Invitation invitation
    if ua is None or entry.user_data == NULL:
        return
    invitation = <Invitation> entry.user_data
    entry.id = 0
    try:
        if invitation._inv != NULL and invitation.state in ("outgoing", "early", "disconnecting"):
            invitation.end()
            if invitation._inv != NULL and invitation.state == "disconnecting":
                pjsip_inv_terminate(invitation._inv, 408, 1)
    except BaseException:
        ua._add_exception()
