# Client event subscriptions (RFC 6665): Subscription (SUBSCRIBE for any
# event package the Engine knows) and Referral (REFER, RFC 3515, with its
# implicit "refer" subscription), both on PJSIP's event subscription
# framework over a dialog of their own.
#
# States (PJSIP's, as the SIP SIMPLE core names them):
#
#   NULL --subscribe()/send_refer()--> SENT --2xx--> ACCEPTED --NOTIFY active--> ACTIVE
#                                       |              \--NOTIFY pending--> PENDING --NOTIFY active--> ACTIVE
#                                       +--failure--> TERMINATED (DidFail)
#   any --NOTIFY terminated, end() answered, 481, refresh failure, timeout--> TERMINATED (DidEnd)
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

cdef pjsip_module _subscription_module
cdef pjsip_evsub_user _subscription_callbacks

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


cdef object _header_text(object header):
    if header is None:
        return None
    return str(header.body if hasattr(header, "body") else header)


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

    def __cinit__(self):
        self.state = "NULL"

    cdef int _create_dialog(self) except -1:
        cdef PJSIPUA ua = _ua
        cdef pj_str_t local_uri, contact, remote_uri, target
        cdef pjsip_cred_info cred
        cdef pjsip_hdr route_set
        cdef void *route
        cdef int parsed_length = 0
        cdef pj_str_t route_name
        cdef pj_str_t route_value
        cdef pj_pool_t *pool
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
        if self.route_header is not None:
            pj_list_init(&route_set)
            pool = pjsip_endpt_create_pool(ua._endpt, "route", 512, 512)
            try:
                pj_strdup2_with_null(pool, &route_name, b"Route")
                pj_strdup2_with_null(pool, &route_value, _header_text(self.route_header).encode())
                route = pjsip_parse_hdr(pool, &route_name, route_value.ptr, route_value.slen, &parsed_length)
                if route == NULL:
                    raise SIPCoreError("Could not parse the route header %s" % _header_text(self.route_header))
                pj_list_push_back(&route_set, route)
                status = pjsip_dlg_set_route_set(self._dlg, <pjsip_route_hdr *> &route_set)  # copies into the dialog
                if status != PJ_SUCCESS:
                    raise PJSIPError("Could not set the route", status)
            finally:
                pjsip_endpt_release_pool(ua._endpt, pool)
        if self.credentials is not None:
            encoded_username = str(self.credentials.username).encode()
            encoded_password = str(self.credentials.password).encode()
            encoded_realm = str(getattr(self.credentials, "realm", "*") or "*").encode()
            encoded_scheme = b"digest"
            _set_pj_str(&cred.realm, encoded_realm)
            _set_pj_str(&cred.scheme, encoded_scheme)
            _set_pj_str(&cred.username, encoded_username)
            _set_pj_str(&cred.data, encoded_password)
            cred.data_type = PJSIP_CRED_DATA_PLAIN_PASSWD
            status = pjsip_auth_clt_set_credentials(&self._dlg.auth_sess, 1, &cred)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not set the credentials", status)
        self.call_id = _pj_str_to_str(self._dlg.call_id.id)
        return 0

    cdef int _attach(self, pjsip_evsub *evsub) except -1:
        self._evsub = evsub
        pjsip_evsub_set_mod_data(evsub, _subscription_module.id, <void *> self)
        self._ua._live_objects.add(self)
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
        if self._evsub == NULL or self.state in ("NULL", "TERMINATED"):
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
        prev_state = self.state
        state = pjsip_evsub_get_state_name(evsub).decode()
        if event != NULL and event.type == PJSIP_EVENT_TSX_STATE:
            tsx = event.body.tsx_state.tsx
            if tsx != NULL and tsx.status_code >= 200:
                self._last_code = tsx.status_code
                self._last_reason = _pj_str_to_str(tsx.status_text)
        if state == prev_state:
            return 0
        self.state = state
        ua._add_event(self._prefix + "ChangedState", dict(prev_state=prev_state, state=state), self)
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
                                                            reason=reason or self._last_reason), self)
            else:
                ua._add_event(self._prefix + "DidFail", dict(code=code, reason=self._last_reason or reason), self)
        return 0

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
            retry_after=parameter_values.get("retry-after")), self)
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
        if self.state == "TERMINATED":
            raise SIPCoreInvalidStateError("This subscription has ended")
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
        prev_state, self.state = self.state, "NULL"
        self._ua._add_event("SIPSubscriptionChangedState", dict(prev_state=prev_state, state="NULL"), self)
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


@cython.auto_pickle(False)
cdef class Referral(_ClientSubscription):
    """A REFER (RFC 3515) outside a dialog, with the NOTIFYs reporting the referred request."""

    cdef readonly object refer_to_header

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
        if self.state != "NULL" or self._evsub != NULL:
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
        ua._add_exception()


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
        ua._add_exception()


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
        ua._add_exception()
