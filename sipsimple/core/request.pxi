# Requests outside a dialog: Request (client side, any method) and
# IncomingRequest (server side, for the methods the application asked for).
#
# States: the tables REQUEST and INCOMING_REQUEST in sipsimple/core/_states.py,
# drawn in docs/api/requests.md; only _change_state() changes them. A 401/407
# with credentials keeps a Request IN_PROGRESS: it is sent again once per
# challenge.
#
# Notifications (sender: the Request), in order:
#   SIPRequestDidSucceed (code, reason, headers, body, expires) or
#   SIPRequestDidFail (code, reason, headers, body);
#   SIPRequestWillExpire (expires: seconds left) once, a little before expiry;
#   SIPRequestDidEnd (expired: bool) last, always.
#
# Threads: send() and end() may be called from any thread; the transaction
# callbacks and timers run on the Engine thread. PJSIP objects (transaction,
# pool, timers) belong to the PJSIPUA that was running when send() was called
# and are released before that PJSIPUA's endpoint is destroyed.

import os as _os
import time as _time

from sipsimple.core._states import INCOMING_REQUEST, REQUEST

cdef pjsip_module _request_module
cdef int _request_module_registered = 0

cdef enum _RequestTimer:
    _TIMER_TIMEOUT = 1
    _TIMER_WILL_EXPIRE = 2
    _TIMER_EXPIRE = 3

# How long before expiry SIPRequestWillExpire comes: half the expiry, at most
# this many seconds, so that a refresh has time to get through.
_EXPIRE_WARNING_MAX_MARGIN = 30.0
# A challenge answered with credentials that are refused again is final.
cdef int _MAX_AUTH_ATTEMPTS = 2


cdef int _register_request_module(pjsip_endpoint *endpt) except -1:
    global _request_module_registered
    cdef int status
    _request_module.name = pj_str("mod-sipsimple-request")
    _request_module.id = -1
    _request_module.priority = PJSIP_MOD_PRIORITY_APPLICATION
    _request_module.on_tsx_state = _cb_request_tsx_state
    status = pjsip_endpt_register_module(endpt, &_request_module)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not register the request module", status)
    _request_module_registered = 1
    return 0


cdef int _set_auth_credentials(pjsip_auth_clt_sess *session, object credentials) except -1:
    # Digest credentials for a request's or a dialog's client authentication
    # session; PJSIP copies the strings into the session's pool.
    cdef pjsip_cred_info cred
    cdef int status
    try:
        username = credentials.username
        password = credentials.password
        realm = getattr(credentials, "realm", "*") or "*"
    except AttributeError:
        raise TypeError("credentials must be a Credentials object") from None
    encoded_username = str(username).encode()
    encoded_password = str(password).encode()
    encoded_realm = str(realm).encode()
    encoded_scheme = b"digest"
    _set_pj_str(&cred.realm, encoded_realm)
    _set_pj_str(&cred.scheme, encoded_scheme)
    _set_pj_str(&cred.username, encoded_username)
    _set_pj_str(&cred.data, encoded_password)
    cred.data_type = PJSIP_CRED_DATA_PLAIN_PASSWD
    status = pjsip_auth_clt_set_credentials(session, 1, &cred)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not set the credentials", status)
    return 0


# Content types already split: an application sends the same few over and
# over, and each is split twice (checked by the constructor, used by send()).
# Cleared when full, so that it stays small.
cdef dict _split_content_types = {}
cdef Py_ssize_t _SPLIT_CONTENT_TYPES_MAX = 256


cdef str _new_call_id():
    # 128 random bits in hex. PJSIP would make the Call-ID from a libuuid
    # UUID, whose generator reseeds random() on every call (about 1.8 us,
    # 9,000 instructions and the same getrandom() system call); this costs
    # a fifth of that.
    return _os.urandom(16).hex()


