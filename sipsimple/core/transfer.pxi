# Call transfer (RFC 3515 REFER inside the call's dialog, RFC 5589): the
# Invitation's transfer(), and a REFER received in a call, on the REFER
# machinery of referral.pxi.
#
# Sent: Invitation.transfer(target_uri, replaced_dialog_id=None) sends the
# REFER; SIPInvitationTransferDidStart when it is accepted (2xx),
# SIPInvitationTransferGotNotify (code, reason: the status line of each
# NOTIFY's message/sipfrag) while the other side tries, then
# SIPInvitationTransferDidEnd (originator, code, reason), or
# SIPInvitationTransferDidFail (code, reason) when the REFER is refused.
# (SIPInvitationTransferChangedState follows the subscription's states.)
#
# Received: SIPInvitationTransferNewIncoming (refer_to_header, from_header,
# headers); the application calls accept_transfer(), reject_transfer(code)
# and notify_transfer_progress(code, reason) on the Invitation; the end is
# SIPInvitationTransferDidEnd (originator). All notifications come from the
# Invitation.

_SIPFRAG_STATUS = re.compile(r"^SIP/2\.0\s+(\d{3})\s*([^\r\n]*)")


@cython.auto_pickle(False)
cdef class _InvitationTransfer(Referral):
    # The REFER of Invitation.transfer(), sent in the call's dialog.

    def __init__(self):
        pass

    cdef int _start(self, Invitation invitation, object refer_to_header, object extra_headers) except -1:
        cdef pjsip_evsub *evsub = NULL
        cdef pjsip_tx_data *tdata = NULL
        cdef pj_str_t refer_to
        cdef int status
        self._prefix = "SIPInvitationTransfer"
        self._sender = invitation
        self._ua = invitation._ua
        self._dlg = invitation._inv.dlg
        self.call_id = invitation.call_id
        self.from_header, self.to_header = invitation.from_header, invitation.to_header
        self.refer_to_header = refer_to_header
        with nogil:
            status = pjsip_xfer_create_uac(self._dlg, &_subscription_callbacks, &evsub)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the REFER subscription", status)
        self._attach(evsub)  # the call's route set and credentials are the dialog's already
        encoded_refer_to = _header_text(refer_to_header).encode()
        _set_pj_str(&refer_to, encoded_refer_to)
        with nogil:
            status = pjsip_xfer_initiate(self._evsub, &refer_to, &tdata)
        if status != PJ_SUCCESS:
            with nogil:
                pjsip_evsub_terminate(self._evsub, 0)
            raise PJSIPError("Could not create the REFER", status)
        self._send(tdata, extra_headers, None, None, None)
        return 0

    cdef int _did_start(self) except -1:
        self._ua._add_event("SIPInvitationTransferDidStart", dict(), self._sender)
        return 0

    cdef int _on_notify(self, pjsip_rx_data *rdata) except -1:
        # The referred request's progress: the status line of the sipfrag body.
        body = _message_body(rdata.msg_info.msg) or b""
        match = _SIPFRAG_STATUS.match(body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body))
        code, reason = (int(match.group(1)), match.group(2).strip()) if match else (None, None)
        self._ua._add_event("SIPInvitationTransferGotNotify", dict(code=code, reason=reason), self._sender)
        return 0


@cython.auto_pickle(False)
cdef class _IncomingCallTransfer(IncomingReferral):
    # A REFER received in a call. Its subscription is only made when the
    # application accepts: made while the dialog layer still handles the
    # request, PJSIP's refer package would take the REFER for a refresh of
    # it and answer it at once.

    cdef Invitation _invitation

    def accept(self, code=202):
        cdef pjsip_evsub *evsub = NULL
        cdef int status
        if not isinstance(code, int) or isinstance(code, bool) or not 200 <= code <= 299:
            raise ValueError("code must be a 2xx status code")
        self._require_unanswered(True)
        with nogil:
            status = pjsip_xfer_create_uas(self._dlg, &_server_referral_callbacks, self._rdata, &evsub)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the REFER subscription", status)
        self._attach_evsub(evsub)
        IncomingReferral.accept(self, code)

    def reject(self, code):
        cdef pjsip_tx_data *tdata = NULL
        cdef int status
        cdef int st_code
        if self._evsub != NULL:
            return IncomingReferral.reject(self, code)
        if not isinstance(code, int) or isinstance(code, bool) or not 300 <= code <= 699:
            raise ValueError("code must be a final non-2xx SIP status code (300-699)")
        self._require_unanswered(False)
        st_code = code
        with nogil:
            status = pjsip_dlg_create_response(self._dlg, self._rdata, st_code, NULL, &tdata)
            if status == PJ_SUCCESS:
                status = pjsip_dlg_send_response(self._dlg, pjsip_rdata_get_tsx(self._rdata), tdata)
        self._answered()
        self._end_requested = 1
        self._change_state("reject")
        self._dlg = NULL
        self._ua._live_objects.discard(self)
        self._ua._add_event("SIPInvitationTransferDidEnd", dict(originator="local"), self._sender)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the response", status)

    cdef int _require_unanswered(self, bint call_needed) except -1:
        # A refusal can still go after the call ended: the request's pending
        # transaction keeps the dialog.
        self._machine.require(self.state, "accept" if call_needed else "reject", SIPCoreInvalidStateError)
        if self._rdata == NULL or self._ua is None or self._ua._endpt == NULL:
            raise SIPCoreInvalidStateError("The transfer request was already answered")
        if call_needed and self._invitation._inv == NULL:
            raise SIPCoreInvalidStateError("The call is over")
        _check_thread()
        return 0


cdef int _receive_refer_in_call(PJSIPUA ua, Invitation invitation, pjsip_dialog *dlg,
                                pjsip_rx_data *rdata) except -1:
    # The dialog layer holds the lock; the request's transaction exists and
    # stays unanswered (keeping the dialog) until the application decides.
    cdef _IncomingCallTransfer transfer = _IncomingCallTransfer()
    transfer._prefix = "SIPInvitationTransfer"
    transfer._sender = invitation
    transfer._invitation = invitation
    transfer._keep_request(ua, dlg, rdata)
    for header in transfer.headers:
        if header.name in ("Refer-To", "r"):
            transfer.refer_to_header = header
            break
    invitation._incoming_transfer = transfer
    ua._add_event("SIPInvitationTransferNewIncoming", dict(
        refer_to_header=transfer.refer_to_header, from_header=transfer.from_header, headers=transfer.headers),
        invitation)
    return 0


cdef object _start_transfer(Invitation invitation, object target_uri, object replaced_dialog_id,
                            object extra_headers):
    cdef _InvitationTransfer transfer = _InvitationTransfer()
    if not isinstance(target_uri, (SIPURI, FrozenSIPURI)):
        raise TypeError("target_uri must be a SIPURI")
    uri = SIPURI.new(target_uri)
    if replaced_dialog_id is not None:
        call_id, local_tag, remote_tag = replaced_dialog_id
        # Replaces names the dialog as the target sees it: its tag is "to".
        headers = dict(uri.headers or {})
        headers["Replaces"] = "%s;to-tag=%s;from-tag=%s" % (call_id, remote_tag, local_tag)
        uri.headers = headers
    transfer._start(invitation, ReferToHeader(uri), extra_headers)
    return transfer
