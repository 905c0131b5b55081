# INTERIM (replaced by headers.pxi from the headers branch before merge):
# received headers as (name, body) pairs.

class _RawHeader:
    __slots__ = ("name", "body")

    def __init__(self, name, body):
        self.name = name
        self.body = body

    def __repr__(self):
        return "%s: %s" % (self.name, self.body)


cdef object _frozen_header_from_pjsip(pjsip_hdr *hdr):
    cdef char buf[8192]
    cdef int length = pjsip_hdr_print_on(hdr, buf, sizeof(buf))
    if length < 0:
        return None
    name, _, body = buf[:length].decode("utf-8", "surrogateescape").partition(":")
    return _RawHeader(name.strip(), body.strip())


cdef list _frozen_headers_of_message(pjsip_msg *msg):
    cdef pjsip_hdr *hdr = msg.hdr.next
    result = []
    while hdr != &msg.hdr:
        header = _frozen_header_from_pjsip(hdr)
        if header is not None:
            result.append(header)
        hdr = hdr.next
    return result


cdef object _request_uri_of(pjsip_msg *msg):
    cdef char buf[4096]
    cdef int length = pjsip_uri_print(PJSIP_URI_IN_REQ_URI, msg.line.req.uri, buf, sizeof(buf))
    return buf[:length].decode("utf-8", "surrogateescape") if length > 0 else None
