import functools

# Client event subscriptions (RFC 6665): Subscription (SUBSCRIBE for any
# event package the Engine knows) and Referral (REFER, RFC 3515, with its
# implicit "refer" subscription), both on PJSIP's event subscription
# framework over a dialog of their own.
#
# States (PJSIP's, as the SIP SIMPLE core names them): the tables
# SUBSCRIPTION and REFERRAL in sipsimple/core/_states.py, drawn in
# docs/api/subscriptions.md; only _change_state() changes them. A failure
# before the subscription started ends it with DidFail, later ones with
# DidEnd.
#
# Refreshes are sent by PJSIP before expiry. A NOTIFY with
# "Subscription-State: terminated;reason=deactivated" (or probation) ends the
# dialog; RFC 6665 section 4.1.3 says to subscribe again, which Subscription
# does at once (deactivated) or after retry-after (probation), in a new
# dialog, as long as the application has not called end().
#
# Notifications: <prefix>ChangedState (prev_state, state), <prefix>GotNotify
# (request_uri, from_header, to_header, headers, body, content_type, event,
# subscription_state, reason), <prefix>DidStart (Subscription), <prefix>DidEnd
# (originator, code, reason), <prefix>DidFail (code, reason); prefix
# "SIPSubscription" or "SIPReferral".

from sipsimple.core._states import INCOMING_REFERRAL, INCOMING_SUBSCRIPTION, REFERRAL, SUBSCRIPTION

cdef pjsip_module _subscription_module
cdef pjsip_evsub_user _subscription_callbacks

# PJSIP's event subscription states as events of SUBSCRIPTION and REFERRAL.
_EVSUB_EVENTS = {
    PJSIP_EVSUB_STATE_SENT: "sent",
    PJSIP_EVSUB_STATE_ACCEPTED: "accepted",
    PJSIP_EVSUB_STATE_PENDING: "pending",
    PJSIP_EVSUB_STATE_ACTIVE: "active",
    PJSIP_EVSUB_STATE_TERMINATED: "terminated",
    PJSIP_EVSUB_STATE_UNKNOWN: "unknown",
}

# The event packages and the body types their NOTIFYs may carry; the Engine's
# `events` option replaces it. "refer" is PJSIP's transfer package.
DEFAULT_EVENTS = {
    "presence": ["application/pidf+xml", "application/rlmi+xml", "multipart/related"],
    "presence.winfo": ["application/watcherinfo+xml"],
    "message-summary": ["application/simple-message-summary"],
    "dialog": ["application/dialog-info+xml", "application/rlmi+xml", "multipart/related"],
    "xcap-diff": ["application/xcap-diff+xml"],
    "conference": ["application/conference-info+xml"],
}


cdef int _register_subscription_module(PJSIPUA ua, dict events) except -1:
    cdef int status
    cdef pj_str_t event_name
    cdef pj_str_t accept[16]
    _subscription_module.name = pj_str("mod-sipsimple-subscription")
    _subscription_module.id = -1
    _subscription_module.priority = PJSIP_MOD_PRIORITY_DIALOG_USAGE
    status = pjsip_endpt_register_module(ua._endpt, &_subscription_module)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not register the subscription module", status)
    status = pjsip_evsub_init_module(ua._endpt)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not initialize event subscriptions", status)
    status = pjsip_xfer_init_module(ua._endpt)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not initialize REFER", status)
    _subscription_callbacks.on_evsub_state = _cb_evsub_state
    _subscription_callbacks.on_rx_notify = _cb_evsub_rx_notify
    for event, types in events.items():
        # PJSIP copies the strings into its own pool.
        encoded_event = event.encode()
        encoded_types = [t.encode() for t in types][:16]
        _set_pj_str(&event_name, encoded_event)
        for index, encoded in enumerate(encoded_types):
            _set_pj_str(&accept[index], encoded)
        status = pjsip_evsub_register_pkg(&_subscription_module, &event_name, 3600, len(encoded_types), accept)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not register the event package %r" % event, status)
    return 0


