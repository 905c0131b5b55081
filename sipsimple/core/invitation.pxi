# Invitation: an INVITE session (RFC 3261 section 13-15, offer/answer RFC 3264)
# on PJSIP's invite usage, which also brings 100rel/PRACK (RFC 3262), UPDATE
# (RFC 3311), session timers (RFC 4028) and Replaces (RFC 3891).
#
# States: the tables INVITATION (state) and INVITATION_SUB_STATE (sub_state,
# while connected) in sipsimple/core/_states.py, drawn in
# docs/api/invitation.md. Only _set_state() and _set_sub_state() change
# them, by an event the table must know; the methods ask the tables
# whether they may run.
# A re-INVITE without an offer is answered by PJSIP with our current SDP as
# the offer; an UPDATE offer (session refresh, RFC 3311) is answered at once
# with our current SDP, each stream's direction mirroring the offer's.
#
# Forking (RFC 3261 13.2.2.4): until the first 2xx the session follows the
# branch that spoke last (PJSIP moves the dialog's remote tag, target and
# route set with each new To tag, so PRACKs and early media go there); every
# 2xx from another branch after the first is acknowledged and ended with BYE
# on a dialog forked for it (_cb_dlg_forked).
#
# Late offer from our side: when our INVITE had no SDP, the offer comes in
# the 2xx; the ACK waits in state "connecting" until the application calls
# send_ack(sdp) with its answer.
#
# Notifications (sender: the Invitation): SIPInvitationChangedState
# (prev_state, state, prev_sub_state, sub_state, originator, code, reason,
# headers, body, disconnect_reason), SIPInvitationGotSDPUpdate (succeeded,
# error, local_sdp, remote_sdp). An INVITE refused before an Invitation
# exists (bad SDP, bad Replaces, ...) is reported by SIPEngineRejectedRequest.

DialogID = collections.namedtuple("DialogID", "call_id local_tag remote_tag")
DialogID.__doc__ = "A dialog's identity (RFC 3261 12): Call-ID and the tags, ours first."

from sipsimple.core._states import INVITATION, INVITATION_SUB_STATE

cdef pjsip_module _invitation_module
cdef pjsip_inv_callback _invitation_callbacks

# PJSIP's session states as events of INVITATION. CALLING and INCOMING are
# not among them: send_invite() and _receive_invite() announce those
# themselves, with the request's data.
_INVITATION_EVENTS = {
    PJSIP_INV_STATE_EARLY: "provisional",
    PJSIP_INV_STATE_CONNECTING: "answered",
    PJSIP_INV_STATE_CONFIRMED: "acknowledged",
    PJSIP_INV_STATE_DISCONNECTED: "terminated",
}

cdef unsigned _INVITE_OPTIONS = PJSIP_INV_SUPPORT_100REL | PJSIP_INV_SUPPORT_TIMER | PJSIP_INV_SUPPORT_UPDATE