cdef int _set_via_branch(pjsip_tx_data *tdata) except -1:
    # The branch of a new request's Via, which PJSIP would make from a
    # libuuid UUID too (see _new_call_id). A request re-sent with
    # credentials gets a new branch from PJSIP, which clears this one.
    cdef pjsip_via_hdr *via = <pjsip_via_hdr *> pjsip_msg_find_hdr(tdata.msg, PJSIP_H_VIA, NULL)
    if via == NULL or via.branch_param.slen > 0:
        return 0
    pj_strdup2_with_null(tdata.pool, &via.branch_param, (_RFC3261_BRANCH_PREFIX + _os.urandom(16).hex()).encode())
    return 0


# RFC 3261 section 8.1.1.7: every branch starts with this magic cookie.
_RFC3261_BRANCH_PREFIX = "z9hG4bK"


cdef object _split_content_type(object content_type):
    # "text/plain;charset=utf-8" -> ("text", "plain", (("charset", "utf-8"),))
    if type(content_type) is not str:
        return _parse_content_type(content_type)
    split = _split_content_types.get(content_type)
    if split is None:
        split = _parse_content_type(content_type)
        _remember(_split_content_types, _SPLIT_CONTENT_TYPES_MAX, content_type, split)
    return split


cdef tuple _parse_content_type(object content_type):
    if not isinstance(content_type, str):
        raise TypeError("content_type must be a str such as 'text/plain'")
    main, *parameters = [part.strip() for part in content_type.split(";")]
    type_, slash, subtype = main.partition("/")
    if not slash or not type_ or not subtype or " " in main:
        raise ValueError("invalid content type %r: expected 'type/subtype'" % content_type)
    params = []
    for parameter in parameters:
        if not parameter:
            continue
        name, _, value = parameter.partition("=")
        params.append((name.strip(), value.strip()))
    return type_, subtype, tuple(params)


cdef object _body_bytes(object body):
    if body is None:
        return None
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise TypeError("body must be str or bytes, not %s" % type(body).__name__)


cdef object _header_name_body(object header):
    # Any header object of ours has .name and .body; plain (name, body)
    # pairs are accepted too.
    if isinstance(header, tuple) and len(header) == 2:
        return str(header[0]), str(header[1])
    try:
        return str(header.name), str(header.body)
    except AttributeError:
        raise TypeError("extra headers must be header objects (with .name and .body), not %s"
                        % type(header).__name__) from None


cdef int _add_headers(pjsip_tx_data *tdata, object headers) except -1:
    # Each header is parsed by PJSIP as it would be on the wire, so a typed
    # header (Route, Contact, ...) becomes the struct PJSIP routes by.
    cdef pj_str_t name
    cdef pj_str_t value
    cdef void *parsed
    cdef int parsed_length = 0
    for header in headers:
        header_name, header_body = _header_name_body(header)
        # The parsed header points into the text it was parsed from, so the
        # text (NUL-terminated, as the parser wants it) lives in the
        # request's pool.
        pj_strdup2_with_null(tdata.pool, &name, header_name.encode())
        pj_strdup2_with_null(tdata.pool, &value, header_body.encode())
        parsed = pjsip_parse_hdr(tdata.pool, &name, value.ptr, value.slen, &parsed_length)
        if parsed == NULL:
            raise SIPCoreError("Could not parse header %s: %s" % (header_name, header_body))
        pjsip_msg_add_hdr(tdata.msg, <pjsip_hdr *> parsed)
    return 0


cdef int _set_body(pjsip_tx_data *tdata, object content_type, bytes body) except -1:
    cdef pj_str_t type_str
    cdef pj_str_t subtype_str
    cdef pj_str_t text
    cdef pjsip_msg_body *msg_body
    cdef pjsip_param *param
    type_, subtype, params = _split_content_type(content_type)
    encoded_type = type_.encode()
    encoded_subtype = subtype.encode()
    _set_pj_str(&type_str, encoded_type)
    _set_pj_str(&subtype_str, encoded_subtype)
    _set_pj_str(&text, body)
    msg_body = pjsip_msg_body_create(tdata.pool, &type_str, &subtype_str, &text)
    if msg_body == NULL:
        raise SIPCoreError("Could not create the message body")
    for param_name, param_value in params:
        param = <pjsip_param *> pj_pool_alloc(tdata.pool, sizeof(pjsip_param))
        pj_strdup2_with_null(tdata.pool, &param.name, param_name.encode())
        pj_strdup2_with_null(tdata.pool, &param.value, param_value.encode())
        pj_list_push_back(&msg_body.content_type.param, param)
    tdata.msg.body = msg_body
    return 0


