# PJSIPUA: the PJSIP endpoint, its media endpoint, transports and the core's
# own PJSIP modules (SIP trace, out-of-dialog request handling, logging).
#
# Threads (see docs/architecture.md):
#   * One PJSIPUA exists at a time. It is created and configured by the thread
#     that calls Engine.start(); from then on only the Engine thread polls it
#     (PJSIPUA.poll) and destroys it (PJSIPUA.destroy).
#   * Methods called from other threads (changing ports, codecs, log level)
#     register the thread with pjlib and release the GIL around every PJSIP
#     call that may wait on a PJSIP lock, because the Engine thread may hold
#     that lock while waiting for the GIL inside a callback.
#   * PJSIP callbacks never post notifications themselves: they append events
#     to a queue that the Engine thread drains after each poll, so observers
#     run with no PJSIP lock held and may call back into the core freely.
#   * Every callback catches every Python exception and turns it into a
#     SIPEngineGotException event.
#   * Other threads (the application's, the sound clock's) wake the Engine
#     thread out of its poll through a socket pair registered in PJSIP's I/O
#     queue (_wake_engine): events they queue are posted at once, not after
#     the poll's timeout.

import collections
import datetime
import sys
import traceback
import uuid

from cpython.pythread cimport PyThread_get_thread_ident
from libc.string cimport memset
from posix.fcntl cimport F_GETFL, F_SETFL, O_NONBLOCK, fcntl
from posix.unistd cimport close as close_fd, write as write_fd


cdef PJSIPUA _ua = None          # the live user agent, or None
cdef int _trace_sip = 0           # read by the trace callbacks without the GIL

# Waking the Engine thread from any thread, with or without the GIL: one byte
# into the socket pair whose other end the I/O queue watches. At most one
# byte is in flight (_wake_pending); the Engine thread clears it before it
# collects what woke it. Guarded by _wake_lock, so that the descriptor is not
# closed under a writer.
cdef pthread_mutex_t _wake_lock
pthread_mutex_init(&_wake_lock, NULL)
cdef int _wake_fd = -1
cdef int _wake_pending = 0


cdef void _wake_engine() noexcept nogil:
    global _wake_pending
    pthread_mutex_lock(&_wake_lock)
    if _wake_fd >= 0 and not _wake_pending:
        _wake_pending = 1
        if write_fd(_wake_fd, b"w", 1) != 1:
            _wake_pending = 0   # the socket is full: a wake-up is pending anyway
    pthread_mutex_unlock(&_wake_lock)

# Methods for which a request outside a dialog is answered 405 rather than
# 501 when the application has not said it handles them: they are standard
# SIP methods, only not enabled here.
_KNOWN_METHODS = frozenset(["INVITE", "ACK", "CANCEL", "BYE", "REGISTER", "OPTIONS", "INFO", "PRACK", "UPDATE",
                            "SUBSCRIBE", "NOTIFY", "PUBLISH", "MESSAGE", "REFER"])

# Upper bound on back-to-back polls without returning to the Engine loop, so
# that a flood of packets cannot starve stop() or the delivery of events.
cdef enum:
    _MAX_POLL_ROUNDS = 64

# PJSIP reports a SIP status as an error code from this base on
# (PJSIP_ERRNO_FROM_SIP_STATUS).
cdef int _PJSIP_ERRNO_START = 170000

_TRANSPORT_NAMES = {"UDP": "udp", "UDP6": "udp", "TCP": "tcp", "TCP6": "tcp", "TLS": "tls", "TLS6": "tls"}


