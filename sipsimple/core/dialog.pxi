# What the dialog usages (Invitation, Subscription, Referral, their incoming
# forms) share: setting up the dialog of an outgoing request, and our Contact
# for a dialog an incoming request creates.


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


cdef str _local_contact(pjsip_rx_data *rdata):
    # Our address on the transport the request came in on.
    cdef pjsip_transport *transport = rdata.tp_info.transport
    host = _pj_str_to_str(transport.local_name.host)
    if ":" in host:
        host = "[%s]" % host
    type_name = transport.type_name.decode()
    transport_name = _TRANSPORT_NAMES.get(type_name, type_name.lower())
    scheme = "sips" if transport_name == "tls" else "sip"
    suffix = ";transport=%s" % transport_name if transport_name in ("tcp",) else ""
    return "<%s:%s:%d%s>" % (scheme, host, transport.local_name.port, suffix)