@cython.auto_pickle(False)
cdef class _ClientSubscription:
    # What Subscription and Referral share: a UAC dialog carrying one
    # event subscription, driven by PJSIP's evsub callbacks.

    cdef readonly str state
    cdef readonly object request_uri
    cdef readonly object from_header
    cdef readonly object to_header
    cdef readonly object contact_header
    cdef readonly object route_header
    cdef readonly object credentials
    cdef readonly object call_id
    cdef PJSIPUA _ua
    cdef pjsip_dialog *_dlg
    cdef pjsip_evsub *_evsub
    cdef pj_timer_entry _timer
    cdef str _prefix
    cdef int _started
    cdef int _end_requested
    cdef object _last_code
    cdef object _last_reason
    cdef object _retry_after
    cdef object _sender      # who the notifications come from: self, or the Invitation of a transfer
    cdef object _machine     # SUBSCRIPTION or REFERRAL (sipsimple/core/_states.py)

    def __cinit__(self):
        self._machine = SUBSCRIPTION
        self.state = SUBSCRIPTION.initial
        self._sender = self

    cdef int _create_dialog(self) except -1:
        cdef PJSIPUA ua = _ua
        cdef pj_str_t local_uri, contact, remote_uri, target
        cdef int status
        if ua is None or ua._endpt == NULL:
            raise SIPCoreInvalidStateError("Engine is not running")
        _check_thread()
        encoded_local = _header_text(self.from_header).encode()
        encoded_contact = _header_text(self.contact_header).encode()
        encoded_remote = _header_text(self.to_header).encode()
        encoded_target = str(self.request_uri).encode()
        _set_pj_str(&local_uri, encoded_local)
        _set_pj_str(&contact, encoded_contact)
        _set_pj_str(&remote_uri, encoded_remote)
        _set_pj_str(&target, encoded_target)
        with nogil:
            status = pjsip_dlg_create_uac(pjsip_ua_instance(), &local_uri, &contact, &remote_uri, &target,
                                          &self._dlg)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the dialog (check the URIs and headers)", status)
        self._ua = ua
        self.call_id = _pj_str_to_str(self._dlg.call_id.id)
        return 0

    cdef int _configure_dialog(self) except -1:
        # Only once a usage holds the dialog (see _configure_uac_dialog).
        return _configure_uac_dialog(self._ua, self._dlg, self.route_header, self.credentials)

    cdef int _attach(self, pjsip_evsub *evsub) except -1:
        self._evsub = evsub
        pjsip_evsub_set_mod_data(evsub, _subscription_module.id, <void *> self)
        self._ua._live_objects.add(self)
        try:
            self._configure_dialog()
        except BaseException:
            with nogil:
                pjsip_evsub_terminate(evsub, 0)
            raise
        return 0

    cdef int _send(self, pjsip_tx_data *tdata, object extra_headers, object content_type, object body,
                   object timeout) except -1:
        cdef int status
        try:
            _add_headers(tdata, list(extra_headers or []))
            if body is not None:
                _set_body(tdata, content_type, _body_bytes(body))
        except BaseException:
            pjsip_tx_data_dec_ref(tdata)
            raise
        with nogil:
            status = pjsip_evsub_send_request(self._evsub, tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the request", status)
        if timeout is not None:
            self._schedule_timeout(timeout)
        return 0

    cdef int _schedule_timeout(self, double seconds) except -1:
        cdef pj_time_val delay
        _cancel_timer(self._ua._endpt, &self._timer)
        self._timer.user_data = <void *> self
        self._timer.cb = _cb_subscription_timer
        delay.sec = <long> seconds
        delay.msec = <long> ((seconds - <long> seconds) * 1000)
        if pjsip_endpt_schedule_timer(self._ua._endpt, &self._timer, &delay) == PJ_SUCCESS:
            self._timer.id = 1
        return 0

    def end(self, timeout=None):
        """Unsubscribe (expiry 0); the subscription ends when the final NOTIFY or an error arrives."""
        cdef pjsip_tx_data *tdata = NULL
        cdef int status
        self._end_requested = 1
        if self._evsub == NULL or not self._machine.allows(self.state, "end"):
            return
        _check_thread()
        with nogil:
            status = pjsip_evsub_initiate(self._evsub, NULL, 0, &tdata)
        if status != PJ_SUCCESS:
            with nogil:
                pjsip_evsub_terminate(self._evsub, 0)
            return
        self._send(tdata, None, None, None, timeout)

    cdef int _on_state(self, pjsip_evsub *evsub, pjsip_event *event) except -1:
        cdef PJSIPUA ua = self._ua
        cdef pjsip_transaction *tsx = NULL
        cdef pjsip_rx_data *rdata = NULL
        change = _EVSUB_EVENTS.get(pjsip_evsub_get_state(evsub))
        if event != NULL and event.type == PJSIP_EVENT_TSX_STATE:
            tsx = event.body.tsx_state.tsx
            if tsx != NULL and tsx.status_code >= 200:
                self._last_code = tsx.status_code
                self._last_reason = _pj_str_to_str(tsx.status_text)
        if change is None or self.state in self._machine.targets(change):
            return 0   # PJSIP reports the state we are in (a NOTIFY active while active, ...)
        state = self._change_state(change, self._sender)
        if state in ("ACCEPTED", "PENDING", "ACTIVE") and not self._started:
            self._started = 1
            _cancel_timer(ua._endpt, &self._timer)
            self._did_start()
        if state == "TERMINATED":
            _cancel_timer(ua._endpt, &self._timer)
            reason = _pj_str_to_str(pjsip_evsub_get_termination_reason(evsub)[0])
            pjsip_evsub_set_mod_data(evsub, _subscription_module.id, NULL)
            self._evsub = NULL
            self._dlg = NULL
            ua._live_objects.discard(self)
            code = self._last_code or 0
            if self._started and self._resubscribes(reason):
                return 0
            if self._started:
                originator = "local" if self._end_requested else "remote"
                ua._add_event(self._prefix + "DidEnd", dict(originator=originator, code=code,
                                                            reason=reason or self._last_reason), self._sender)
            else:
                ua._add_event(self._prefix + "DidFail", dict(code=code, reason=self._last_reason or reason),
                              self._sender)
        return 0

    cdef str _change_state(self, str event, object sender):
        # The one place where state changes: to where the table says
        # `event` leads (an event it does not know there is a bug, raised).
        prev_state = self.state
        self.state = self._machine.next(prev_state, event)
        self._ua._add_event(self._prefix + "ChangedState", dict(prev_state=prev_state, state=self.state), sender)
        return self.state

    cdef int _did_start(self) except -1:
        return 0

    cdef int _resubscribes(self, str reason) except -1:
        # Whether the subscription carries on in a new dialog after this end.
        return 0

    cdef int _on_notify(self, pjsip_rx_data *rdata) except -1:
        cdef pjsip_msg *msg = rdata.msg_info.msg
        headers = _frozen_headers_of_message(msg)
        values = {}
        for header in headers:
            values.setdefault(header.name.lower(), header)
        state_header = values.get("subscription-state")
        state_text = str(state_header.body) if state_header is not None else ""
        substate, _, parameters = state_text.partition(";")
        parameter_values = dict(p.strip().partition("=")[::2] for p in parameters.split(";") if p.strip())
        event_header = values.get("event")
        self._ua._add_event(self._prefix + "GotNotify", dict(
            request_uri=_request_uri_of(msg), from_header=values.get("from"), to_header=values.get("to"),
            headers=headers, body=_message_body(msg), content_type=_message_content_type(msg),
            event=str(event_header.body).partition(";")[0].strip() if event_header is not None else None,
            subscription_state=substate.strip().lower(), reason=parameter_values.get("reason"),
            retry_after=parameter_values.get("retry-after")), self._sender)
        self._retry_after = parameter_values.get("retry-after")
        return 0


@cython.auto_pickle(False)
cdef class Subscription(_ClientSubscription):
    """A SUBSCRIBE dialog for one event package (RFC 6665)."""

    cdef readonly str event
    cdef readonly int refresh
    cdef object _extra_headers
    cdef object _content_type
    cdef object _body
    cdef object _timeout
    cdef object _resubscribe_reason

    def __init__(self, request_uri, from_header, to_header, contact_header, event, route_header, credentials=None,
                 refresh=300):
        if not isinstance(event, str) or not event:
            raise ValueError("event must be an event package name such as 'presence'")
        if not isinstance(refresh, int) or isinstance(refresh, bool) or refresh <= 0:
            raise ValueError("refresh must be a positive number of seconds")
        for name, value in (("request_uri", request_uri), ("from_header", from_header), ("to_header", to_header),
                            ("contact_header", contact_header)):
            if value is None:
                raise TypeError("%s is required" % name)
        self._prefix = "SIPSubscription"
        self.request_uri = request_uri
        self.from_header = from_header
        self.to_header = to_header
        self.contact_header = contact_header
        self.event = event
        self.route_header = route_header
        self.credentials = credentials
        self.refresh = refresh

    def subscribe(self, extra_headers=None, content_type=None, body=None, timeout=None):
        """Send the SUBSCRIBE (or, once subscribed, a refresh carrying these headers and body)."""
        cdef pjsip_evsub *evsub = NULL
        cdef pjsip_tx_data *tdata = NULL
        cdef pj_str_t event
        cdef int status
        cdef unsigned expires = self.refresh
        if (body is None) != (content_type is None):
            raise TypeError("content_type and body must be given together")
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ValueError("timeout must be a positive number of seconds")
        SUBSCRIPTION.require(self.state, "subscribe", SIPCoreInvalidStateError)
        self._extra_headers, self._content_type, self._body, self._timeout = extra_headers, content_type, body, timeout
        if self._evsub == NULL:
            self._create_dialog()
            encoded_event = self.event.encode()
            _set_pj_str(&event, encoded_event)
            with nogil:
                status = pjsip_evsub_create_uac(self._dlg, &_subscription_callbacks, &event, PJSIP_EVSUB_NO_EVENT_ID,
                                                &evsub)
            if status != PJ_SUCCESS:
                with nogil:
                    pjsip_dlg_terminate(self._dlg)
                self._dlg = NULL
                raise PJSIPError("Could not create the %s subscription (is the event package known to the Engine?)"
                                 % self.event, status)
            self._attach(evsub)
        else:
            _check_thread()
        with nogil:
            status = pjsip_evsub_initiate(self._evsub, NULL, expires, &tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the SUBSCRIBE", status)
        self._send(tdata, extra_headers, content_type, body, timeout)

    cdef int _did_start(self) except -1:
        self._ua._add_event("SIPSubscriptionDidStart", dict(), self)
        return 0

    cdef int _resubscribes(self, str reason) except -1:
        # RFC 6665 4.1.3: "deactivated" means subscribe again now,
        # "probation" after retry-after seconds; this object carries on in a
        # new dialog (states go back to NULL, then SENT).
        cdef double delay
        if self._end_requested or reason not in ("deactivated", "probation"):
            return 0
        self._started = 0
        self._last_code = self._last_reason = None
        self._change_state("resubscribe", self)
        if reason == "deactivated":
            self.subscribe(self._extra_headers, self._content_type, self._body, self._timeout)
        else:
            try:
                delay = float(self._retry_after) if self._retry_after else 30.0
            except ValueError:
                delay = 30.0
            self._ua._live_objects.add(self)
            self._schedule_timeout(max(delay, 1.0))
        return 1


cdef void _cb_evsub_state(pjsip_evsub *evsub, pjsip_event *event) noexcept with gil:
    cdef PJSIPUA ua = _ua
    cdef void *data
    if ua is None:
        return
    data = pjsip_evsub_get_mod_data(evsub, _subscription_module.id)
    if data == NULL:
        return
    try:
        (<_ClientSubscription> data)._on_state(evsub, event)
    except BaseException:
        _report_callback_exception()


cdef void _cb_evsub_rx_notify(pjsip_evsub *evsub, pjsip_rx_data *rdata, int *p_st_code, pj_str_t **p_st_text,
                              pjsip_hdr *res_hdr, pjsip_msg_body **p_body) noexcept with gil:
    # PJSIP answers the NOTIFY (200) after this returns.
    cdef PJSIPUA ua = _ua
    cdef void *data
    if ua is None:
        return
    data = pjsip_evsub_get_mod_data(evsub, _subscription_module.id)
    if data == NULL:
        return
    try:
        (<_ClientSubscription> data)._on_notify(rdata)
    except BaseException:
        _report_callback_exception()


cdef void _cb_subscription_timer(pj_timer_heap_t *heap, pj_timer_entry *entry) noexcept with gil:
    # Either no answer within the caller's timeout (end with 408), or the
    # retry-after of a probation ended.
    cdef PJSIPUA ua = _ua
    cdef _ClientSubscription subscription
    if ua is None or entry.user_data == NULL:
        return
    subscription = <_ClientSubscription> entry.user_data
    entry.id = 0
    try:
        if subscription._evsub != NULL and not subscription._started:
            subscription._last_code = 408
            subscription._last_reason = "Request Timeout"
            pjsip_evsub_terminate(subscription._evsub, 0)
        elif subscription._evsub == NULL and isinstance(subscription, Subscription) \
                and subscription.state == "NULL" and not subscription._end_requested:
            ua._live_objects.discard(subscription)
            (<Subscription> subscription).subscribe(
                (<Subscription> subscription)._extra_headers, (<Subscription> subscription)._content_type,
                (<Subscription> subscription)._body, (<Subscription> subscription)._timeout)
    except BaseException:
        _report_callback_exception()


# --- server side -------------------------------------------------------------
#
# IncomingSubscription and IncomingReferral states: the tables
# INCOMING_SUBSCRIPTION and INCOMING_REFERRAL in sipsimple/core/_states.py,
# drawn in docs/api/subscriptions.md; only _change_state() changes them. An
# unanswered request is rejected (480) after _UNANSWERED_TIMEOUT.
#
# Notifications (sender: the IncomingSubscription): SIPIncomingSubscriptionGotSubscribe
# (event, request_uri, from_header, to_header, headers, body, content_type),
# SIPIncomingSubscriptionGotRefreshingSubscribe, SIPIncomingSubscriptionGotUnsubscribe,
# SIPIncomingSubscriptionDidEnd (originator).

cdef pjsip_evsub_user _server_subscription_callbacks
cdef pjsip_evsub_user _server_referral_callbacks


cdef int _init_server_callbacks() except -1:
    _server_subscription_callbacks.on_evsub_state = _cb_server_evsub_state
    _server_subscription_callbacks.on_tsx_state = _cb_server_tsx_state
    _server_referral_callbacks.on_tsx_state = _cb_server_tsx_state
    _server_subscription_callbacks.on_rx_refresh = _cb_server_rx_refresh
    _server_subscription_callbacks.on_server_timeout = _cb_server_timeout
    # PJSIP's refer package answers refreshes itself.
    _server_referral_callbacks.on_evsub_state = _cb_server_evsub_state
    return 0


@cython.auto_pickle(False)
cdef class _ServerSubscription:
    cdef readonly str state
    cdef readonly object event
    cdef readonly object request_uri
    cdef readonly object from_header
    cdef readonly object to_header
    cdef readonly list headers
    cdef readonly object body
    cdef readonly object content_type
    cdef PJSIPUA _ua
    cdef pjsip_dialog *_dlg
    cdef pjsip_evsub *_evsub
    cdef pjsip_rx_data *_rdata
    cdef pj_timer_entry _timer
    cdef str _prefix
    cdef int _end_requested
    # One NOTIFY at a time per dialog: the next waits for the previous one's
    # answer (otherwise a quick "100 Trying" then "200 OK" pair can reach the
    # subscriber out of order over UDP).
    cdef bint _notify_pending
    cdef object _notify_queue
    cdef object _sender      # who the notifications come from: self, or the Invitation of a transfer
    cdef object _machine     # INCOMING_SUBSCRIPTION or INCOMING_REFERRAL (sipsimple/core/_states.py)

    def __cinit__(self):
        self._machine = INCOMING_SUBSCRIPTION
        self.state = INCOMING_SUBSCRIPTION.initial
        self._notify_queue = collections.deque()
        self._sender = self

    cdef int _setup(self, PJSIPUA ua, pjsip_rx_data *rdata, bint refer) except -1:
        # A request outside a dialog: the subscription gets a dialog of its own.
        cdef pjsip_dialog *dlg = NULL
        cdef pj_str_t contact
        cdef int status
        encoded_contact = _local_contact(rdata).encode()
        _set_pj_str(&contact, encoded_contact)
        status = pjsip_dlg_create_uas_and_inc_lock(pjsip_ua_instance(), rdata, &contact, &dlg)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the dialog", status)
        try:
            self._setup_in_dialog(ua, dlg, rdata, refer, True)
        finally:
            pjsip_dlg_dec_lock(dlg)
        return 0

    cdef int _setup_in_dialog(self, PJSIPUA ua, pjsip_dialog *dlg, pjsip_rx_data *rdata, bint refer,
                              bint own_dialog) except -1:
        # The caller holds the dialog's lock. own_dialog: the dialog was made
        # for this subscription, and goes if the subscription cannot be made.
        cdef pjsip_evsub *evsub = NULL
        cdef int status
        if refer:
            status = pjsip_xfer_create_uas(dlg, &_server_referral_callbacks, rdata, &evsub)
        else:
            status = pjsip_evsub_create_uas(dlg, &_server_subscription_callbacks, rdata, 0, &evsub)
        if status != PJ_SUCCESS:
            if own_dialog:
                pjsip_dlg_terminate(dlg)
            raise PJSIPError("Could not create the subscription", status)
        try:
            self._keep_request(ua, dlg, rdata)
        except BaseException:
            pjsip_evsub_terminate(evsub, 0)
            raise
        self._attach_evsub(evsub)
        return 0

    cdef int _attach_evsub(self, pjsip_evsub *evsub) except -1:
        self._evsub = evsub
        pjsip_evsub_set_mod_data(evsub, _subscription_module.id, <void *> self)
        return 0

    cdef int _keep_request(self, PJSIPUA ua, pjsip_dialog *dlg, pjsip_rx_data *rdata) except -1:
        # The request stays (cloned) until the application answers it, for
        # at most _UNANSWERED_TIMEOUT seconds.
        cdef pj_time_val delay
        cdef int status
        cdef pjsip_msg *msg = rdata.msg_info.msg
        status = pjsip_rx_data_clone(rdata, 0, &self._rdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not keep the request", status)
        sipsimple_copy_endpt_info(self._rdata, rdata)
        self._ua = ua
        self._dlg = dlg
        ua._live_objects.add(self)
        self.headers = _frozen_headers_of_message(msg)
        for header in self.headers:
            if header.name == "From" and self.from_header is None:
                self.from_header = header
            elif header.name == "To" and self.to_header is None:
                self.to_header = header
            elif header.name == "Event" and self.event is None:
                self.event = str(header.body).partition(";")[0].strip()
        self.request_uri = _request_uri_of(msg)
        self.body = _message_body(msg)
        self.content_type = _message_content_type(msg)
        self._timer.user_data = <void *> self
        self._timer.cb = _cb_server_subscription_timer
        unanswered_timeout = float(_UNANSWERED_TIMEOUT)
        delay.sec = <long> unanswered_timeout
        delay.msec = <long> ((unanswered_timeout - <long> unanswered_timeout) * 1000)
        if pjsip_endpt_schedule_timer(ua._endpt, &self._timer, &delay) == PJ_SUCCESS:
            self._timer.id = 1
        return 0

    cdef int _require(self, str operation) except -1:
        self._machine.require(self.state, operation, SIPCoreInvalidStateError)
        if self._ua is None or self._ua._endpt == NULL or self._evsub == NULL:
            raise SIPCoreInvalidStateError("This subscription no longer exists")
        _check_thread()
        return 0

    cdef int _answered(self) except -1:
        _cancel_timer(self._ua._endpt, &self._timer)
        if self._rdata != NULL:
            pjsip_rx_data_free_cloned(self._rdata)
            self._rdata = NULL
        return 0

    def reject(self, code):
        """Refuse the request with a final non-2xx response."""
        cdef pjsip_tx_data *tdata = NULL
        cdef int status
        cdef int st_code
        if not isinstance(code, int) or isinstance(code, bool) or not 300 <= code <= 699:
            raise ValueError("code must be a final non-2xx SIP status code (300-699)")
        self._require("reject")
        st_code = code
        with nogil:
            status = pjsip_dlg_create_response(self._dlg, self._rdata, st_code, NULL, &tdata)
            if status == PJ_SUCCESS:
                status = pjsip_dlg_send_response(self._dlg, pjsip_rdata_get_tsx(self._rdata), tdata)
        self._answered()
        self._end_requested = 1
        with nogil:
            pjsip_evsub_terminate(self._evsub, 0)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the response", status)

    cdef int _send_notify(self, pjsip_tx_data *tdata, object content_type, object content) except -1:
        cdef int status
        if content is not None:
            try:
                _set_body(tdata, content_type, _body_bytes(content))
            except BaseException:
                pjsip_tx_data_dec_ref(tdata)
                raise
        with nogil:
            status = pjsip_evsub_send_request(self._evsub, tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the NOTIFY", status)
        return 0

    cdef int _queue_notify(self, object send) except -1:
        # send(): creates and sends one NOTIFY.
        if self._notify_pending:
            self._notify_queue.append(send)
            return 0
        self._notify_pending = True
        try:
            send()
        except BaseException:
            self._notify_pending = False
            raise
        return 0

    cdef int _notify_answered(self) except -1:
        self._notify_pending = False
        while self._notify_queue and not self._notify_pending and self._evsub != NULL:
            send = self._notify_queue.popleft()
            self._notify_pending = True
            try:
                send()
            except SIPCoreError:
                self._notify_pending = False
                self._ua._add_exception()
        return 0

    cdef int _on_terminated(self) except -1:
        cdef PJSIPUA ua = self._ua
        if self.state == "terminated" and self._evsub == NULL:
            return 0
        if self._rdata != NULL:
            # Terminated before the application answered: PJSIP ended it.
            self._answered()
        if self.state != "terminated":
            self._change_state("terminated")
        self._notify_queue.clear()
        pjsip_evsub_set_mod_data(self._evsub, _subscription_module.id, NULL)
        self._evsub = NULL
        self._dlg = NULL
        ua._live_objects.discard(self)
        ua._add_event(self._prefix + "DidEnd", dict(originator="local" if self._end_requested else "remote"),
                      self._sender)
        return 0

    cdef int _change_state(self, str event) except -1:
        # The one place where state changes: to where the table says `event` leads.
        self.state = self._machine.next(self.state, event)
        return 0


@cython.auto_pickle(False)
cdef class IncomingSubscription(_ServerSubscription):
    """A SUBSCRIBE received for one of the Engine's incoming_events (RFC 6665, notifier side)."""

    cdef object _content_type
    cdef object _content

    def __cinit__(self):
        self._prefix = "SIPIncomingSubscription"

    def accept_pending(self):
        """Accept (202) and tell the subscriber its subscription is pending authorization."""
        cdef int status
        self._require("accept_pending")
        with nogil:
            status = pjsip_evsub_accept(self._evsub, self._rdata, 202, NULL)
        self._answered()
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not accept the subscription", status)
        self._change_state("accept_pending")
        self._queue_notify(functools.partial(self._notify_state, "pending", None, None, None))

    def accept(self, content_type=None, content=None):
        """Accept (200, or from pending) and send the current state in an active NOTIFY."""
        cdef int status
        if (content is None) != (content_type is None):
            raise TypeError("content_type and content must be given together")
        self._require("accept")
        if self.state == "incoming":
            with nogil:
                status = pjsip_evsub_accept(self._evsub, self._rdata, 200, NULL)
            self._answered()
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not accept the subscription", status)
        self._change_state("accept")
        if content is not None:
            self._content_type, self._content = content_type, content
        self._queue_notify(functools.partial(self._notify_state, "active", None, self._content_type, self._content))

    def push_content(self, content_type, content):
        """Send new state to the subscriber (active subscriptions only)."""
        if content_type is None or content is None:
            raise TypeError("content_type and content are required")
        self._require("push_content")
        self._content_type, self._content = content_type, content
        self._queue_notify(functools.partial(self._notify_state, "active", None, content_type, content))

    def end(self, reason=None):
        """End the subscription with a terminated NOTIFY (reason: e.g. "noresource", "deactivated")."""
        if self.state == "incoming":
            self.reject(480)
            return
        if self.state == "terminated":
            return
        self._require("end")
        self._end_requested = 1
        self._queue_notify(functools.partial(self._notify_state, "terminated", reason, None, None))

    def _notify_state(self, str state, reason, content_type, content):
        # Sends one NOTIFY (queued by _queue_notify).
        cdef pjsip_tx_data *tdata = NULL
        cdef pj_str_t reason_str
        cdef pj_str_t *reason_ptr = NULL
        cdef pjsip_evsub_state evsub_state
        cdef int status
        if self._evsub == NULL:
            raise SIPCoreInvalidStateError("This subscription no longer exists")
        _check_thread()
        evsub_state = {"pending": PJSIP_EVSUB_STATE_PENDING, "active": PJSIP_EVSUB_STATE_ACTIVE,
                       "terminated": PJSIP_EVSUB_STATE_TERMINATED}[state]
        if reason is not None:
            encoded_reason = str(reason).encode()
            _set_pj_str(&reason_str, encoded_reason)
            reason_ptr = &reason_str
        with nogil:
            status = pjsip_evsub_notify(self._evsub, evsub_state, NULL, reason_ptr, &tdata)
        if status != PJ_SUCCESS:
            if evsub_state == PJSIP_EVSUB_STATE_TERMINATED:
                with nogil:
                    pjsip_evsub_terminate(self._evsub, 0)
                return
            raise PJSIPError("Could not create the NOTIFY", status)
        self._send_notify(tdata, content_type, content)

    def _notify_current(self):
        cdef pjsip_tx_data *tdata = NULL
        if self._evsub == NULL:
            return
        if pjsip_evsub_current_notify(self._evsub, &tdata) == PJ_SUCCESS:
            active = self.state == "active"
            self._send_notify(tdata, self._content_type if active else None, self._content if active else None)

    cdef int _on_refresh(self, pjsip_rx_data *rdata) except -1:
        # Called by PJSIP before it answers 200: a refresh gets the current
        # state again, an unsubscribe (expiry 0) a terminated NOTIFY.
        cdef bint unsubscribe = pjsip_evsub_get_state(self._evsub) == PJSIP_EVSUB_STATE_TERMINATED
        self._ua._add_event("SIPIncomingSubscriptionGotUnsubscribe" if unsubscribe
                            else "SIPIncomingSubscriptionGotRefreshingSubscribe", dict(), self)
        if self.state == "incoming":
            return 0
        if unsubscribe:
            self._end_requested = 0
            self._queue_notify(functools.partial(self._notify_state, "terminated", None, None, None))
        else:
            self._queue_notify(self._notify_current)
        return 0


cdef int _receive_subscribe(PJSIPUA ua, pjsip_rx_data *rdata, object event) except -1:
    cdef IncomingSubscription subscription = IncomingSubscription()
    subscription._setup(ua, rdata, False)
    ua._add_event("SIPIncomingSubscriptionGotSubscribe", dict(
        event=event, request_uri=subscription.request_uri, from_header=subscription.from_header,
        to_header=subscription.to_header, headers=subscription.headers, body=subscription.body,
        content_type=subscription.content_type), subscription)
    return 0


cdef void _cb_server_evsub_state(pjsip_evsub *evsub, pjsip_event *event) noexcept with gil:
    cdef PJSIPUA ua = _ua
    cdef void *data
    if ua is None:
        return
    data = pjsip_evsub_get_mod_data(evsub, _subscription_module.id)
    if data == NULL:
        return
    try:
        if pjsip_evsub_get_state(evsub) == PJSIP_EVSUB_STATE_TERMINATED:
            (<_ServerSubscription> data)._on_terminated()
    except BaseException:
        _report_callback_exception()


cdef void _cb_server_rx_refresh(pjsip_evsub *evsub, pjsip_rx_data *rdata, int *p_st_code, pj_str_t **p_st_text,
                                pjsip_hdr *res_hdr, pjsip_msg_body **p_body) noexcept with gil:
    cdef PJSIPUA ua = _ua
    cdef void *data
    if ua is None:
        return
    data = pjsip_evsub_get_mod_data(evsub, _subscription_module.id)
    if data == NULL:
        return
    try:
        (<IncomingSubscription> data)._on_refresh(rdata)
    except BaseException:
        _report_callback_exception()


cdef void _cb_server_timeout(pjsip_evsub *evsub) noexcept with gil:
    # The subscriber did not refresh in time.
    cdef PJSIPUA ua = _ua
    cdef pjsip_tx_data *tdata = NULL
    cdef pj_str_t reason = pj_str("timeout")
    if ua is None:
        return
    try:
        if pjsip_evsub_notify(evsub, PJSIP_EVSUB_STATE_TERMINATED, NULL, &reason, &tdata) == PJ_SUCCESS:
            pjsip_evsub_send_request(evsub, tdata)
        else:
            pjsip_evsub_terminate(evsub, 0)
    except BaseException:
        _report_callback_exception()


cdef void _cb_server_subscription_timer(pj_timer_heap_t *heap, pj_timer_entry *entry) noexcept with gil:
    cdef PJSIPUA ua = _ua
    cdef _ServerSubscription subscription
    if ua is None or entry.user_data == NULL:
        return
    subscription = <_ServerSubscription> entry.user_data
    entry.id = 0
    try:
        if subscription.state == "incoming" and subscription._rdata != NULL:
            subscription.reject(480)
    except BaseException:
        _report_callback_exception()


cdef void _cb_server_tsx_state(pjsip_evsub *evsub, pjsip_transaction *tsx, pjsip_event *event) noexcept with gil:
    # A NOTIFY of ours was answered (or failed): the next one may go.
    cdef PJSIPUA ua = _ua
    cdef void *data
    cdef bint done
    if ua is None or tsx == NULL:
        return
    data = pjsip_evsub_get_mod_data(evsub, _subscription_module.id)
    if data == NULL:
        return
    try:
        if _pj_str_to_str(tsx.method.name) != "NOTIFY":
            return
        done = tsx.state == PJSIP_TSX_STATE_COMPLETED or (
            tsx.state == PJSIP_TSX_STATE_TERMINATED and event.body.tsx_state.prev_state < PJSIP_TSX_STATE_COMPLETED)
        if done:
            (<_ServerSubscription> data)._notify_answered()
    except BaseException:
        _report_callback_exception()