@cython.auto_pickle(False)
cdef class PJSIPUA:
    """The PJSIP stack of one Engine run. Use it through sipsimple.core.Engine."""

    cdef pj_caching_pool _caching_pool
    cdef pjsip_endpoint *_endpt
    cdef pjmedia_endpt *_media_endpt
    cdef pj_pool_t *_pool
    cdef pj_pool_t *_options_pool
    cdef pjsip_hdr _options_hdrs
    cdef pjsip_module _trace_module
    cdef pjsip_module _app_module
    cdef pjsip_transport *_udp_transport
    cdef int _udp_paused  # UDP turned off: the transport is kept, without a socket (see set_udp_port)
    cdef pjsip_tpfactory *_tcp_factory
    cdef pjsip_tpfactory *_tls_factory
    cdef int _pj_initialized
    cdef int _caching_pool_initialized
    cdef readonly object events
    cdef readonly str ip_address
    cdef int _af
    cdef object _tls_options
    cdef object _allowed_methods
    cdef object _accepted_types
    cdef object _supported_extensions
    cdef object _codecs
    cdef readonly str user_agent
    # Core objects with PJSIP state (transactions, timers, pools) that must
    # stay alive until PJSIP is done with them; emptied at destroy().
    cdef readonly set _live_objects
    cdef int _shutting_down
    # Methods whose out-of-dialog requests the application answers itself
    # (IncomingRequest).
    cdef readonly frozenset incoming_requests
    # Event packages (name -> body types of their NOTIFYs) for subscriptions.
    cdef readonly dict event_packages
    # Event packages for which SUBSCRIBEs reach the application.
    cdef readonly frozenset incoming_events
    # pjmedia_aud_subsys_init was called (sound.pxi lists devices only then).
    cdef int _audio_initialized
    # The read end of the wake-up socket pair in the I/O queue.
    cdef pj_ioqueue_key_t *_wake_key
    cdef pj_ioqueue_op_key_t _wake_op
    cdef char _wake_buffer[16]
    # The thread polling the stack (events queued by others wake it).
    cdef unsigned long _poll_thread

    def __cinit__(self):
        self.events = collections.deque()
        self._live_objects = set()
        self._allowed_methods = ["OPTIONS", "MESSAGE"]
        # MESSAGE bodies of any type reach the application; these are the
        # instant-messaging types it is expected to handle.
        self._accepted_types = ["text/plain", "message/cpim", "application/im-iscomposing+xml"]
        self._supported_extensions = []
        self._codecs = []

    def __init__(self, *, ip_address, udp_port, tcp_port, tls_port, tls_options, user_agent, log_level,
                 trace_sip, codecs, incoming_requests=(), events=None, incoming_events=()):
        global _ua
        if _ua is not None:
            raise SIPCoreError("Only one PJSIPUA can exist at a time")
        self.ip_address = ip_address
        self.user_agent = user_agent
        self._af = pj_AF_INET6() if ":" in ip_address else pj_AF_INET()
        self._tls_options = dict(tls_options)
        self.incoming_requests = frozenset(incoming_requests)
        self.event_packages = dict(DEFAULT_EVENTS if events is None else events)
        for types in self.event_packages.values():
            for content_type in types:
                if content_type not in self._accepted_types:
                    self._accepted_types.append(content_type)
        # NOTIFY within the dialogs of our subscriptions; REFER outside a
        # dialog (IncomingReferral); SUBSCRIBE for the incoming events;
        # INVITE sessions with PRACK (100rel), UPDATE and session timers.
        self._allowed_methods.extend(["NOTIFY", "REFER", "INVITE", "ACK", "CANCEL", "BYE", "UPDATE", "PRACK"])
        self._accepted_types.insert(0, "application/sdp")
        self._supported_extensions.extend(["100rel", "timer", "replaces"])
        self.incoming_events = frozenset(incoming_events)
        if self.incoming_events:
            self._allowed_methods.append("SUBSCRIBE")
        for method in sorted(self.incoming_requests):
            if method not in self._allowed_methods:
                self._allowed_methods.append(method)
        try:
            self._init_pjlib(log_level)
            self._init_endpoint()
            _ua = self
            self.set_trace_sip(trace_sip)
            self.set_codecs(codecs)
            if udp_port is not None:
                self.set_udp_port(udp_port)
            if tcp_port is not None:
                self.set_tcp_port(tcp_port)
            if tls_port is not None:
                self.set_tls_port(tls_port)
        except BaseException:
            self.destroy()
            raise

    cdef int _init_pjlib(self, int log_level) except -1:
        cdef int status
        # Logging first, so that pjlib's own start-up lines go to SIPEngineLog
        # (or nowhere) rather than to stdout.
        pj_log_set_decor(PJ_LOG_HAS_SENDER)
        pj_log_set_log_func(_cb_log)
        pj_log_set_level(log_level)
        status = pj_init()
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not initialize pjlib", status)
        self._pj_initialized = 1
        _check_thread()
        status = pjlib_util_init()
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not initialize pjlib-util", status)
        status = pjnath_init()
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not initialize pjnath", status)
        pj_caching_pool_init(&self._caching_pool, NULL, 0)
        self._caching_pool_initialized = 1
        return 0

    cdef int _init_endpoint(self) except -1:
        cdef int status
        cdef pjmedia_audio_codec_config codec_config
        cdef pjsip_ua_init_param ua_param  # copied by PJSIP
        status = pjsip_endpt_create(&self._caching_pool.factory, "sipsimple", &self._endpt)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the PJSIP endpoint", status)
        self._pool = pjsip_endpt_create_pool(self._endpt, "sipsimple_ua", 4096, 4096)
        if self._pool == NULL:
            raise SIPCoreError("Could not allocate a memory pool")
        status = pjsip_tsx_layer_init_module(self._endpt)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not initialize the transaction layer", status)
        ua_param.on_dlg_forked = _cb_dlg_forked  # forked answers to our INVITEs (invitation.pxi)
        status = pjsip_ua_init_module(self._endpt, &ua_param)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not initialize the dialog layer", status)

        # Sees every message on the wire, after it was printed (tx) and before
        # any other module (rx): one step above the transport layer.
        self._trace_module.name = pj_str("mod-sipsimple-trace")
        self._trace_module.id = -1
        self._trace_module.priority = PJSIP_MOD_PRIORITY_TRANSPORT_LAYER - 1
        self._trace_module.on_rx_request = _cb_trace_rx
        self._trace_module.on_rx_response = _cb_trace_rx
        self._trace_module.on_tx_request = _cb_trace_tx
        self._trace_module.on_tx_response = _cb_trace_tx
        status = pjsip_endpt_register_module(self._endpt, &self._trace_module)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not register the SIP trace module", status)

        # Gets the requests that no transaction, dialog or usage claimed.
        self._app_module.name = pj_str("mod-sipsimple-app")
        self._app_module.id = -1
        self._app_module.priority = PJSIP_MOD_PRIORITY_APPLICATION
        self._app_module.on_rx_request = _cb_app_rx_request
        status = pjsip_endpt_register_module(self._endpt, &self._app_module)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not register the application module", status)
        _register_request_module(self._endpt)
        # PJSIP's transport layer drops requests its parser rejects without
        # a word; we answer those that can be answered with 400.
        pjsip_tpmgr_set_drop_data_cb(pjsip_endpt_get_tpmgr(self._endpt), _cb_dropped_data)
        _register_subscription_module(self, self.event_packages)
        _init_server_callbacks()
        _register_invitation_module(self._endpt)
        self._rebuild_options_headers()

        # Media shares the SIP I/O queue, so the Engine thread drives both
        # and no PJSIP worker thread exists.
        status = pjmedia_endpt_create(&self._caching_pool.factory, pjsip_endpt_get_ioqueue(self._endpt), 0,
                                      &self._media_endpt)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the media endpoint", status)
        pjmedia_audio_codec_config_default(&codec_config)
        status = pjmedia_codec_register_audio_codecs(self._media_endpt, &codec_config)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not register the audio codecs", status)
        # Sound devices (ALSA; sound.pxi). No device at all is no error: an
        # AudioMixer then runs without one.
        with nogil:
            status = pjmedia_aud_subsys_init(&self._caching_pool.factory)
        self._audio_initialized = 1
        if status != PJ_SUCCESS:
            self._add_event("SIPEngineLog", dict(timestamp=datetime.datetime.now(), sender="sipsimple", level=2,
                                                 message="No sound devices: %s" % _pj_status_to_str(status)))
        self._init_wake()
        return 0

    cdef int _init_wake(self) except -1:
        global _wake_fd
        cdef int fds[2]
        cdef pj_ioqueue_callback callback
        cdef int status
        if socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) != 0:
            raise OSError("Could not create the Engine's wake-up sockets")
        fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        memset(&callback, 0, sizeof(callback))
        callback.on_read_complete = _cb_wake_read
        status = pj_ioqueue_register_sock(self._pool, pjsip_endpt_get_ioqueue(self._endpt), fds[0], NULL, &callback,
                                          &self._wake_key)
        if status != PJ_SUCCESS:
            close_fd(fds[0])
            close_fd(fds[1])
            raise PJSIPError("Could not register the Engine's wake-up socket", status)
        pj_ioqueue_op_key_init(&self._wake_op, sizeof(self._wake_op))
        pthread_mutex_lock(&_wake_lock)
        _wake_fd = fds[1]
        pthread_mutex_unlock(&_wake_lock)
        self._read_wake()
        return 0

    cdef int _read_wake(self) except -1:
        # Keep one read pending on the wake-up socket, consuming what is there.
        cdef pj_ssize_t size
        cdef int status
        while self._wake_key != NULL:
            size = sizeof(self._wake_buffer)
            status = pj_ioqueue_recv(self._wake_key, &self._wake_op, self._wake_buffer, &size, 0)
            if status == PJ_EPENDING:
                return 0
            if status != PJ_SUCCESS:
                # Without a pending read the Engine thread still sees every
                # event after its poll timeout.
                self._add_event("SIPEngineLog", dict(timestamp=datetime.datetime.now(), sender="sipsimple",
                                                     level=1, message="The Engine's wake-up socket failed: %s" %
                                                     _pj_status_to_str(status)))
                return 0
        return 0

    cdef int _close_wake(self) except -1:
        global _wake_fd, _wake_pending
        cdef int fd
        pthread_mutex_lock(&_wake_lock)
        fd = _wake_fd
        _wake_fd = -1
        _wake_pending = 0
        pthread_mutex_unlock(&_wake_lock)
        if fd >= 0:
            close_fd(fd)
        if self._wake_key != NULL:
            pj_ioqueue_unregister(self._wake_key)   # closes the read end
            self._wake_key = NULL
        return 0

    def wake(self):
        """Make the Engine thread return from its poll now. Any thread."""
        with nogil:
            _wake_engine()

    # --- lifetime ------------------------------------------------------------

    def poll(self, int timeout_ms=10):
        """Handle PJSIP events, waiting at most timeout_ms for the first. Engine thread only.

        Returns the number of events handled. After the first wait it keeps
        handling whatever is ready (without waiting) until nothing is, or
        until callbacks have queued events for the application, so that under
        load one return to Python serves many packets.
        """
        cdef pj_time_val timeout
        cdef pj_time_val no_wait
        cdef unsigned count = 0
        cdef unsigned total = 0
        cdef int rounds = 0
        cdef object events = self.events
        if self._endpt == NULL:
            raise SIPCoreInvalidStateError("The PJSIP endpoint was destroyed")
        self._poll_thread = PyThread_get_thread_ident()
        timeout.sec = timeout_ms // 1000
        timeout.msec = timeout_ms % 1000
        no_wait.sec = 0
        no_wait.msec = 0
        # PJSIP reports transient errors of a single poll (an interrupted
        # system call, an ICMP error on a UDP socket) in the status; they are
        # not fatal, so it is not checked.
        with nogil:
            pjsip_endpt_handle_events2(self._endpt, &timeout, &count)
        total = count
        while count > 0 and rounds < _MAX_POLL_ROUNDS and not events:
            count = 0
            with nogil:
                pjsip_endpt_handle_events2(self._endpt, &no_wait, &count)
            total += count
            rounds += 1
        if _media_events_pending():
            _deliver_media_events(self)
        return total

    def pop_events(self):
        """Remove and return the queued (name, sender, data) events, oldest first (sender None: the Engine)."""
        events = self.events
        result = []
        while events:
            result.append(events.popleft())
        return result

    def destroy(self):
        """Shut the stack down: transactions are terminated, transports closed.

        Called by the Engine thread after its last poll. Safe to call twice.
        """
        global _ua, _trace_sip
        if self._pj_initialized:
            _check_thread()
        self._shutting_down = 1
        # Media first, while the mixer, the media endpoint and the I/O queue
        # still exist: audio streams leave the mixer, RTP sockets close.
        _media_transports_engine_stopping(self)
        # Then sound: no clock or device thread may call into PJMEDIA while
        # the rest goes (sound.pxi); then nothing else writes the wake-up socket.
        _shutdown_sound(self)
        self._close_wake()
        if self._audio_initialized:
            with nogil:
                pjmedia_aud_subsys_shutdown()
            self._audio_initialized = 0
        # Requests in progress end with the endpoint; their timers must not
        # fire into a destroyed timer heap.
        for obj in list(self._live_objects):
            if isinstance(obj, Request):
                (<Request> obj)._cancel_timers()
            elif isinstance(obj, Invitation):
                if self._endpt != NULL:
                    _cancel_timer(self._endpt, &(<Invitation> obj)._timer)
            elif isinstance(obj, _ClientSubscription):
                if self._endpt != NULL:
                    _cancel_timer(self._endpt, &(<_ClientSubscription> obj)._timer)
                (<_ClientSubscription> obj)._end_requested = 1
            elif isinstance(obj, _ServerSubscription):
                if self._endpt != NULL:
                    _cancel_timer(self._endpt, &(<_ServerSubscription> obj)._timer)
                (<_ServerSubscription> obj)._end_requested = 1
                # A cloned request holds its transport: give it back while
                # the transport manager still exists.
                if (<_ServerSubscription> obj)._rdata != NULL:
                    pjsip_rx_data_free_cloned((<_ServerSubscription> obj)._rdata)
                    (<_ServerSubscription> obj)._rdata = NULL
            elif isinstance(obj, IncomingRequest):
                if self._endpt != NULL:
                    _cancel_timer(self._endpt, &(<IncomingRequest> obj)._timer)
                if (<IncomingRequest> obj).state != "terminated":
                    (<IncomingRequest> obj)._change_state("engine_stopped")
                (<IncomingRequest> obj)._tsx = NULL
                (<IncomingRequest> obj)._release()
        if self._media_endpt != NULL:
            with nogil:
                pjmedia_endpt_destroy(self._media_endpt)
            self._media_endpt = NULL
        if self._endpt != NULL:
            if self._options_pool != NULL:
                pjsip_endpt_release_pool(self._endpt, self._options_pool)
                self._options_pool = NULL
            if self._pool != NULL:
                pjsip_endpt_release_pool(self._endpt, self._pool)
                self._pool = NULL
            # Stops every module: the transaction layer terminates pending
            # transactions, transports are shut down and their sockets closed.
            with nogil:
                pjsip_endpt_destroy(self._endpt)
            self._endpt = NULL
            self._udp_transport = NULL
            self._tcp_factory = NULL
            self._tls_factory = NULL
        # Stopping the endpoint ended every transaction; whatever is still
        # alive (requests waiting for their expiry) ends now, and its pool is
        # returned before the caching pool goes.
        for obj in list(self._live_objects):
            if isinstance(obj, Request):
                (<Request> obj)._tsx = NULL
                if (<Request> obj)._pool != NULL:
                    pj_pool_release((<Request> obj)._pool)
                    (<Request> obj)._pool = NULL
                if (<Request> obj).state != "TERMINATED":
                    (<Request> obj)._terminate(expired=False)
            elif isinstance(obj, Invitation) and (<Invitation> obj).state != "disconnected":
                # Its session went with the endpoint.
                invitation = <Invitation> obj
                invitation._inv = NULL
                invitation._set_state("engine_stopped", "local", 0, "Engine stopped", None, None, "Engine stopped")
            elif isinstance(obj, _ServerSubscription):
                server = <_ServerSubscription> obj
                server._evsub = NULL
                server._dlg = NULL
                if server.state != "terminated":
                    server._change_state("engine_stopped")
                    self._add_event(server._prefix + "DidEnd", dict(originator="local"), server)
            elif isinstance(obj, _ClientSubscription) and (<_ClientSubscription> obj).state != "TERMINATED":
                # Its dialog went with the endpoint.
                subscription = <_ClientSubscription> obj
                subscription._evsub = NULL
                subscription._dlg = NULL
                subscription._change_state("engine_stopped", subscription)
                if subscription._started:
                    self._add_event(subscription._prefix + "DidEnd", dict(originator="local", code=0,
                                                                          reason="Engine stopped"), subscription)
                else:
                    self._add_event(subscription._prefix + "DidFail", dict(code=0, reason="Engine stopped"),
                                    subscription)
        self._live_objects.clear()
        if self._caching_pool_initialized:
            pj_caching_pool_destroy(&self._caching_pool)
            self._caching_pool_initialized = 0
        if _ua is self:
            _ua = None
            _trace_sip = 0
        if self._pj_initialized:
            pj_log_set_level(0)
            pj_shutdown()
            self._pj_initialized = 0

    @property
    def is_alive(self):
        return self._endpt != NULL

    @property
    def pool_usage(self):
        """(pools, bytes) currently taken from the stack's pool factory (diagnostics)."""
        if not self._caching_pool_initialized:
            return (0, 0)
        return (sipsimple_pools_in_use(&self._caching_pool), sipsimple_pool_bytes_in_use(&self._caching_pool))

    # --- sound devices (sound.pxi) ---------------------------------------------

    @property
    def input_devices(self):
        """Names of the sound devices that can capture (PJMEDIA's null device left out)."""
        self._require_alive()
        return _sound_device_names(True)

    @property
    def output_devices(self):
        self._require_alive()
        return _sound_device_names(False)

    @property
    def default_input_device(self):
        """The input device "system_default" stands for, or None."""
        self._require_alive()
        return _default_sound_device_name(True)

    @property
    def default_output_device(self):
        self._require_alive()
        return _default_sound_device_name(False)

    def refresh_sound_devices(self):
        """Enumerate the sound devices again; AudioDevicesDidChange if the lists changed."""
        self._require_alive()
        _check_thread()
        _refresh_sound_devices(self)

    # --- transports ----------------------------------------------------------

    cdef int _make_bind_address(self, int port, pj_sockaddr *address) except -1:
        cdef pj_str_t host
        cdef int status
        encoded = self.ip_address.encode()
        _set_pj_str(&host, encoded)
        status = pj_sockaddr_init(self._af, address, &host, port)
        if status != PJ_SUCCESS:
            raise PJSIPError("Invalid local address %s" % self.ip_address, status)
        return 0

    cdef str _describe(self, int port):
        if self._af == pj_AF_INET6():
            return "[%s]:%d" % (self.ip_address, port)
        return "%s:%d" % (self.ip_address, port)

    def set_udp_port(self, port):
        """Move the UDP transport to `port` (0: any free port, None: none).

        There is one UDP transport object for the Engine's life, because
        PJSIP's transport manager goes on selecting a UDP transport that was
        shut down for as long as transactions hold it, and then has none to
        offer: a second one started beside it is never used. So the transport
        is moved in place (a new socket, bound first, handed to
        pjsip_udp_transport_restart2), and turning UDP off pauses it without
        a socket (requests over UDP then fail with a clear error) until a
        port is set again. A port that cannot be bound (in use) raises and
        leaves the Engine where it was; the port already bound changes
        nothing.
        """
        cdef pjsip_udp_transport_cfg config
        cdef pjsip_transport *transport = self._udp_transport
        cdef pj_sockaddr address
        cdef pj_sock_t sock
        cdef int status
        self._require_alive()
        _check_thread()
        if port is None:
            if transport != NULL and not self._udp_paused:
                with nogil:
                    status = pjsip_udp_transport_pause(transport, PJSIP_UDP_TRANSPORT_DESTROY_SOCKET)
                if status != PJ_SUCCESS:
                    raise PJSIPError("Could not stop the UDP transport", status)
                self._udp_paused = 1
            return
        if transport == NULL:
            pjsip_udp_transport_cfg_default(&config, self._af)
            self._make_bind_address(port, &config.bind_addr)
            with nogil:
                status = pjsip_udp_transport_start2(self._endpt, &config, &transport)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not start the UDP transport on %s" % self._describe(port), status)
            self._udp_transport = transport
            self._udp_paused = 0
            return
        if not self._udp_paused and port == transport.local_name.port:
            return
        self._make_bind_address(port, &address)
        with nogil:
            status = pj_sock_socket(self._af, pj_SOCK_DGRAM(), 0, &sock)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create a UDP socket for %s" % self._describe(port), status)
        with nogil:
            status = pj_sock_bind(sock, &address, pj_sockaddr_get_len(&address))
        if status != PJ_SUCCESS:
            pj_sock_close(sock)
            raise PJSIPError("Could not start the UDP transport on %s" % self._describe(port), status)
        with nogil:
            status = pjsip_udp_transport_restart2(transport, PJSIP_UDP_TRANSPORT_DESTROY_SOCKET, sock, &address,
                                                  NULL)
        if status != PJ_SUCCESS:
            # The transport let go of its old socket before failing to take
            # the new one: it is off now.
            self._udp_paused = 1
            raise PJSIPError("Could not move the UDP transport to %s" % self._describe(port), status)
        self._udp_paused = 0

    def set_tcp_port(self, port):
        """Replace the TCP listener by one bound to `port` (0: any free port, None: none).

        As set_udp_port: the new listener first, the old one closed after.
        """
        cdef pjsip_tcp_transport_cfg config
        cdef pjsip_tpfactory *old = self._tcp_factory
        cdef pjsip_tpfactory *factory = NULL
        cdef int status
        self._require_alive()
        _check_thread()
        if port is not None and old != NULL and port == old.addr_name.port:
            return
        if port is not None:
            pjsip_tcp_transport_cfg_default(&config, self._af)
            self._make_bind_address(port, &config.bind_addr)
            with nogil:
                status = pjsip_tcp_transport_start3(self._endpt, &config, &factory)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not start the TCP transport on %s" % self._describe(port), status)
        self._tcp_factory = factory
        if old != NULL:
            with nogil:
                old.destroy(old)

    def set_tls_port(self, port, tls_options=None):
        """Replace the TLS listener by one bound to `port` (0: any free port, None: none).

        tls_options, when given, replaces the TLS settings (keys: verify_server,
        ca_file, cert_file, privkey_file, timeout in milliseconds). A listener
        that cannot start raises and leaves the old one (and the old settings)
        in place; on the port already bound the old listener has to close
        first, and is started again with the old settings if the new ones fail.
        """
        cdef pjsip_tpfactory *old = self._tls_factory
        cdef pjsip_tpfactory *factory = NULL
        cdef object error = None
        self._require_alive()
        _check_thread()
        previous_options = self._tls_options
        old_port = None
        if tls_options is not None:
            self._tls_options = dict(tls_options)
        if port is None:
            self._tls_factory = NULL
            if old != NULL:
                with nogil:
                    old.destroy(old)
            return
        same_port = old != NULL and port == old.addr_name.port
        if same_port:
            old_port = old.addr_name.port
            self._tls_factory = NULL
            with nogil:
                old.destroy(old)
            old = NULL
        try:
            factory = self._start_tls_listener(port)
        except PJSIPError:
            self._tls_options = previous_options
            if same_port:
                try:
                    self._tls_factory = self._start_tls_listener(old_port)
                except PJSIPError:
                    pass
            raise
        self._tls_factory = factory
        if old != NULL:
            with nogil:
                old.destroy(old)

    cdef pjsip_tpfactory *_start_tls_listener(self, object port) except NULL:
        cdef pjsip_tls_setting setting
        cdef pj_sockaddr address
        cdef pjsip_tpfactory *factory = NULL
        cdef int status
        options = self._tls_options
        pjsip_tls_setting_default(&setting)
        # PJSIP copies these strings while starting the listener.
        ca_file = (options.get("ca_file") or "").encode()
        cert_file = (options.get("cert_file") or "").encode()
        privkey_file = (options.get("privkey_file") or "").encode()
        _set_pj_str(&setting.ca_list_file, ca_file)
        _set_pj_str(&setting.cert_file, cert_file)
        _set_pj_str(&setting.privkey_file, privkey_file)
        setting.verify_server = 1 if options.get("verify_server") else 0
        timeout = options.get("timeout") or 3000
        setting.timeout.sec = timeout // 1000
        setting.timeout.msec = timeout % 1000
        self._make_bind_address(port, &address)
        with nogil:
            status = pjsip_tls_transport_start2(self._endpt, &setting, &address, NULL, 1, &factory)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not start the TLS transport on %s" % self._describe(port), status)
        return factory

    @property
    def local_udp_port(self):
        if self._udp_transport == NULL or self._udp_paused:
            return None
        return self._udp_transport.local_name.port

    @property
    def local_tcp_port(self):
        if self._tcp_factory == NULL:
            return None
        return self._tcp_factory.addr_name.port

    @property
    def local_tls_port(self):
        if self._tls_factory == NULL:
            return None
        return self._tls_factory.addr_name.port

    @property
    def transports(self):
        """The listening transports as (name, host, port) tuples."""
        result = []
        if self._udp_transport != NULL and not self._udp_paused:
            result.append(("udp", _pj_str_to_str(self._udp_transport.local_name.host),
                           self._udp_transport.local_name.port))
        if self._tcp_factory != NULL:
            result.append(("tcp", _pj_str_to_str(self._tcp_factory.addr_name.host), self._tcp_factory.addr_name.port))
        if self._tls_factory != NULL:
            result.append(("tls", _pj_str_to_str(self._tls_factory.addr_name.host), self._tls_factory.addr_name.port))
        return result

    @property
    def tls_options(self):
        return dict(self._tls_options)

    # --- settings ------------------------------------------------------------

    def set_trace_sip(self, value):
        global _trace_sip
        _trace_sip = 1 if value else 0

    @property
    def trace_sip(self):
        return bool(_trace_sip)

    def set_log_level(self, int level):
        pj_log_set_level(level)

    @property
    def log_level(self):
        return pj_log_get_level()

    @property
    def available_codecs(self):
        """Names of the audio codecs compiled in, without duplicates (e.g. speex at 3 rates)."""
        cdef pjmedia_codec_info info[64]
        cdef unsigned prio[64]
        cdef unsigned count = 64
        cdef unsigned i
        self._require_alive()
        pjmedia_codec_mgr_enum_codecs(pjmedia_endpt_get_codec_mgr(self._media_endpt), &count, info, prio)
        names = []
        for i in range(count):
            name = _pj_str_to_str(info[i].encoding_name)
            if name not in names:
                names.append(name)
        return names

    @property
    def codec_ids(self):
        """Every codec variant as (name, clock rate, channels, priority), highest priority first."""
        cdef pjmedia_codec_info info[64]
        cdef unsigned prio[64]
        cdef unsigned count = 64
        cdef unsigned i
        self._require_alive()
        pjmedia_codec_mgr_enum_codecs(pjmedia_endpt_get_codec_mgr(self._media_endpt), &count, info, prio)
        return [(_pj_str_to_str(info[i].encoding_name), info[i].clock_rate, info[i].channel_cnt, prio[i])
                for i in range(count)]

    @property
    def codecs(self):
        return list(self._codecs)

    def set_codecs(self, codecs):
        """Enable exactly `codecs` (names from available_codecs), in order of preference."""
        cdef pjmedia_codec_mgr *manager
        cdef pj_str_t codec_id
        cdef int priority
        self._require_alive()
        available = self.available_codecs
        by_lower_name = {name.lower(): name for name in available}
        chosen = []
        for name in codecs:
            canonical = by_lower_name.get(name.lower())
            if canonical is None:
                raise ValueError("Unknown codec %r; available codecs: %s" % (name, ", ".join(available)))
            if canonical not in chosen:
                chosen.append(canonical)
        manager = pjmedia_endpt_get_codec_mgr(self._media_endpt)
        for name in available:
            encoded = (name + "/").encode()
            _set_pj_str(&codec_id, encoded)
            pjmedia_codec_mgr_set_codec_priority(manager, &codec_id, 0)
        for index, name in enumerate(chosen):
            encoded = (name + "/").encode()
            _set_pj_str(&codec_id, encoded)
            priority = 254 - index
            pjmedia_codec_mgr_set_codec_priority(manager, &codec_id, priority)
        self._codecs = chosen

    # --- capabilities announced in OPTIONS responses -----------------------

    @property
    def allowed_methods(self):
        return list(self._allowed_methods)

    @property
    def accepted_types(self):
        return list(self._accepted_types)

    @property
    def supported_extensions(self):
        return list(self._supported_extensions)

    def add_capabilities(self, methods=(), accept=(), supported=()):
        """Announce more methods (Allow), body types (Accept) and option tags (Supported)."""
        for target, values in ((self._allowed_methods, methods), (self._accepted_types, accept),
                               (self._supported_extensions, supported)):
            for value in values:
                if value not in target:
                    target.append(value)
        self._rebuild_options_headers()

    cdef int _rebuild_options_headers(self) except -1:
        # Built once per change and cloned into every OPTIONS response. The
        # GIL guards it: the responder reads it only while holding the GIL.
        cdef pj_pool_t *pool
        cdef pj_pool_t *old_pool
        cdef pj_str_t name
        cdef pj_str_t value
        cdef pjsip_generic_string_hdr *header
        pool = pjsip_endpt_create_pool(self._endpt, "options_hdrs", 512, 512)
        if pool == NULL:
            raise SIPCoreError("Could not allocate a memory pool")
        old_pool = self._options_pool
        pj_list_init(&self._options_hdrs)
        for header_name, values in (("Allow", self._allowed_methods), ("Accept", self._accepted_types),
                                    ("Supported", self._supported_extensions)):
            encoded_name = header_name.encode()
            encoded_value = ", ".join(values).encode()
            _set_pj_str(&name, encoded_name)
            _set_pj_str(&value, encoded_value)
            header = pjsip_generic_string_hdr_create(pool, &name, &value)
            pj_list_push_back(&self._options_hdrs, header)
        if self.user_agent:
            encoded_name = b"Server"
            encoded_value = self.user_agent.encode()
            _set_pj_str(&name, encoded_name)
            _set_pj_str(&value, encoded_value)
            header = pjsip_generic_string_hdr_create(pool, &name, &value)
            pj_list_push_back(&self._options_hdrs, header)
        self._options_pool = pool
        if old_pool != NULL:
            pjsip_endpt_release_pool(self._endpt, old_pool)
        return 0

    def set_user_agent(self, str user_agent):
        self.user_agent = user_agent
        self._rebuild_options_headers()

    # --- helpers -------------------------------------------------------------

    cdef int _require_alive(self) except -1:
        if self._endpt == NULL:
            raise SIPCoreInvalidStateError("The PJSIP endpoint was destroyed")
        return 0

    cdef void _add_event(self, str name, dict data, object sender=None):
        # sender None: the Engine. From another thread than the Engine's, the
        # Engine thread is woken to post it at once.
        self.events.append((name, sender, data))
        if PyThread_get_thread_ident() != self._poll_thread:
            _wake_engine()

    cdef void _add_exception(self):
        exc_type, exc_value, exc_traceback = sys.exc_info()
        self._add_event("SIPEngineGotException", dict(
            type=exc_type, value=exc_value,
            traceback="".join(traceback.format_exception(exc_type, exc_value, exc_traceback))))


