# TEMPORARY, until the media-sound branch (sound.pxi) lands: the smallest
# AudioMixer that AudioTransport can be built and tested against. A PJMEDIA
# conference bridge with no sound device, clocked by a master port that
# pulls from the bridge and pushes into a null port. It offers exactly the
# internal C API sound.pxi promises (_conf, _add_port, _remove_port) plus
# connect_slots/disconnect_slots. Delete this file (and its include in
# _core.pyx) when merging media-sound.

cdef extern from "pjmedia.h" nogil:
    ctypedef struct pjmedia_conf:
        pass
    ctypedef struct pjmedia_master_port:
        pass
    enum:
        PJMEDIA_CONF_NO_DEVICE
    pj_status_t pjmedia_conf_create(pj_pool_t *pool, unsigned max_slots, unsigned sampling_rate,
                                    unsigned channel_count, unsigned samples_per_frame, unsigned bits_per_sample,
                                    unsigned options, pjmedia_conf **p_conf)
    pj_status_t pjmedia_conf_destroy(pjmedia_conf *conf)
    pjmedia_port *pjmedia_conf_get_master_port(pjmedia_conf *conf)
    pj_status_t pjmedia_conf_add_port(pjmedia_conf *conf, pj_pool_t *pool, pjmedia_port *strm_port,
                                      const pj_str_t *port_name, unsigned *p_slot)
    pj_status_t pjmedia_conf_remove_port(pjmedia_conf *conf, unsigned slot)
    pj_status_t pjmedia_conf_connect_port(pjmedia_conf *conf, unsigned src_slot, unsigned sink_slot, int adj_level)
    pj_status_t pjmedia_conf_disconnect_port(pjmedia_conf *conf, unsigned src_slot, unsigned sink_slot)
    pj_status_t pjmedia_null_port_create(pj_pool_t *pool, unsigned sampling_rate, unsigned channel_count,
                                         unsigned samples_per_frame, unsigned bits_per_sample, pjmedia_port **p_port)
    pj_status_t pjmedia_master_port_create(pj_pool_t *pool, pjmedia_port *u_port, pjmedia_port *d_port,
                                           unsigned options, pjmedia_master_port **p_m)
    pj_status_t pjmedia_master_port_start(pjmedia_master_port *m)
    pj_status_t pjmedia_master_port_stop(pjmedia_master_port *m)
    pj_status_t pjmedia_master_port_destroy(pjmedia_master_port *m, pj_bool_t destroy_ports)
    pj_status_t pjmedia_port_destroy(pjmedia_port *the_port)


@cython.auto_pickle(False)
cdef class AudioMixer:
    """Temporary stand-in for sound.pxi's AudioMixer (no devices; bridge clocked by a null port)."""

    cdef pjmedia_conf *_conf
    cdef pj_pool_t *_pool
    cdef pjmedia_port *_null_port
    cdef pjmedia_master_port *_master
    cdef readonly int sample_rate

    def __init__(self, input_device=None, output_device=None, sample_rate=32000, ec_tail_length=0,
                 slot_count=254):
        cdef PJSIPUA ua = _media_ua()
        cdef int status
        cdef unsigned frame = sample_rate * 20 // 1000
        _check_thread()
        self.sample_rate = sample_rate
        self._pool = pjmedia_endpt_create_pool(ua._media_endpt, "mixer", 4096, 4096)
        status = pjmedia_conf_create(self._pool, slot_count, sample_rate, 1, frame, 16, PJMEDIA_CONF_NO_DEVICE,
                                     &self._conf)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not create the conference bridge", status)
        status = pjmedia_null_port_create(self._pool, sample_rate, 1, frame, 16, &self._null_port)
        if status == PJ_SUCCESS:
            status = pjmedia_master_port_create(self._pool, pjmedia_conf_get_master_port(self._conf),
                                                self._null_port, 0, &self._master)
        if status == PJ_SUCCESS:
            status = pjmedia_master_port_start(self._master)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not clock the conference bridge", status)
        ua._live_objects.add(self)

    cdef int _add_port(self, pj_pool_t *pool, pjmedia_port *port) except -1:
        cdef unsigned slot = 0
        cdef int status
        with nogil:
            status = pjmedia_conf_add_port(self._conf, pool, port, NULL, &slot)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not add a port to the mixer", status)
        return slot

    cdef int _remove_port(self, unsigned slot) except -1:
        cdef int status
        if self._conf == NULL:
            return 0
        with nogil:
            status = pjmedia_conf_remove_port(self._conf, slot)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not remove a port from the mixer", status)
        return 0

    def connect_slots(self, unsigned src, unsigned dst):
        cdef int status
        with nogil:
            status = pjmedia_conf_connect_port(self._conf, src, dst, 0)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not connect the slots", status)

    def disconnect_slots(self, unsigned src, unsigned dst):
        cdef int status
        with nogil:
            status = pjmedia_conf_disconnect_port(self._conf, src, dst)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not disconnect the slots", status)

    cdef void _destroy(self):
        if self._master != NULL:
            with nogil:
                pjmedia_master_port_stop(self._master)
                pjmedia_master_port_destroy(self._master, PJ_FALSE)
            self._master = NULL
        if self._conf != NULL:
            with nogil:
                pjmedia_conf_destroy(self._conf)
            self._conf = NULL
        if self._null_port != NULL:
            pjmedia_port_destroy(self._null_port)
            self._null_port = NULL
        if self._pool != NULL:
            pj_pool_release(self._pool)
            self._pool = NULL
        if _ua is not None:
            _ua._live_objects.discard(self)


cdef int _sound_stub_engine_stopping(PJSIPUA ua) except -1:
    for obj in list(ua._live_objects):
        if isinstance(obj, AudioMixer):
            (<AudioMixer> obj)._destroy()
    return 0