cdef object _request_uri_of(pjsip_msg *msg):
    # A FrozenSIPURI; the text for a URI our classes do not model (tel:, ...).
    cdef char buf[4096]
    cdef int length
    uri = _frozen_uri_from_pjsip(msg.line.req.uri)
    if uri is not None:
        return uri
    length = pjsip_uri_print(PJSIP_URI_IN_REQ_URI, msg.line.req.uri, buf, sizeof(buf))
    return buf[:length].decode("utf-8", "surrogateescape") if length > 0 else None


cdef object _message_body(pjsip_msg *msg):
    if msg == NULL or msg.body == NULL or msg.body.len == 0:
        return None
    return (<char *> msg.body.data)[:msg.body.len]


cdef object _message_content_type(pjsip_msg *msg):
    if msg == NULL or msg.body == NULL:
        return None
    return "%s/%s" % (_pj_str_to_str(msg.body.content_type.type), _pj_str_to_str(msg.body.content_type.subtype))


@cython.auto_pickle(False)
cdef class Request:
    """A SIP request outside a dialog, with digest authentication and expiry tracking."""

    cdef readonly str state
    cdef readonly str method
    cdef readonly object from_header
    cdef readonly object to_header
    cdef readonly object request_uri
    cdef readonly object route_header
    cdef readonly object credentials
    cdef readonly object contact_header
    cdef readonly object call_id
    cdef readonly object cseq
    cdef readonly object extra_headers
    cdef readonly object content_type
    cdef readonly object body
    cdef PJSIPUA _ua
    cdef pj_pool_t *_pool
    cdef pjsip_transaction *_tsx
    cdef pjsip_auth_clt_sess _auth
    cdef int _auth_attempts
    cdef pj_timer_entry _timeout_timer
    cdef pj_timer_entry _will_expire_timer
    cdef pj_timer_entry _expire_timer
    cdef object _expire_time
    cdef int _final_handled
    # Expiry assumed when a 2xx names none (REGISTER and PUBLISH users set it
    # to what they asked for); 0: a 2xx without expiry ends the request.
    cdef public int default_expires

    def __cinit__(self):
        self.state = REQUEST.initial

    def __init__(self, method, from_header, to_header, request_uri, route_header, credentials=None,
                 contact_header=None, call_id=None, cseq=None, extra_headers=None, content_type=None, body=None):
        if not isinstance(method, str) or not method or not method.isascii() or not method.replace("-", "").isalnum():
            raise ValueError("method must be a SIP method token such as 'MESSAGE', got %r" % (method,))
        method = method.upper()
        if method in ("INVITE", "ACK", "CANCEL"):
            raise ValueError("%s cannot be sent as a request outside a dialog; use Invitation" % method)
        for name, value in (("from_header", from_header), ("to_header", to_header), ("request_uri", request_uri)):
            if value is None:
                raise TypeError("%s is required" % name)
        if cseq is not None and (not isinstance(cseq, int) or isinstance(cseq, bool) or not 0 < cseq < 2 ** 31):
            raise ValueError("cseq must be a positive int below 2**31")
        if call_id is not None and not isinstance(call_id, str):
            raise TypeError("call_id must be a str")
        if (body is None) != (content_type is None):
            raise TypeError("content_type and body must be given together")
        if content_type is not None:
            _split_content_type(content_type)
        self.method = method
        self.from_header = from_header
        self.to_header = to_header
        self.request_uri = request_uri
        self.route_header = route_header
        self.credentials = credentials
        self.contact_header = contact_header
        self.call_id = call_id
        self.cseq = cseq
        self.extra_headers = list(extra_headers or [])
        for header in self.extra_headers:
            _header_name_body(header)
        self.content_type = content_type
        self.body = _body_bytes(body)

    @property
    def expires_in(self):
        """Seconds until the request's expiry (EXPIRING state), else 0."""
        if self.state != "EXPIRING" or self._expire_time is None:
            return 0
        return max(0, int(round(self._expire_time - _time.monotonic())))

    def send(self, timeout=None):
        """Send the request. `timeout` (seconds) ends it with 408 if no final answer came by then."""
        cdef PJSIPUA ua = _ua
        cdef pjsip_tx_data *tdata = NULL
        cdef pjsip_method method
        cdef pj_str_t method_str, target, from_str, to_str, contact_str, call_id_str
        cdef pj_str_t *contact_ptr = NULL
        cdef pj_str_t *call_id_ptr = NULL
        cdef pj_time_val delay
        cdef int status
        cdef int cseq
        REQUEST.require(self.state, "send", SIPCoreInvalidStateError)
        if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
            raise ValueError("timeout must be a positive number of seconds")
        if ua is None or ua._endpt == NULL:
            raise SIPCoreInvalidStateError("Engine is not running")
        _check_thread()
        encoded_method = self.method.encode()
        encoded_target = str(self.request_uri).encode()
        encoded_from = _header_text(self.from_header).encode()
        encoded_to = _header_text(self.to_header).encode()
        _set_pj_str(&method_str, encoded_method)
        _set_pj_str(&target, encoded_target)
        _set_pj_str(&from_str, encoded_from)
        _set_pj_str(&to_str, encoded_to)
        if self.contact_header is not None:
            encoded_contact = _header_text(self.contact_header).encode()
            _set_pj_str(&contact_str, encoded_contact)
            contact_ptr = &contact_str
        encoded_call_id = (self.call_id if self.call_id is not None else _new_call_id()).encode()
        _set_pj_str(&call_id_str, encoded_call_id)
        call_id_ptr = &call_id_str
        cseq = self.cseq if self.cseq is not None else -1
        pjsip_method_init_np(&method, &method_str)
        with nogil:
            status = pjsip_endpt_create_request(ua._endpt, &method, &target, &from_str, &to_str, contact_ptr,
                                                call_id_ptr, cseq, NULL, &tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the %s request (check the URIs and headers)" % self.method, status)
        try:
            headers = []
            if self.route_header is not None:
                headers.append(("Route", _header_text(self.route_header)))
            if ua.user_agent:
                headers.append(("User-Agent", ua.user_agent))
            headers.extend(self.extra_headers)
            _add_headers(tdata, headers)
            if self.body is not None:
                _set_body(tdata, self.content_type, self.body)
            _set_via_branch(tdata)
            self.call_id = _pj_str_to_str((<pjsip_cid_hdr *> pjsip_msg_find_hdr(tdata.msg, PJSIP_H_CALL_ID, NULL)).id)
            self.cseq = (<pjsip_cseq_hdr *> pjsip_msg_find_hdr(tdata.msg, PJSIP_H_CSEQ, NULL)).cseq
            # Only a request with credentials can answer a challenge, so only
            # it needs the client authentication session and its pool (most
            # MESSAGEs have none: one pool less to create and release each).
            if self.credentials is not None:
                self._pool = pjsip_endpt_create_pool(ua._endpt, "request", 1024, 1024)
                if self._pool == NULL:
                    raise SIPCoreError("Could not allocate a memory pool")
                status = pjsip_auth_clt_init(&self._auth, ua._endpt, self._pool, 0)
                if status != PJ_SUCCESS:
                    raise PJSIPError("Could not initialize authentication", status)
                _set_auth_credentials(&self._auth, self.credentials)
        except BaseException:
            pjsip_tx_data_dec_ref(tdata)
            self._release_pool(ua)
            raise
        self._ua = ua
        self._change_state("send")
        ua._live_objects.add(self)
        try:
            self._send_tdata(tdata)
        except BaseException:
            if self.state != "TERMINATED":   # else the transaction's callback already ended it
                self._change_state("send_failed")
            ua._live_objects.discard(self)
            self._release_pool(ua)
            raise
        if timeout is not None:
            self._schedule(&self._timeout_timer, _TIMER_TIMEOUT, timeout)

    cdef int _send_tdata(self, pjsip_tx_data *tdata) except -1:
        # Takes over the caller's reference to tdata.
        cdef pjsip_transaction *tsx = NULL
        cdef int status
        with nogil:
            status = pjsip_tsx_create_uac(&_request_module, tdata, &tsx)
        if status != PJ_SUCCESS:
            pjsip_tx_data_dec_ref(tdata)
            raise PJSIPError("Could not create the %s transaction" % self.method, status)
        tsx.mod_data[_request_module.id] = <void *> self
        self._tsx = tsx
        self._final_handled = 0
        with nogil:
            status = pjsip_tsx_send_msg(tsx, tdata)
        if status != PJ_SUCCESS:
            # PJSIP terminates the transaction itself; our callback reports it.
            raise PJSIPError("Could not send the %s request" % self.method, status)
        return 0

    def end(self):
        """Stop the request: a pending one is abandoned (487), an expiring one ends now."""
        cdef pjsip_transaction *tsx
        if not REQUEST.allows(self.state, "end"):
            return
        if self.state == "IN_PROGRESS":
            tsx = self._tsx
            if tsx != NULL and self._ua is not None and self._ua._endpt != NULL:
                _check_thread()
                with nogil:
                    pjsip_tsx_terminate(tsx, 487)
        elif self.state == "EXPIRING":
            self._cancel_timers()
            self._terminate(expired=False)

    # --- Engine thread -----------------------------------------------------

    cdef int _schedule(self, pj_timer_entry *entry, int timer_id, double seconds) except -1:
        cdef pj_time_val delay
        cdef int status
        entry.id = 0
        entry.user_data = <void *> self
        entry.cb = _cb_request_timer
        delay.sec = <long> seconds
        delay.msec = <long> ((seconds - <long> seconds) * 1000)
        status = pjsip_endpt_schedule_timer(self._ua._endpt, entry, &delay)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not schedule a timer", status)
        entry.id = timer_id
        return 0

    cdef void _cancel_timers(self):
        if self._ua is None or self._ua._endpt == NULL:
            return
        _cancel_timer(self._ua._endpt, &self._timeout_timer)
        _cancel_timer(self._ua._endpt, &self._will_expire_timer)
        _cancel_timer(self._ua._endpt, &self._expire_timer)

    cdef void _release_pool(self, PJSIPUA ua):
        if self._pool != NULL and ua is not None and ua._endpt != NULL:
            pjsip_endpt_release_pool(ua._endpt, self._pool)
        self._pool = NULL

    cdef int _change_state(self, str event) except -1:
        # The one place where state changes: to where REQUEST says `event` leads.
        self.state = REQUEST.next(self.state, event)
        return 0

    cdef int _terminate(self, object expired) except -1:
        cdef PJSIPUA ua = self._ua
        self._change_state("terminate")
        self._expire_time = None
        if ua is not None:
            ua._add_event("SIPRequestDidEnd", dict(expired=expired), self)
            # A transaction still pointing at this object (UDP keeps a
            # completed one for a few seconds) keeps it alive until it goes.
            if self._tsx == NULL:
                ua._live_objects.discard(self)
        return 0

    cdef int _on_final(self, int code, str reason, pjsip_rx_data *rdata) except -1:
        cdef PJSIPUA ua = self._ua
        _cancel_timer(ua._endpt, &self._timeout_timer)
        headers = _received_headers(rdata) if rdata != NULL else []
        body = _message_body(rdata.msg_info.msg) if rdata != NULL else None
        if 200 <= code < 300:
            # Only a response with an Expires or a Contact header can name an
            # expiry (see _response_expires), and only then are its headers
            # read now.
            expires = None
            if rdata != NULL and _may_name_expiry(rdata.msg_info.msg):
                expires = _response_expires(headers, self.contact_header)
            if expires is None:
                expires = self.default_expires
            ua._add_event("SIPRequestDidSucceed", dict(code=code, reason=reason, headers=headers, body=body,
                                                       expires=expires or 0), self)
            if expires and not ua._shutting_down:
                self._change_state("expiring")
                self._expire_time = _time.monotonic() + expires
                margin = min(_EXPIRE_WARNING_MAX_MARGIN, expires / 2.0)
                self._schedule(&self._will_expire_timer, _TIMER_WILL_EXPIRE, expires - margin)
                self._schedule(&self._expire_timer, _TIMER_EXPIRE, expires)
                return 0
        else:
            ua._add_event("SIPRequestDidFail", dict(code=code, reason=reason, headers=headers, body=body), self)
        self._terminate(expired=False)
        return 0


cdef void _cancel_timer(pjsip_endpoint *endpt, pj_timer_entry *entry) noexcept:
    if entry.id != 0:
        pjsip_endpt_cancel_timer(endpt, entry)
        entry.id = 0


cdef bint _may_name_expiry(pjsip_msg *msg) noexcept:
    return (pjsip_msg_find_hdr(msg, PJSIP_H_EXPIRES, NULL) != NULL
            or pjsip_msg_find_hdr(msg, PJSIP_H_CONTACT, NULL) != NULL)


cdef object _response_expires(object headers, object contact_header):
    # REGISTER: the expiry the registrar granted our contact; otherwise the
    # Expires header (PUBLISH, and REGISTER without per-contact expiry).
    # Contact URIs are compared by RFC 3261 URI equality (registrars may
    # reorder parameters), falling back to their text.
    our_uri = getattr(contact_header, "uri", None) if contact_header is not None else None
    expires_header = None
    for header in headers:
        name = getattr(header, "name", None)
        if name == "Expires":
            try:
                expires_header = int(str(header.body).strip())
            except ValueError:
                pass
        elif name == "Contact" and our_uri is not None:
            uri = getattr(header, "uri", None)
            if uri is None or getattr(header, "expires", None) is None:
                continue
            try:
                same = uri == our_uri or str(uri) == str(our_uri)
            except Exception:
                same = str(uri) == str(our_uri)
            if same:
                return int(header.expires)
    return expires_header


cdef void _cb_request_tsx_state(pjsip_transaction *tsx, pjsip_event *event) noexcept nogil:
    # Half the calls have nothing for Python: the transaction starting (its
    # request just sent) and, once forgotten, being destroyed. They are told
    # apart here without taking the GIL, which the thread sending the
    # request would otherwise take back for nothing.
    if _request_module.id < 0 or tsx.mod_data[_request_module.id] == NULL:
        return
    if tsx.state < PJSIP_TSX_STATE_COMPLETED:
        return
    _request_tsx_state_changed(tsx, event)


cdef void _request_tsx_state_changed(pjsip_transaction *tsx, pjsip_event *event) noexcept with gil:
    cdef Request request
    cdef PJSIPUA ua = _ua
    cdef pjsip_rx_data *rdata = NULL
    cdef pjsip_tx_data *new_tdata = NULL
    cdef void *data
    cdef int status
    if ua is None or _request_module.id < 0:
        return
    data = tsx.mod_data[_request_module.id]
    if data == NULL:
        return
    request = <Request> data
    try:
        if tsx.state == PJSIP_TSX_STATE_TERMINATED or tsx.state == PJSIP_TSX_STATE_DESTROYED:
            # The transaction is going away: forget it, and let the Request
            # go too if it is over (it may be over already: see _terminate).
            tsx.mod_data[_request_module.id] = NULL
            if request._tsx == tsx:
                request._tsx = NULL
                if request.state == "TERMINATED":
                    ua._live_objects.discard(request)
        if tsx.state < PJSIP_TSX_STATE_COMPLETED or request._tsx != tsx and tsx.state != PJSIP_TSX_STATE_TERMINATED:
            return
        if request._final_handled or request.state != "IN_PROGRESS":
            return
        if event.body.tsx_state.type == PJSIP_EVENT_RX_MSG:
            rdata = event.body.tsx_state.src.rdata
        if (tsx.status_code == 401 or tsx.status_code == 407) and rdata != NULL and request.credentials is not None \
                and request._auth_attempts < _MAX_AUTH_ATTEMPTS and not ua._shutting_down:
            request._auth_attempts += 1
            status = pjsip_auth_clt_reinit_req(&request._auth, rdata, tsx.last_tx, &new_tdata)
            if status == PJ_SUCCESS:
                request._final_handled = 1  # for the old transaction
                tsx.mod_data[_request_module.id] = NULL
                request._tsx = NULL
                try:
                    request._send_tdata(new_tdata)
                except SIPCoreError:
                    request._final_handled = 1
                    request._on_final(503, "Service Unavailable", NULL)
                return
        request._final_handled = 1
        request._on_final(tsx.status_code, _pj_str_to_str(tsx.status_text), rdata)
        if request.state == "TERMINATED":
            request._release_pool(ua)
    except BaseException:
        _report_callback_exception()
        # Whatever went wrong, a request whose transaction is over must not
        # stay "in progress" for ever.
        if request._final_handled and request.state == "IN_PROGRESS":
            try:
                request._terminate(expired=False)
                request._release_pool(ua)
            except BaseException:
                _report_callback_exception()


cdef void _cb_request_timer(pj_timer_heap_t *heap, pj_timer_entry *entry) noexcept with gil:
    cdef Request request
    cdef PJSIPUA ua = _ua
    cdef int timer_id = entry.id
    if ua is None or entry.user_data == NULL:
        return
    request = <Request> entry.user_data
    entry.id = 0
    try:
        if timer_id == _TIMER_TIMEOUT:
            if request.state == "IN_PROGRESS" and request._tsx != NULL:
                pjsip_tsx_terminate(request._tsx, 408)
        elif timer_id == _TIMER_WILL_EXPIRE:
            if request.state == "EXPIRING":
                ua._add_event("SIPRequestWillExpire", dict(expires=request.expires_in), request)
        elif timer_id == _TIMER_EXPIRE:
            if request.state == "EXPIRING":
                request._terminate(expired=True)
                request._release_pool(ua)
    except BaseException:
        _report_callback_exception()


# --- incoming requests the application asked for ---------------------------
#
# IncomingRequest states (INCOMING_REQUEST): a request the application leaves
# unanswered for _UNANSWERED_TIMEOUT seconds is answered 480 by the core, so
# that no server transaction waits forever.

_UNANSWERED_TIMEOUT = 32.0


@cython.auto_pickle(False)
cdef class IncomingRequest:
    """A request outside a dialog that the application handles (Engine option incoming_requests)."""

    cdef readonly str state
    cdef readonly str method
    cdef readonly object request_uri
    cdef readonly object from_header
    cdef readonly object to_header
    cdef readonly object headers
    cdef readonly object body
    cdef readonly object content_type
    cdef readonly object source_ip
    cdef readonly object source_port
    cdef PJSIPUA _ua
    cdef pjsip_transaction *_tsx
    cdef pjsip_rx_data *_rdata
    cdef pj_timer_entry _timer

    def __cinit__(self):
        self.state = INCOMING_REQUEST.initial

    def answer(self, code, reason=None, extra_headers=None, content_type=None, body=None):
        """Send a response: provisional (1xx) any number of times, then one final."""
        cdef PJSIPUA ua = self._ua
        cdef pjsip_tx_data *tdata = NULL
        cdef pj_str_t reason_str
        cdef pj_str_t *reason_ptr = NULL
        cdef int status
        cdef int st_code
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 699:
            raise ValueError("code must be a SIP status code (100-699)")
        INCOMING_REQUEST.require(self.state, "answer", SIPCoreInvalidStateError)
        if ua is None or ua._endpt == NULL or self._tsx == NULL or self._rdata == NULL:
            raise SIPCoreInvalidStateError("This request can no longer be answered")
        if (body is None) != (content_type is None):
            raise TypeError("content_type and body must be given together")
        st_code = code
        body_bytes = _body_bytes(body)
        _check_thread()
        if reason is not None:
            encoded_reason = str(reason).encode()
            _set_pj_str(&reason_str, encoded_reason)
            reason_ptr = &reason_str
        status = pjsip_endpt_create_response(ua._endpt, self._rdata, st_code, reason_ptr, &tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the response", status)
        try:
            _add_headers(tdata, list(extra_headers or []))
            if body_bytes is not None:
                _set_body(tdata, content_type, body_bytes)
        except BaseException:
            pjsip_tx_data_dec_ref(tdata)
            raise
        if code >= 200:
            self._change_state("answer")
            _cancel_timer(ua._endpt, &self._timer)
        with nogil:
            status = pjsip_tsx_send_msg(self._tsx, tdata)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not send the response", status)
        if code >= 200:
            self._release()

    cdef int _change_state(self, str event) except -1:
        # The one place where state changes: to where INCOMING_REQUEST says `event` leads.
        self.state = INCOMING_REQUEST.next(self.state, event)
        return 0

    cdef void _release(self):
        if self._rdata != NULL:
            pjsip_rx_data_free_cloned(self._rdata)
            self._rdata = NULL
        if self._ua is not None:
            self._ua._live_objects.discard(self)


cdef int _receive_incoming_request(PJSIPUA ua, pjsip_rx_data *rdata) except -1:
    cdef IncomingRequest request = IncomingRequest()
    cdef pjsip_transaction *tsx = NULL
    cdef pjsip_msg *msg = rdata.msg_info.msg
    cdef pj_time_val delay
    cdef int status
    status = pjsip_tsx_create_uas(&_request_module, rdata, &tsx)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not create a server transaction", status)
    pjsip_tsx_recv_msg(tsx, rdata)
    status = pjsip_rx_data_clone(rdata, 0, &request._rdata)
    if status != PJ_SUCCESS:
        pjsip_tsx_terminate(tsx, 500)
        raise PJSIPError("Could not keep the request", status)
    request._ua = ua
    request._tsx = tsx
    tsx.mod_data[_request_module.id] = NULL  # server transactions report nothing to Request
    request.method = _pj_str_to_str(msg.line.req.method.name)
    request.headers = _received_headers(rdata)
    request.from_header = _frozen_header_from_pjsip(<pjsip_hdr *> rdata.msg_info.from_)
    request.to_header = _frozen_header_from_pjsip(<pjsip_hdr *> rdata.msg_info.to)
    request.request_uri = _request_uri_of(msg)
    request.body = _message_body(msg)
    request.content_type = _message_content_type(msg)
    request.source_ip = rdata.pkt_info.src_name.decode()
    request.source_port = rdata.pkt_info.src_port
    request._timer.user_data = <void *> request
    request._timer.cb = _cb_incoming_request_timer
    # Read at each request, so that it can be changed (the tests shorten it).
    unanswered_timeout = float(_UNANSWERED_TIMEOUT)
    delay.sec = <long> unanswered_timeout
    delay.msec = <long> ((unanswered_timeout - <long> unanswered_timeout) * 1000)
    request._timer.id = 0
    if pjsip_endpt_schedule_timer(ua._endpt, &request._timer, &delay) == PJ_SUCCESS:
        request._timer.id = 1
    ua._live_objects.add(request)
    ua._add_event("SIPIncomingRequestGotRequest", dict(
        method=request.method, request_uri=request.request_uri, from_header=request.from_header,
        to_header=request.to_header, headers=request.headers, body=request.body,
        content_type=request.content_type), request)
    return 0


cdef void _cb_incoming_request_timer(pj_timer_heap_t *heap, pj_timer_entry *entry) noexcept with gil:
    cdef IncomingRequest request
    cdef PJSIPUA ua = _ua
    if ua is None or entry.user_data == NULL:
        return
    request = <IncomingRequest> entry.user_data
    entry.id = 0
    try:
        if request.state == "incoming":
            request.answer(480, "Not Answered By The Application")
    except BaseException:
        _report_callback_exception()