cdef int _report_rejected_request(PJSIPUA ua, pjsip_rx_data *rdata, int code, str reason, str error) except -1:
    # A request the Engine refused before any object of the application
    # could see it (a bad SDP or Replaces in an INVITE, no Contact, ...).
    ua._add_event("SIPEngineRejectedRequest", dict(
        method=_pj_str_to_str(rdata.msg_info.msg.line.req.method.name), code=code, reason=reason, error=error,
        call_id=_pj_str_to_str(rdata.msg_info.cid.id) if rdata.msg_info.cid != NULL else None,
        peer_address=(rdata.pkt_info.src_name.decode(), rdata.pkt_info.src_port)))
    return 0


cdef void _report_callback_exception() noexcept:
    # The one way a callback from PJSIP (or from a pjlib timer or ioqueue)
    # reports a Python exception: C cannot take it, so every callback is
    #
    #     cdef void _cb_...(...) noexcept with gil:
    #         try:
    #             ...
    #         except BaseException:
    #             _report_callback_exception()
    #
    # and the exception, caught, is posted as SIPEngineGotException (with its
    # traceback) for the Engine to deliver. Costs nothing until one is raised.
    if _ua is not None:
        _ua._add_exception()


# --- callbacks from PJSIP ----------------------------------------------------

cdef void _cb_wake_read(pj_ioqueue_key_t *key, pj_ioqueue_op_key_t *op_key, pj_ssize_t bytes_read) noexcept with gil:
    # Engine thread, in its poll: another thread woke it. What it queued in C
    # (sound.pxi) becomes events now; poll() returns as events are queued.
    global _wake_pending
    cdef PJSIPUA ua = _ua
    if ua is None or ua._wake_key == NULL:
        return
    try:
        pthread_mutex_lock(&_wake_lock)
        _wake_pending = 0
        pthread_mutex_unlock(&_wake_lock)
        ua._read_wake()
        _deliver_media_events(ua)
    except BaseException:
        _report_callback_exception()