cdef int _register_invitation_module(pjsip_endpoint *endpt) except -1:
    cdef int status
    _invitation_module.name = pj_str("mod-sipsimple-invitation")
    _invitation_module.id = -1
    _invitation_module.priority = PJSIP_MOD_PRIORITY_APPLICATION
    # As a usage of every call's dialog: requests inside a call that PJSIP's
    # invite usage leaves alone (REFER: transfer.pxi).
    _invitation_module.on_rx_request = _cb_invitation_rx_request
    status = pjsip_endpt_register_module(endpt, &_invitation_module)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not register the invitation module", status)
    _invitation_callbacks.on_state_changed = _cb_inv_state_changed
    _invitation_callbacks.on_new_session = _cb_inv_new_session
    _invitation_callbacks.on_media_update = _cb_inv_media_update
    _invitation_callbacks.on_rx_offer2 = _cb_inv_rx_offer
    _invitation_callbacks.on_rx_reinvite = _cb_inv_rx_reinvite
    _invitation_callbacks.on_tsx_state_changed = _cb_inv_tsx_state_changed
    _invitation_callbacks.on_send_ack = _cb_inv_send_ack
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
    cdef readonly object replaced_invitation
    cdef PJSIPUA _ua
    cdef pjsip_inv_session *_inv
    cdef pj_timer_entry _timer
    cdef int _end_requested
    cdef int _ack_pending          # a 2xx carried an offer: the ACK waits for send_ack()
    cdef int _ack_cseq
    cdef int _peer_supports_100rel
    cdef object _dialog_id
    cdef object _outgoing_transfer   # transfer.pxi
    cdef object _incoming_transfer

    def __cinit__(self):
        self.state = INVITATION.initial
        self.sub_state = None

    @property
    def dialog_id(self):
        """DialogID(call_id, local_tag, remote_tag), once the dialog has both tags, else None.

        The remote tag can change while the call is early (forking); the last
        one is kept after the call ends."""
        cdef pjsip_dialog *dlg
        if self._inv != NULL:
            dlg = self._inv.dlg
            if dlg.remote.info.tag.slen > 0:
                self._dialog_id = DialogID(_pj_str_to_str(dlg.call_id.id), _pj_str_to_str(dlg.local.info.tag),
                                           _pj_str_to_str(dlg.remote.info.tag))
        return self._dialog_id

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
        INVITATION.require(self.state, "send_invite", SIPCoreInvalidStateError)
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
        self._set_state("send_invite", "local", None, None, None, None)
        with nogil:
            status = pjsip_inv_send_msg(inv, tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the INVITE", status)
        if timeout is not None:
            self._schedule_timeout(timeout)

    cdef int _attach(self, PJSIPUA ua, pjsip_inv_session *inv) except -1:
        cdef int status
        self._ua = ua
        self._inv = inv
        inv.mod_data[_invitation_module.id] = <void *> self
        ua._live_objects.add(self)
        status = pjsip_dlg_add_usage(inv.dlg, &_invitation_module, NULL)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not follow the call's dialog", status)
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

    # --- answering ---------------------------------------------------------------

    def send_response(self, code, reason=None, contact_header=None, sdp=None, extra_headers=None):
        """Answer the incoming INVITE (1xx any number of times, then one final
        response), or, with sub_state "received_proposal", the re-INVITE."""
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
        answering_proposal = INVITATION_SUB_STATE.allows(self.sub_state, "send_response")
        if not answering_proposal:
            INVITATION.require(self.state, "send_response", SIPCoreInvalidStateError)
            if self.direction != "incoming":
                raise SIPCoreInvalidStateError("Invitation.send_response(): nothing to answer in state %r of an "
                                               "outgoing call" % self.state)
        if answering_proposal and 200 <= code < 300 and sdp is None:
            raise ValueError("a 2xx to a re-INVITE offer needs the answer SDP")
        _check_thread()
        st_code = code
        if reason is not None:
            encoded_reason = str(reason).encode()
            _set_pj_str(&reason_str, encoded_reason)
            reason_ptr = &reason_str
        if sdp is not None and code < 300 and self._offer_answered():
            # The offer was answered in an earlier 18x: a 2xx repeats that
            # answer (RFC 3261 13.2.1) and cannot carry a new one.
            sdp = None
        if sdp is not None:
            local_sdp = _pjmedia_sdp_from_sdp(self._inv.pool_prov, sdp)
        if 100 < code < 200 and local_sdp != NULL and self._peer_supports_100rel:
            # Early media goes reliably when the caller supports 100rel
            # (RFC 3262 recommends it for a provisional carrying SDP).
            self._require_100rel()
        with nogil:
            status = pjsip_inv_answer(self._inv, st_code, reason_ptr, local_sdp, &tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the response", status)
        try:
            _add_headers(tdata, list(extra_headers or []))
        except BaseException:
            pjsip_tx_data_dec_ref(tdata)
            raise
        if answering_proposal and code >= 200:
            # Before sending: the transaction's own state callback must see
            # the proposal as answered by us.
            self._set_sub_state("send_response", "local", code,
                                reason or _pj_str_to_str(tdata.msg.line.status.reason), None, None)
        with nogil:
            status = pjsip_inv_send_msg(self._inv, tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the response", status)

    cdef bint _offer_answered(self):
        if self._inv.neg == NULL:
            return False
        return pjmedia_sdp_neg_get_state(self._inv.neg) == PJMEDIA_SDP_NEG_STATE_DONE and self.state != "connected"

    cdef int _require_100rel(self) except -1:
        if self._inv.options & PJSIP_INV_REQUIRE_100REL:
            return 0
        status = pjsip_100rel_attach(self._inv)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not enable reliable provisional responses", status)
        self._inv.options |= PJSIP_INV_REQUIRE_100REL
        return 0

    def send_ack(self, sdp):
        """Acknowledge a 2xx that carried an offer (our INVITE had none), with the answer `sdp`."""
        cdef pjmedia_sdp_session *answer
        cdef int status
        INVITATION.require(self.state, "send_ack", SIPCoreInvalidStateError)
        if self._inv == NULL or not self._ack_pending:
            raise SIPCoreInvalidStateError("No ACK is waiting for an answer")
        if sdp is None:
            raise ValueError("the ACK must carry the answer SDP")
        _check_thread()
        answer = _pjmedia_sdp_from_sdp(self._inv.pool_prov, sdp)
        status = pjsip_inv_set_sdp_answer(self._inv, answer)
        if status != PJ_SUCCESS:
            raise PJSIPError("The answer does not fit the offer", status)
        self._send_pending_ack()

    cdef int _send_pending_ack(self) except -1:
        cdef pjsip_tx_data *tdata = NULL
        cdef int status
        self._ack_pending = 0
        with nogil:
            status = pjsip_inv_create_ack(self._inv, self._ack_cseq, &tdata)
            if status == PJ_SUCCESS:
                status = pjsip_inv_send_msg(self._inv, tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the ACK", status)
        return 0

    # --- re-INVITE -------------------------------------------------------------

    def send_reinvite(self, contact_header=None, sdp=None, extra_headers=None):
        """Propose a change (hold, new streams) with a re-INVITE carrying `sdp`."""
        cdef pjsip_tx_data *tdata = NULL
        cdef pjmedia_sdp_session *offer = NULL
        cdef pj_str_t contact
        cdef pj_str_t *contact_ptr = NULL
        cdef int status
        INVITATION.require(self.state, "send_reinvite", SIPCoreInvalidStateError)
        INVITATION_SUB_STATE.require(self.sub_state, "send_reinvite", SIPCoreInvalidStateError)
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
        self._set_sub_state("send_reinvite", "local", None, None, None, None)
        with nogil:
            status = pjsip_inv_send_msg(self._inv, tdata)
        if status != PJ_SUCCESS:
            self._set_sub_state("send_failed", "local", None, None, None, None)
            raise PJSIPError("Could not send the re-INVITE", status)

    def cancel_reinvite(self):
        """CANCEL our pending re-INVITE (RFC 3261 9.1); the other side answers it 487.

        Before any provisional response has arrived, PJSIP holds the CANCEL
        back until one does (RFC 3261 9.1)."""
        cdef pjsip_tx_data *tdata = NULL
        cdef int status
        INVITATION.require(self.state, "cancel_reinvite", SIPCoreInvalidStateError)
        INVITATION_SUB_STATE.require(self.sub_state, "cancel_reinvite", SIPCoreInvalidStateError)
        _check_thread()
        with nogil:
            status = pjsip_inv_cancel_reinvite(self._inv, &tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not cancel the re-INVITE", status)
        if tdata != NULL:
            with nogil:
                status = pjsip_inv_send_msg(self._inv, tdata)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not send the CANCEL", status)

    # --- transfer (transfer.pxi) ----------------------------------------------------

    def transfer(self, target_uri, replaced_dialog_id=None, extra_headers=None):
        """Ask the other party to call `target_uri` (REFER in this call, RFC 5589).

        replaced_dialog_id (a DialogID of another call of ours): the new call
        replaces that one (attended transfer, RFC 3891 Replaces in the Refer-To).
        """
        INVITATION.require(self.state, "transfer", SIPCoreInvalidStateError)
        if self._outgoing_transfer is not None and (<_ClientSubscription> self._outgoing_transfer)._evsub != NULL:
            raise SIPCoreInvalidStateError("A transfer is already in progress")
        _check_thread()
        self._outgoing_transfer = _start_transfer(self, target_uri, replaced_dialog_id, extra_headers)

    def accept_transfer(self, code=202):
        """Accept the REFER received in this call; report progress with notify_transfer_progress()."""
        self._incoming_transfer_of().accept(code)

    def reject_transfer(self, code=603):
        """Refuse the REFER received in this call."""
        self._incoming_transfer_of().reject(code)

    def notify_transfer_progress(self, code, reason=None):
        """Tell the transferor how the call to the target goes: 1xx, then a final status that ends it."""
        self._incoming_transfer_of().send_notify(code, reason)

    cdef object _incoming_transfer_of(self):
        if self._incoming_transfer is None or self._incoming_transfer.state == "terminated":
            raise SIPCoreInvalidStateError("No transfer request is pending in this call")
        return self._incoming_transfer

    # --- ending ----------------------------------------------------------------

    def end(self, extra_headers=None, timeout=None):
        """CANCEL an unanswered outgoing call, decline (603) an incoming one, BYE a connected one."""
        cdef pjsip_tx_data *tdata = NULL
        cdef int status
        cdef int code = 603 if self.state in ("incoming", "early") and self.direction == "incoming" else 0
        if self._inv == NULL or not INVITATION.allows(self.state, "end"):
            return
        _check_thread()
        self._end_requested = 1
        if self.sub_state == "received_proposal":
            # RFC 3261 15.1.2: a request still pending when the dialog ends
            # is answered 487.
            self.send_response(487)
        if self._ack_pending:
            # The 2xx is acknowledged (without the answer it wanted) before
            # the BYE: an unacknowledged 2xx would keep coming back.
            self._send_pending_ack()
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
            if INVITATION.allows(self.state, "end"):
                self._set_state("end", "local", None, None, None, None)
            with nogil:
                status = pjsip_inv_send_msg(self._inv, tdata)
            if status != PJ_SUCCESS:
                with nogil:
                    pjsip_inv_terminate(self._inv, 500, 1)
        if timeout is not None and self._inv != NULL:
            self._schedule_timeout(timeout)

    # --- Engine thread ---------------------------------------------------------

    cdef int _set_state(self, str event, str originator, object code, object reason, object headers,
                        object body, object disconnect_reason=None) except -1:
        # The one place where state changes: to where INVITATION says `event`
        # leads (an event it does not know there is a bug, raised).
        state = INVITATION.next(self.state, event)
        prev_state, self.state = self.state, state
        prev_sub_state = self.sub_state
        if state == "connected" and self.sub_state is None:
            self.sub_state = INVITATION_SUB_STATE.initial
        elif state in ("disconnecting", "disconnected"):
            self.sub_state = None
        if state == "disconnected" and self._inv != NULL:
            disconnect_reason = _pj_str_to_str(self._inv.cause_text) or None
        self._ua._add_event("SIPInvitationChangedState", dict(
            prev_state=prev_state, state=state, prev_sub_state=prev_sub_state, sub_state=self.sub_state,
            originator=originator, code=code, reason=reason, headers=headers, body=body,
            disconnect_reason=disconnect_reason), self)
        return 0

    cdef int _set_sub_state(self, str event, str originator, object code, object reason, object headers,
                            object body) except -1:
        # The one place where sub_state changes (INVITATION_SUB_STATE).
        sub_state = INVITATION_SUB_STATE.next(self.sub_state, event)
        prev_sub_state, self.sub_state = self.sub_state, sub_state
        self._ua._add_event("SIPInvitationChangedState", dict(
            prev_state=self.state, state=self.state, prev_sub_state=prev_sub_state, sub_state=sub_state,
            originator=originator, code=code, reason=reason, headers=headers, body=body, disconnect_reason=None),
            self)
        return 0

    cdef int _on_state(self, pjsip_inv_session *inv, pjsip_event *event) except -1:
        cdef pjsip_rx_data *rdata = NULL
        cdef pjsip_transaction *tsx = NULL
        change = _INVITATION_EVENTS.get(inv.state)
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
        if change is None or self.state in INVITATION.targets(change):
            return 0   # PJSIP reports again the state we are in (each 1xx, the ACK of a re-INVITE, ...)
        state = INVITATION.next(self.state, change)
        if state == "disconnected" and code is None and self._inv != NULL:
            code = self._inv.cause
            reason = _pj_str_to_str(self._inv.cause_text)
        if state == "disconnected":
            originator = "local" if self._end_requested else "remote"
        self._set_state(change, originator, code, reason, headers, body)
        if state == "disconnected":
            self.dialog_id  # remembered for after the end
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
        return 0

    cdef int _on_rx_reinvite(self, pjsip_inv_session *inv, pjsip_rx_data *rdata) except -1:
        # A re-INVITE with an offer: 100 Trying now (which also makes it the
        # response pjsip_inv_answer() modifies later), then the application
        # decides with send_response().
        cdef pjsip_tx_data *tdata = NULL
        if pjsip_inv_initial_answer(inv, rdata, 100, NULL, NULL, &tdata) == PJ_SUCCESS:
            pjsip_inv_send_msg(inv, tdata)
        self._set_sub_state("receive_reinvite", "remote", None, None, _received_headers(rdata),
                            _message_body(rdata.msg_info.msg))
        return 0

    cdef int _on_invite_tsx_state(self, pjsip_transaction *tsx, pjsip_event *event) except -1:
        # The end of a re-INVITE transaction: ours answered (or cancelled:
        # 487), or theirs answered by PJSIP itself (CANCEL received: 487).
        cdef pjsip_rx_data *rdata = NULL
        if tsx.status_code < 200 or tsx.state < PJSIP_TSX_STATE_COMPLETED:
            return 0
        if tsx.role == PJSIP_ROLE_UAC and self.sub_state == "sending_proposal":
            headers = body = None
            if event != NULL and event.type == PJSIP_EVENT_TSX_STATE and \
                    event.body.tsx_state.type == PJSIP_EVENT_RX_MSG:
                rdata = event.body.tsx_state.src.rdata
                headers = _received_headers(rdata)
                body = _message_body(rdata.msg_info.msg)
            self._set_sub_state("response_received", "remote", tsx.status_code, _pj_str_to_str(tsx.status_text),
                                headers, body)
        elif tsx.role == PJSIP_ROLE_UAS and self.sub_state == "received_proposal":
            self._set_sub_state("answered_by_stack", "remote", tsx.status_code, _pj_str_to_str(tsx.status_text),
                                None, None)
        return 0

    cdef int _on_send_ack(self, pjsip_inv_session *inv, pjsip_rx_data *rdata) except -1:
        # Every 2xx to our INVITEs comes here to be acknowledged. One that
        # carried an offer needs our answer in the ACK: for the initial
        # INVITE (which had no SDP) the application gives it with
        # send_ack(); for a re-INVITE without SDP we answer at once.
        self._ack_cseq = rdata.msg_info.cseq.cseq
        if inv.neg != NULL and pjmedia_sdp_neg_get_state(inv.neg) == PJMEDIA_SDP_NEG_STATE_REMOTE_OFFER:
            if inv.state != PJSIP_INV_STATE_CONFIRMED:
                self._ack_pending = 1
                return 0
            _answer_mirroring(inv)
        unanswered = inv.neg != NULL and inv.state != PJSIP_INV_STATE_CONFIRMED and \
            pjmedia_sdp_neg_get_state(inv.neg) == PJMEDIA_SDP_NEG_STATE_LOCAL_OFFER
        self._send_pending_ack()
        if unanswered:
            # Our offer got no usable answer (none, or an SDP that does not
            # parse or fit): RFC 3264 leaves no session to have. The 2xx is
            # acknowledged, then PJSIP ends the call with BYE: our doing.
            self._end_requested = 1
            self._ua._add_event("SIPInvitationGotSDPUpdate", dict(
                succeeded=False, error="the 2xx carried no acceptable answer to our offer", local_sdp=None,
                remote_sdp=None), self)
        return 0


cdef int _receive_invite(PJSIPUA ua, pjsip_rx_data *rdata) except -1:
    # A new INVITE: verified (Require, SDP, Replaces), answered 100 Trying,
    # announced as an Invitation in state "incoming"; the application
    # answers it.
    cdef Invitation invitation
    cdef pjsip_dialog *dlg = NULL
    cdef pjsip_dialog *replaced_dlg = NULL
    cdef pjsip_inv_session *inv = NULL
    cdef pjsip_inv_session *replaced_inv = NULL
    cdef pjsip_tx_data *tdata = NULL
    cdef unsigned options = _INVITE_OPTIONS
    cdef pj_str_t contact
    cdef int status
    status = pjsip_inv_verify_request(rdata, &options, NULL, NULL, ua._endpt, &tdata)
    if status == PJ_SUCCESS:
        # RFC 3891: 481 when the dialog to replace is unknown or an early one
        # we did not start, 486 for early-only on an established one, ...
        status = pjsip_replaces_verify_request(rdata, &replaced_dlg, PJ_FALSE, &tdata)
    if status != PJ_SUCCESS:
        # PJSIP built the right refusal (420 Bad Extension, 400 Bad SDP, 481, ...).
        if tdata == NULL:
            raise PJSIPError("Refusing the INVITE", status)
        code = tdata.msg.line.status.code
        reason = _pj_str_to_str(tdata.msg.line.status.reason)
        pjsip_endpt_send_response2(ua._endpt, rdata, tdata, NULL, NULL)
        _report_rejected_request(ua, rdata, code, reason, _pj_status_to_str(status))
        return 0
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
        invitation.remote_user_agent = _user_agent_of(rdata.msg_info.msg)
        invitation._peer_supports_100rel = _supports(rdata.msg_info.msg, "100rel")
        type_name = rdata.tp_info.transport.type_name.decode()
        invitation.transport = _TRANSPORT_NAMES.get(type_name, type_name.lower())
        if replaced_dlg != NULL:
            replaced_inv = pjsip_dlg_get_inv_session(replaced_dlg)
            invitation.replaced_invitation = _invitation_of(replaced_inv)
        status = pjsip_inv_initial_answer(inv, rdata, 100, NULL, NULL, &tdata)
        if status == PJ_SUCCESS:
            pjsip_inv_send_msg(inv, tdata)
    finally:
        pjsip_dlg_dec_lock(dlg)
    invitation._set_state("receive_invite", "remote", None, None, _received_headers(rdata),
                          _message_body(rdata.msg_info.msg))
    return 0


cdef object _user_agent_of(pjsip_msg *msg):
    cdef pj_str_t name = pj_str("User-Agent")
    cdef pjsip_generic_string_hdr *header = <pjsip_generic_string_hdr *> pjsip_msg_find_hdr_by_name(msg, &name, NULL)
    return None if header == NULL else _pj_str_to_str(header.hvalue)


cdef bint _supports(pjsip_msg *msg, str option):
    # Whether the Supported header (any of them) lists `option`.
    cdef pjsip_generic_array_hdr *header = <pjsip_generic_array_hdr *> pjsip_msg_find_hdr(msg, PJSIP_H_SUPPORTED, NULL)
    cdef unsigned i
    while header != NULL:
        for i in range(header.count):
            if _pj_str_to_str(header.values[i]).lower() == option:
                return True
        header = <pjsip_generic_array_hdr *> pjsip_msg_find_hdr(msg, PJSIP_H_SUPPORTED, (<pjsip_hdr *> header).next)
    return False


cdef inline object _invitation_of(pjsip_inv_session *inv):
    # The Invitation a PJSIP session belongs to, or None (not ours, or over).
    cdef void *data
    if _ua is None or _invitation_module.id < 0 or inv == NULL:
        return None
    data = inv.mod_data[_invitation_module.id]
    return None if data == NULL else <Invitation> data


cdef pj_bool_t _cb_invitation_rx_request(pjsip_rx_data *rdata) noexcept with gil:
    # Called as an endpoint module for requests outside dialogs too (not
    # ours: the UA module answers those), and as a usage of each call's
    # dialog, with the dialog locked.
    cdef pjsip_dialog *dlg = pjsip_rdata_get_dlg(rdata)
    cdef pjsip_msg *msg = rdata.msg_info.msg
    if dlg == NULL or _ua is None or _pj_str_to_str(msg.line.req.method.name) != "REFER":
        return PJ_FALSE
    try:
        found = _invitation_of(pjsip_dlg_get_inv_session(dlg))
        if found is None:
            return PJ_FALSE
        _receive_refer_in_call(_ua, found, dlg, rdata)
        return PJ_TRUE
    except BaseException:
        _report_callback_exception()
        return PJ_FALSE


cdef void _cb_inv_state_changed(pjsip_inv_session *inv, pjsip_event *event) noexcept with gil:
    cdef Invitation invitation
    try:
        found = _invitation_of(inv)
        if found is not None:
            invitation = found
            invitation._on_state(inv, event)
    except BaseException:
        _report_callback_exception()


cdef void _cb_inv_new_session(pjsip_inv_session *inv, pjsip_event *event) noexcept with gil:
    # PJSIP never forks INVITE sessions by itself; forked dialogs are handled
    # in _cb_dlg_forked.
    pass


cdef void _cb_inv_media_update(pjsip_inv_session *inv, pj_status_t status) noexcept with gil:
    cdef Invitation invitation
    try:
        found = _invitation_of(inv)
        if found is not None:
            invitation = found
            invitation._on_media_update(inv, status)
    except BaseException:
        _report_callback_exception()


_MIRRORED_DIRECTION = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive",
                       "sendrecv": "sendrecv"}


cdef int _answer_mirroring(pjsip_inv_session *inv) except -1:
    # Answer the pending offer with our current SDP, newer version, each
    # stream's direction mirroring the offered one (RFC 3264 section 8.4).
    cdef const pjmedia_sdp_session *local = NULL
    cdef const pjmedia_sdp_session *offer = NULL
    if pjmedia_sdp_neg_get_active_local(inv.neg, &local) != PJ_SUCCESS or local == NULL:
        return 0
    if pjmedia_sdp_neg_get_neg_remote(inv.neg, &offer) != PJ_SUCCESS or offer == NULL:
        return 0
    current = _frozen_sdp_from_pjmedia(local)
    offered = _frozen_sdp_from_pjmedia(offer)
    answer = SDPSession.new(current)
    answer.version = (current.version + 1) % (2 ** 32)
    for stream, offered_stream in zip(answer.media, offered.media):
        stream.direction = _MIRRORED_DIRECTION.get(offered_stream.direction, "sendrecv")
    pjsip_inv_set_sdp_answer(inv, _pjmedia_sdp_from_sdp(inv.pool_prov, answer))
    return 0


cdef void _cb_inv_rx_offer(pjsip_inv_session *inv, pjsip_inv_on_rx_offer_cb_param *param) noexcept with gil:
    # Offers inside a session. A re-INVITE's goes to the application
    # (_cb_inv_rx_reinvite); one in a 2xx is answered in the ACK
    # (_cb_inv_send_ack); an UPDATE's must be answered now, so it is
    # answered mirroring (session refreshes, hold by UPDATE).
    cdef pjsip_msg *msg
    if _ua is None or inv.neg == NULL or param.rdata == NULL:
        return
    try:
        msg = param.rdata.msg_info.msg
        if msg.type == PJSIP_REQUEST_MSG and msg.line.req.method.id != PJSIP_INVITE_METHOD:
            _answer_mirroring(inv)
    except BaseException:
        _report_callback_exception()


cdef pj_status_t _cb_inv_rx_reinvite(pjsip_inv_session *inv, const pjmedia_sdp_session *offer,
                                     pjsip_rx_data *rdata) noexcept with gil:
    # PJ_SUCCESS: the application answers (send_response); anything else:
    # PJSIP answers itself (a re-INVITE without an offer gets our current
    # SDP as the offer in its 200).
    cdef Invitation invitation
    cdef const pjmedia_sdp_session *local = NULL
    cdef const pjmedia_sdp_session *remote = NULL
    try:
        found = _invitation_of(inv)
        if found is None or offer == NULL:
            return PJ_EINVALIDOP
        if pjmedia_sdp_neg_get_active_remote(inv.neg, &remote) == PJ_SUCCESS and remote != NULL and \
                remote.origin.id == offer.origin.id and remote.origin.version == offer.origin.version and \
                pjmedia_sdp_neg_get_active_local(inv.neg, &local) == PJ_SUCCESS and local != NULL:
            # The same session description again (RFC 3264 section 8: a
            # session-timer or target refresh changes nothing): answered
            # unchanged, without troubling the application.
            pjsip_inv_set_sdp_answer(inv, local)
            return PJ_EINVALIDOP
        invitation = found
        invitation._on_rx_reinvite(inv, rdata)
        return PJ_SUCCESS
    except BaseException:
        _report_callback_exception()
        return PJ_EINVALIDOP


cdef void _cb_inv_tsx_state_changed(pjsip_inv_session *inv, pjsip_transaction *tsx,
                                    pjsip_event *event) noexcept with gil:
    cdef Invitation invitation
    if tsx == NULL or tsx.method.id != PJSIP_INVITE_METHOD or inv.state != PJSIP_INV_STATE_CONFIRMED:
        return
    try:
        found = _invitation_of(inv)
        if found is not None:
            invitation = found
            invitation._on_invite_tsx_state(tsx, event)
    except BaseException:
        _report_callback_exception()


cdef void _cb_inv_send_ack(pjsip_inv_session *inv, pjsip_rx_data *rdata) noexcept with gil:
    cdef Invitation invitation
    cdef pjsip_tx_data *tdata = NULL
    try:
        found = _invitation_of(inv)
        if found is not None:
            invitation = found
            invitation._on_send_ack(inv, rdata)
        elif pjsip_inv_create_ack(inv, rdata.msg_info.cseq.cseq, &tdata) == PJ_SUCCESS:
            pjsip_inv_send_msg(inv, tdata)  # a session we no longer follow still acknowledges
    except BaseException:
        _report_callback_exception()


cdef pjsip_dialog *_cb_dlg_forked(pjsip_dialog *first, pjsip_rx_data *rdata) noexcept with gil:
    # A response to our INVITE with a To tag no dialog has: another branch
    # of a forking proxy (RFC 3261 13.2.2.4). Before the first 2xx the
    # session's dialog follows it (PJSIP updates its remote tag, target and
    # route set). A 2xx after the first one loses: a dialog is forked for it
    # just to send the ACK and the BYE (whose transaction keeps that dialog
    # alive until it ends).
    cdef pjsip_dialog *forked = NULL
    cdef pjsip_tx_data *tdata = NULL
    cdef int status
    if rdata.msg_info.msg.line.status.code // 100 != 2 or not first.uac_has_2xx:
        return first
    try:
        status = pjsip_dlg_fork(first, rdata, &forked)
        if status == PJ_SUCCESS:
            pjsip_dlg_inc_lock(forked)
            if pjsip_dlg_create_request(forked, pjsip_get_ack_method(), rdata.msg_info.cseq.cseq,
                                        &tdata) == PJ_SUCCESS:
                pjsip_dlg_send_request(forked, tdata, -1, NULL)
            if pjsip_dlg_create_request(forked, pjsip_get_bye_method(), -1, &tdata) == PJ_SUCCESS:
                status = pjsip_dlg_send_request(forked, tdata, -1, NULL)
            pjsip_dlg_dec_lock(forked)
        if _ua is not None:
            _ua._add_event("SIPEngineLog", dict(
                timestamp=datetime.datetime.now(), sender="sipsimple", level=3,
                message="Ended the forked answer from %s (to-tag %s): another branch answered first%s" % (
                    rdata.pkt_info.src_name.decode(), _pj_str_to_str(rdata.msg_info.to.tag),
                    "" if status == PJ_SUCCESS else " (%s)" % _pj_status_to_str(status))))
    except BaseException:
        _report_callback_exception()
    return NULL


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
        _report_callback_exception()
