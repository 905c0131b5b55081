# Errors, string conversion and thread registration shared by every area of
# the core.

import threading


class SIPCoreError(Exception):
    """Base class of every error raised by sipsimple.core."""


class PJSIPError(SIPCoreError):
    """A PJSIP call failed. `status` is PJSIP's status code, `errmsg` its text."""

    def __init__(self, message, status):
        self.status = status
        self.errmsg = _pj_status_to_str(status)
        SIPCoreError.__init__(self, "%s: %s (PJSIP status %d)" % (message, self.errmsg, status))


class SIPCoreInvalidStateError(SIPCoreError):
    """A method was called in a state in which it cannot run."""


cdef str _pj_status_to_str(int status):
    cdef char buf[PJ_ERR_MSG_SIZE]
    cdef pj_str_t text = pj_strerror(status, buf, PJ_ERR_MSG_SIZE)
    return buf[:text.slen].decode("utf-8", "replace")


cdef str _pj_str_to_str(pj_str_t value):
    if value.slen <= 0 or value.ptr == NULL:
        return ""
    return value.ptr[:value.slen].decode("utf-8", "surrogateescape")


cdef str _c_buf_to_str(const char *data, Py_ssize_t length):
    if data == NULL or length <= 0:
        return ""
    return data[:length].decode("utf-8", "surrogateescape")


cdef int _set_pj_str(pj_str_t *target, bytes value) except -1:
    # The caller keeps `value` alive for as long as PJSIP reads `target`.
    target.ptr = value
    target.slen = len(value)
    return 0


# --- thread registration ---------------------------------------------------
#
# pjlib refuses (asserts) to be called from a thread it does not know. Every
# Python thread that calls into PJSIP registers itself once per pjlib
# lifetime. The descriptor pjlib keeps a pointer to lives in a per-thread
# object, freed when the thread ends; a pjlib restart (pj_shutdown/pj_init)
# drops all registrations, which pj_thread_is_registered() then reports.

@cython.auto_pickle(False)
cdef class _ThreadDescriptor:
    cdef pj_thread_desc desc
    cdef pj_thread_t *thread


_thread_state = threading.local()


cdef int _check_thread() except -1:
    cdef _ThreadDescriptor descriptor
    cdef int status
    if pj_thread_is_registered():
        return 0
    descriptor = _ThreadDescriptor()
    name = ("py-%d" % threading.get_ident()).encode()[:30]
    status = pj_thread_register(name, descriptor.desc, &descriptor.thread)
    if status != 0:
        raise PJSIPError("Could not register thread with PJSIP", status)
    descriptors = getattr(_thread_state, "descriptors", None)
    if descriptors is None:
        descriptors = _thread_state.descriptors = []
    descriptors.append(descriptor)
    return 0