cdef void _cb_log(int level, const char *data, int length) noexcept with gil:
    cdef PJSIPUA ua = _ua
    if ua is None:
        return
    try:
        line = _c_buf_to_str(data, length)
        # PJSIP right-aligns the sender name in a fixed-width column.
        sender, _, message = line.lstrip().partition(" ")
        ua._add_event("SIPEngineLog", dict(timestamp=datetime.datetime.now(), sender=sender, level=level,
                                           message=message.strip()))
    except BaseException:
        _report_callback_exception()


cdef pj_bool_t _cb_trace_rx(pjsip_rx_data *rdata) noexcept nogil:
    if _trace_sip:
        with gil:
            _trace_received(rdata)
    return PJ_FALSE


cdef pj_status_t _cb_trace_tx(pjsip_tx_data *tdata) noexcept nogil:
    if _trace_sip:
        with gil:
            _trace_sent(tdata)
    return PJ_SUCCESS


cdef void _trace_received(pjsip_rx_data *rdata) noexcept:
    cdef PJSIPUA ua = _ua
    cdef pjsip_transport *transport = rdata.tp_info.transport
    if ua is None:
        return
    try:
        type_name = transport.type_name.decode()
        ua._add_event("SIPEngineSIPTrace", dict(
            timestamp=datetime.datetime.now(), received=True,
            source_ip=rdata.pkt_info.src_name.decode(), source_port=rdata.pkt_info.src_port,
            destination_ip=_pj_str_to_str(transport.local_name.host), destination_port=transport.local_name.port,
            data=_c_buf_to_str(rdata.msg_info.msg_buf, rdata.msg_info.len),
            transport=_TRANSPORT_NAMES.get(type_name, type_name.lower())))
    except BaseException:
        _report_callback_exception()


