# PJSIP's parser, with or without the Engine
#
# PJSIP's parse functions need pjlib (pj_init) and PJSIP's parser tables
# (init_sip_parser); both are reference counted.
#
# pjlib: the first use takes one reference and keeps it for the life of the
# process. The Engine's pj_shutdown() on stop then only drops its own
# reference: pjlib, its thread registrations and our pool factory stay valid.
#
# The parser tables: a reference is taken around each use only. Holding one
# for good would break Engine restarts: every pjsip_endpt_create() registers
# the "tel" URI parser again and modules (event subscriptions, Replaces)
# register their header parsers again, without checking for an earlier
# registration; that is harmless only because the endpoint's destruction
# normally clears the tables. Kept alive, PJSIP would assert (abort the
# process) on a duplicate header parser, or once its table of URI schemes
# (4 entries) is full, on the second or third Engine start. While the Engine
# runs its endpoint holds a reference, so ours only moves a counter; without
# the Engine each use sets the tables up and tears them down again.
#
# Callers hold the GIL throughout, so a use cannot interleave with the
# Engine creating its endpoint (which also holds the GIL); an endpoint being
# destroyed (without the GIL) and a use only ever move the counter between
# 1 and 2, the last one out clearing the tables.

from libc.string cimport memcpy


cdef pj_caching_pool _parser_caching_pool
cdef bint _parser_pjlib_held = False


cdef int _pjsip_parser_acquire() except -1:
    global _parser_pjlib_held
    cdef int status
    cdef int level
    if not _parser_pjlib_held:
        # pj_init() logs a line through pjlib's default writer (stdout) when it
        # really initializes; without an Engine, PJSIP logs nothing at all.
        level = pj_log_get_level()
        pj_log_set_level(0)
        status = pj_init()
        pj_log_set_level(level if _ua is not None else 0)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not initialize pjlib", status)
        _parser_pjlib_held = True
        _check_thread()
        pj_caching_pool_init(&_parser_caching_pool, NULL, 256 * 1024)
    else:
        _check_thread()
    init_sip_parser()
    return 0


cdef void _pjsip_parser_release() noexcept:
    deinit_sip_parser()


cdef pj_pool_t *_pjsip_parser_pool() except NULL:
    """A pool for one use of the parser; give it back with pj_pool_release()."""
    cdef pj_pool_t *pool = pj_pool_create(&_parser_caching_pool.factory, "sipsimple_parse", 1024, 1024, NULL)
    if pool == NULL:
        raise MemoryError("Could not allocate a memory pool")
    return pool


cdef char *_pool_text(pj_pool_t *pool, bytes text) except NULL:
    # A NUL-terminated copy: PJSIP's scanner reads one byte past the end, and
    # the structures it builds point into the text.
    cdef Py_ssize_t length = len(text)
    cdef char *copy = <char*>pj_pool_alloc(pool, length + 1)
    if copy == NULL:
        raise MemoryError()
    memcpy(copy, <char*>text, length)
    copy[length] = 0
    return copy
