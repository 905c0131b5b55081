# REFER outside a dialog (RFC 3515): Referral (client, on the shared client
# subscription machinery of subscription.pxi, with PJSIP's "refer" package)
# and IncomingReferral (server: accept or reject, then report the referred
# request's progress in message/sipfrag NOTIFYs).
#
# States: the tables REFERRAL and INCOMING_REFERRAL in
# sipsimple/core/_states.py, drawn in docs/api/subscriptions.md.
# Notifications: SIPIncomingReferralGotRefer (refer_to_header, request_uri,
# from_header, to_header, headers), SIPIncomingReferralDidEnd (originator).
#
# Inside an INVITE dialog (call transfer) the same two classes do the work:
# see transfer.pxi.

@cython.auto_pickle(False)
cdef class Referral(_ClientSubscription):
    """A REFER (RFC 3515) outside a dialog, with the NOTIFYs reporting the referred request."""

    cdef readonly object refer_to_header

    def __cinit__(self):
        self._machine = REFERRAL

    def __init__(self, request_uri, from_header, to_header, refer_to_header, contact_header, route_header,
                 credentials=None):
        for name, value in (("request_uri", request_uri), ("from_header", from_header), ("to_header", to_header),
                            ("refer_to_header", refer_to_header), ("contact_header", contact_header)):
            if value is None:
                raise TypeError("%s is required" % name)
        self._prefix = "SIPReferral"
        self.request_uri = request_uri
        self.from_header = from_header
        self.to_header = to_header
        self.refer_to_header = refer_to_header
        self.contact_header = contact_header
        self.route_header = route_header
        self.credentials = credentials

    def send_refer(self, timeout=None):
        cdef pjsip_evsub *evsub = NULL
        cdef pjsip_tx_data *tdata = NULL
        cdef pj_str_t refer_to
        cdef int status
        REFERRAL.require(self.state, "send_refer", SIPCoreInvalidStateError)
        if self._evsub != NULL:
            raise SIPCoreInvalidStateError("send_refer() can only be called once")
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ValueError("timeout must be a positive number of seconds")
        self._create_dialog()
        with nogil:
            status = pjsip_xfer_create_uac(self._dlg, &_subscription_callbacks, &evsub)
        if status != PJ_SUCCESS:
            with nogil:
                pjsip_dlg_terminate(self._dlg)
            self._dlg = NULL
            raise PJSIPError("Could not create the REFER subscription", status)
        self._attach(evsub)
        encoded_refer_to = _header_text(self.refer_to_header).encode()
        _set_pj_str(&refer_to, encoded_refer_to)
        with nogil:
            status = pjsip_xfer_initiate(self._evsub, &refer_to, &tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the REFER", status)
        self._send(tdata, None, None, None, timeout)


@cython.auto_pickle(False)
cdef class IncomingReferral(_ServerSubscription):
    """A REFER received outside a dialog; the application accepts or rejects it and reports progress."""

    cdef readonly object refer_to_header

    def __cinit__(self):
        self._prefix = "SIPIncomingReferral"
        self._machine = INCOMING_REFERRAL

    def accept(self, code=202):
        """Accept the REFER (202 by default) and send the first NOTIFY: "SIP/2.0 100 Trying"."""
        cdef int status
        cdef int st_code
        if not isinstance(code, int) or isinstance(code, bool) or not 200 <= code <= 299:
            raise ValueError("code must be a 2xx status code")
        self._require("accept")
        st_code = code
        with nogil:
            status = pjsip_xfer_accept(self._evsub, self._rdata, st_code, NULL)
        self._answered()
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not accept the REFER", status)
        self._change_state("accept")
        self.send_notify(100, "Trying")

    def send_notify(self, code, reason=None):
        """Report the referred request's progress; a final code (>= 200) ends the subscription.

        NOTIFYs go one at a time: one sent while the previous is unanswered
        waits for that answer.
        """
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 699:
            raise ValueError("code must be a SIP status code (100-699)")
        self._require("send_notify")
        if self._end_requested:
            raise SIPCoreInvalidStateError("A final NOTIFY was already sent")
        if code >= 200:
            self._end_requested = 1
        self._queue_notify(functools.partial(self._notify_progress, code, reason))

    def _notify_progress(self, int code, reason):
        cdef pjsip_tx_data *tdata = NULL
        cdef pj_str_t reason_str
        cdef pj_str_t *reason_ptr = NULL
        cdef pjsip_evsub_state state
        cdef int status
        if self._evsub == NULL:
            raise SIPCoreInvalidStateError("This referral no longer exists")
        _check_thread()
        state = PJSIP_EVSUB_STATE_ACTIVE if code < 200 else PJSIP_EVSUB_STATE_TERMINATED
        if reason is not None:
            encoded_reason = str(reason).encode()
            _set_pj_str(&reason_str, encoded_reason)
            reason_ptr = &reason_str
        with nogil:
            status = pjsip_xfer_notify(self._evsub, state, code, reason_ptr, &tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the NOTIFY", status)
        with nogil:
            status = pjsip_xfer_send_request(self._evsub, tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the NOTIFY", status)

    def end(self):
        """Stop reporting: an unanswered REFER is refused (480), an accepted one ends with a final NOTIFY."""
        if self.state == "incoming":
            self.reject(480)
        elif self.state == "active" and not self._end_requested:
            self.send_notify(487, "Request Terminated")


cdef int _receive_refer(PJSIPUA ua, pjsip_rx_data *rdata) except -1:
    cdef IncomingReferral referral = IncomingReferral()
    referral._setup(ua, rdata, True)
    for header in referral.headers:
        if header.name in ("Refer-To", "r"):
            referral.refer_to_header = header
            break
    ua._add_event("SIPIncomingReferralGotRefer", dict(
        refer_to_header=referral.refer_to_header, request_uri=referral.request_uri,
        from_header=referral.from_header, to_header=referral.to_header, headers=referral.headers), referral)
    return 0