cdef void _trace_sent(pjsip_tx_data *tdata) noexcept:
    cdef PJSIPUA ua = _ua
    cdef pjsip_transport *transport = tdata.tp_info.transport
    if ua is None:
        return
    try:
        type_name = transport.type_name.decode()
        ua._add_event("SIPEngineSIPTrace", dict(
            timestamp=datetime.datetime.now(), received=False,
            source_ip=_pj_str_to_str(transport.local_name.host), source_port=transport.local_name.port,
            destination_ip=tdata.tp_info.dst_name.decode(), destination_port=tdata.tp_info.dst_port,
            data=_c_buf_to_str(tdata.buf.start, tdata.buf.cur - tdata.buf.start),
            transport=_TRANSPORT_NAMES.get(type_name, type_name.lower())))
    except BaseException:
        _report_callback_exception()


cdef pj_bool_t _cb_app_rx_request(pjsip_rx_data *rdata) noexcept with gil:
    # Requests no transaction, dialog or usage claimed, outside a dialog
    # unless they carry a To tag:
    #   ACK                           absorbed (it never gets a response)
    #   MESSAGE                       200, then SIPEngineGotMessage
    #   incoming_requests methods     IncomingRequest (the application answers)
    #   REFER                         IncomingReferral
    #   SUBSCRIBE, incoming event     IncomingSubscription; other events 489
    #   OPTIONS                       200 with our capabilities
    #   CANCEL, or any with a To tag  481 (no such transaction or dialog)
    #   known SIP method              405; unknown method 501 (with Allow)
    cdef PJSIPUA ua = _ua
    cdef pjsip_method *method = &rdata.msg_info.msg.line.req.method
    cdef bint in_dialog = rdata.msg_info.to.tag.slen > 0
    cdef int status
    cdef int code
    if ua is None or ua._endpt == NULL:
        return PJ_FALSE
    try:
        if method.id == PJSIP_ACK_METHOD:
            return PJ_TRUE
        name = _pj_str_to_str(method.name)
        code = 0
        if not in_dialog:
            try:
                if name == "MESSAGE":
                    _receive_message(ua, rdata)
                    return PJ_TRUE
                if name in ua.incoming_requests:
                    _receive_incoming_request(ua, rdata)
                    return PJ_TRUE
                if name == "REFER":
                    _receive_refer(ua, rdata)
                    return PJ_TRUE
                if method.id == PJSIP_INVITE_METHOD:
                    _receive_invite(ua, rdata)
                    return PJ_TRUE
                if name == "SUBSCRIBE":
                    event = _event_of(rdata.msg_info.msg)
                    if event is None:
                        code = 400  # RFC 6665 8.2.1: Event is mandatory
                    elif event in ua.incoming_events:
                        _receive_subscribe(ua, rdata, event)
                        return PJ_TRUE
                    else:
                        code = 489  # RFC 6665 8.3.2: an event package we do not serve
            except PJSIPError as error:
                # PJSIP refused the request (say, no Contact to build a
                # dialog on): its reason maps to a SIP status when it has one.
                code = error.status - _PJSIP_ERRNO_START if 400 <= error.status - _PJSIP_ERRNO_START < 700 else 500
                _report_rejected_request(ua, rdata, code, _pj_str_to_str(pjsip_get_status_text(code)[0]),
                                         str(error))
        if code:
            pass
        elif method.id == PJSIP_OPTIONS_METHOD and not in_dialog:
            code = 200
        elif method.id == PJSIP_CANCEL_METHOD or in_dialog:
            code = 481
        elif name in _KNOWN_METHODS:
            code = 405
        else:
            code = 501
        # Stateless, like pjsua: these answers are idempotent, so a
        # retransmitted request simply gets the same answer again, and no
        # transaction (with its pool, lock and timers) is spent on them.
        status = pjsip_endpt_respond_stateless(ua._endpt, rdata, code, NULL, &ua._options_hdrs, NULL)
        if status != PJ_SUCCESS:
            ua._add_event("SIPEngineLog", dict(timestamp=datetime.datetime.now(), sender="sipsimple", level=2,
                                               message="Could not answer %s: %s" % (name, _pj_status_to_str(status))))
    except BaseException:
        _report_callback_exception()
    return PJ_TRUE


cdef int _receive_message(PJSIPUA ua, pjsip_rx_data *rdata) except -1:
    # A MESSAGE outside a dialog: answered 200 by a server transaction (so
    # that a retransmission is absorbed, not delivered twice), then handed to
    # the application as SIPEngineGotMessage.
    cdef pjsip_msg *msg = rdata.msg_info.msg
    cdef int status
    status = pjsip_endpt_respond(ua._endpt, NULL, rdata, 200, NULL, NULL, NULL, NULL)
    if status != PJ_SUCCESS:
        raise PJSIPError("Could not answer MESSAGE", status)
    ua._add_event("SIPEngineGotMessage", dict(
        request_uri=_request_uri_of(msg), from_header=_frozen_header_from_pjsip(<pjsip_hdr *> rdata.msg_info.from_),
        to_header=_frozen_header_from_pjsip(<pjsip_hdr *> rdata.msg_info.to), headers=_received_headers(rdata),
        body=_message_body(msg) or b"", content_type=_message_content_type(msg)))
    return 0


cdef object _event_of(pjsip_msg *msg):
    for header in _frozen_headers_of_message(msg):
        if header.name in ("Event", "o"):
            return str(header.body).partition(";")[0].strip()
    return None


# --- requests PJSIP's parser rejects --------------------------------------------
#
# RFC 3261 8.1.3.3/8.2: a UAS answers a malformed request with 400 when it
# can build a response, that is when the request line and the Via, From, To,
# Call-ID and CSeq headers can be found (their values are copied as they
# came, as RFC 3261 8.2.6.2 says). PJSIP drops such requests; this finds the
# headers with a lenient reader of our own and sends the 400 itself: over the
# connection the request came on (TCP, TLS), or to the top Via's received /
# rport / sent-by (UDP, RFC 3261 18.2.2 and RFC 3581).

_COMPACT_NAMES = {"v": "via", "f": "from", "t": "to", "i": "call-id"}
_BAD_REQUEST_WARNING = 'Warning: 399 sipsimple "Malformed request"\r\n'


cdef object _bad_request_for(str text):
    head = text.replace("\r\n", "\n").split("\n\n", 1)[0]
    lines = head.split("\n")
    request_line = lines[0].split(" ")
    if len(request_line) != 3 or not request_line[2].upper().startswith("SIP/") or request_line[0] == "ACK":
        return None
    headers = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        if colon:
            name = name.strip().lower()
            headers.append((_COMPACT_NAMES.get(name, name), value.strip()))
    vias = [value for name, value in headers if name == "via"]
    found = {}
    for name, value in headers:
        if name in ("from", "to", "call-id", "cseq") and name not in found:
            found[name] = value
    if not vias or len(found) != 4:
        return None
    to_value = found["to"]
    if ";tag=" not in to_value.replace(" ", "").lower():
        to_value += ";tag=%s" % uuid.uuid4().hex[:16]
    response = "SIP/2.0 400 Bad Request\r\n"
    response += "".join("Via: %s\r\n" % via for via in vias)
    response += "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n" % (
        found["from"], to_value, found["call-id"], found["cseq"])
    response += _BAD_REQUEST_WARNING + "Content-Length: 0\r\n\r\n"
    return response, vias[0]


cdef object _via_destination(str via):
    # "SIP/2.0/UDP host:port;received=..;rport=.." -> (host, port)
    _, _, rest = via.partition(" ")
    sent_by, _, parameters = rest.strip().partition(";")
    values = {}
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        values[name.lower()] = value
    sent_by = sent_by.strip()
    if sent_by.startswith("["):
        host, _, port_text = sent_by[1:].partition("]")
        port_text = port_text.lstrip(":")
    else:
        host, _, port_text = sent_by.partition(":")
    host = values.get("received") or host
    port_text = values.get("rport") or port_text or "5060"
    return host, int(port_text)


cdef void _cb_dropped_data(pjsip_tp_dropped_data *dropped) noexcept with gil:
    cdef PJSIPUA ua = _ua
    cdef pjsip_tpselector selector
    cdef pj_sockaddr address
    cdef pj_str_t host_str
    cdef pjsip_transport *transport = dropped.tp
    cdef int status
    if ua is None or ua._endpt == NULL or dropped.data == NULL or transport == NULL:
        return
    try:
        answer = _bad_request_for((<char *> dropped.data)[:dropped.len].decode("utf-8", "replace"))
        if answer is None:
            return
        response, top_via = answer
        encoded = response.encode("utf-8")
        selector.type = PJSIP_TPSELECTOR_TRANSPORT
        selector.u.transport = transport
        if pjsip_transport_get_flag_from_type(transport.key.type) & PJSIP_TRANSPORT_RELIABLE:
            address = transport.key.rem_addr
        else:
            host, port = _via_destination(top_via)
            encoded_host = host.encode()
            _set_pj_str(&host_str, encoded_host)
            if pj_sockaddr_init(pj_AF_INET6() if ":" in host else pj_AF_INET(), &address, &host_str, port) != 0:
                return  # a host name: not resolved here
        status = pjsip_endpt_send_raw(ua._endpt, transport.key.type, &selector, <char *> encoded, len(encoded),
                                      &address, transport.addr_len, NULL, NULL)
        ua._add_event("SIPEngineLog", dict(timestamp=datetime.datetime.now(), sender="sipsimple", level=3,
                                           message="Answered a malformed request with 400" if status == PJ_SUCCESS
                                           else "Could not answer a malformed request: %s" % _pj_status_to_str(status)))
    except BaseException:
        _report_callback_exception()
