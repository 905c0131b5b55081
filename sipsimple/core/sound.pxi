# Sound: the conference bridge (AudioMixer) and what plays into it or listens
# to it: WaveFile, RecordingWaveFile, ToneGenerator and MixerPort.
# docs/api/sound.md describes the API; this comment the machinery. States:
# the tables AUDIO_MIXER and MIXER_SLOT in sipsimple/core/_states.py (drawn
# in docs/api/sound.md), changed only by each class's _change_state().
#
# Threads
#   * The bridge runs in a clock thread of PJMEDIA's: a sound device's
#     playback thread, or, with no output device, a pjmedia_clock thread of
#     ours (_cb_mixer_tick). Each tick (20 ms) the bridge reads one frame from
#     every port that has a listener and writes the mix to every port, under
#     the bridge's mutex. That thread never takes the GIL: the ports written
#     here (_slot_port callbacks) are plain C; they share state with Python
#     through a _slot_shared block guarded by its own pthread mutex.
#   * What the clock thread has to report (a file reached its end, queued
#     tones are done) goes into a C queue of (target, code) pairs
#     (_queue_media_event) and wakes the Engine thread through the socket
#     pair that ua.pxi keeps in PJSIP's I/O queue (_wake_engine). The Engine
#     thread turns them into notifications (_deliver_media_events), so they
#     arrive within one poll, not after a poll timeout.
#   * Python-facing methods run in the caller's thread. Each object has a
#     lock (threading.RLock) that serialises start/stop/... among threads;
#     every call that takes the bridge's mutex (pjmedia_conf_*) or joins a
#     thread runs without the GIL, since the bridge's thread may hold the
#     mutex while a port callback runs.
#
# States
#   AudioMixer:  running --close() / Engine.stop()--> closed
#                (close: closing while its users are stopped)
#   WaveFile, RecordingWaveFile, ToneGenerator, MixerPort:
#                NULL --start()--> started --stop()--> stopped --start()--> started ...
#                WaveFile also: started --end of a non-looping file--> stopped
#                (WaveFileDidFinishPlaying); pause()/resume() keep it started.
#                Any of them: started --mixer closed / Engine.stop()--> stopped.
#
# Lifetimes
#   * An AudioMixer is in PJSIPUA._live_objects from creation to close, a
#     player/recorder/generator/port while it is started (in the bridge).
#     Each has a PJMEDIA pool of its own, released only after its port has
#     left the bridge (pjmedia_conf_remove_port returns once the clock thread
#     can no longer be inside the port) and the port was destroyed.
#   * The _slot_shared block is malloc'd with the Python object and freed by
#     its __dealloc__, so a reader blocked in MixerPort.read() never outlives it.
#   * Engine.stop() (PJSIPUA.destroy -> _shutdown_sound) closes every mixer
#     before anything else is torn down: clocks and devices stop first, then
#     the objects using the mixer stop, then the bridge goes.
#
# The internal C API for other .pxi files (mediatransport.pxi puts its
# stream's pjmedia_port into the bridge) is described at AudioMixer._add_port.

import os

from libc.errno cimport ETIMEDOUT
from libc.stdint cimport int16_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset

from sipsimple.core._states import AUDIO_MIXER, MIXER_SLOT

SYSTEM_DEFAULT_DEVICE = "system_default"
_SAMPLE_RATES = (8000, 16000, 32000, 44100, 48000)
_DTMF_FREQUENCIES = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}

cdef enum:
    _PTIME_MS = 20                  # frame length of the bridge and of every port we make
    _DTMF_ON_MS = 200               # play_dtmf(): tone, then silence
    _DTMF_OFF_MS = 50
    _MEDIA_EVENT_QUEUE_SIZE = 4096
    _MEDIA_EVENT_END_OF_FILE = 1
    _MEDIA_EVENT_TONES_DONE = 2

# Signature of the ports written here ("SSND"), for PJMEDIA's port info.
cdef unsigned _SLOT_PORT_SIGNATURE = 0x53534e44

# Serialises the device list (enumeration, refresh, opening a device) and
# the creation of mixers against _shutdown_sound.
_sound_lock = threading.RLock()


# --- events from the clock thread ------------------------------------------

cdef struct _media_event:
    int target
    int code

cdef _media_event _media_events[_MEDIA_EVENT_QUEUE_SIZE]
cdef unsigned _media_event_head = 0
cdef unsigned _media_event_count = 0
cdef unsigned _media_events_dropped = 0
cdef pthread_mutex_t _media_event_lock
pthread_mutex_init(&_media_event_lock, NULL)

# target number -> the started object it was given to; a stopped object's
# number is gone, so late events for it are dropped.
_media_targets = {}
cdef int _last_media_target = 0


cdef void _queue_media_event(int target, int code) noexcept nogil:
    # Any thread, no GIL. Each started object reports at most one event per
    # playback, so the queue only fills if the Engine thread is stuck.
    global _media_event_count, _media_events_dropped
    pthread_mutex_lock(&_media_event_lock)
    if _media_event_count < _MEDIA_EVENT_QUEUE_SIZE:
        _media_events[(_media_event_head + _media_event_count) % _MEDIA_EVENT_QUEUE_SIZE].target = target
        _media_events[(_media_event_head + _media_event_count) % _MEDIA_EVENT_QUEUE_SIZE].code = code
        _media_event_count += 1
    else:
        _media_events_dropped += 1
    pthread_mutex_unlock(&_media_event_lock)
    _wake_engine()


cdef int _deliver_media_events(PJSIPUA ua) except -1:
    # Engine thread, GIL held (from ua.pxi's wake-up callback). The lock is
    # taken with the GIL held: its other holders never wait for the GIL.
    global _media_event_head, _media_event_count, _media_events_dropped
    cdef unsigned dropped
    pending = []
    pthread_mutex_lock(&_media_event_lock)
    while _media_event_count > 0:
        pending.append((_media_events[_media_event_head].target, _media_events[_media_event_head].code))
        _media_event_head = (_media_event_head + 1) % _MEDIA_EVENT_QUEUE_SIZE
        _media_event_count -= 1
    dropped = _media_events_dropped
    _media_events_dropped = 0
    pthread_mutex_unlock(&_media_event_lock)
    for target, code in pending:
        owner = _media_targets.get(target)
        if owner is None:
            continue
        try:
            (<_MixerSlot> owner)._media_event(target, code)
        except BaseException:
            ua._add_exception()
    if dropped:
        ua._add_event("SIPEngineLog", dict(timestamp=datetime.datetime.now(), sender="sipsimple", level=1,
                                           message="%d sound notifications were lost" % dropped))
    return 0


cdef bint _media_events_pending() noexcept nogil:
    # A hint for PJSIPUA.poll (an unlocked read): the wake-up normally
    # delivers them first; this only matters if the wake-up socket failed.
    return _media_event_count > 0


cdef int _clear_media_events() except -1:
    global _media_event_head, _media_event_count, _media_events_dropped
    pthread_mutex_lock(&_media_event_lock)
    _media_event_head = _media_event_count = _media_events_dropped = 0
    pthread_mutex_unlock(&_media_event_lock)
    _media_targets.clear()
    return 0


# --- sound devices ---------------------------------------------------------
#
# PJMEDIA's audio subsystem lists ALSA's devices and a "null" device. The
# null device runs no thread, so it could not clock the bridge: it is left
# out of the lists, and a mixer without a device (None) is clocked by a
# pjmedia_clock instead.

cdef list _sound_devices():
    # [(index, name, driver, input channels, output channels)]; call with
    # _sound_lock held.
    cdef pjmedia_aud_dev_info info
    cdef unsigned index
    result = []
    if _ua is None or not _ua._audio_initialized:
        return result
    for index in range(pjmedia_aud_dev_count()):
        if pjmedia_aud_dev_get_info(index, &info) != PJ_SUCCESS:
            continue
        driver = info.driver.decode("utf-8", "replace")
        if driver == "null":
            continue
        result.append((index, info.name.decode("utf-8", "replace"), driver, info.input_count, info.output_count))
    return result


cdef object _default_sound_device(bint capture):
    # The entry of _sound_devices() PJMEDIA picks by default, or None.
    cdef pjmedia_aud_dev_info info
    if _ua is None or not _ua._audio_initialized:
        return None
    if pjmedia_aud_dev_get_info(PJMEDIA_AUD_DEFAULT_CAPTURE_DEV if capture else PJMEDIA_AUD_DEFAULT_PLAYBACK_DEV,
                                &info) != PJ_SUCCESS:
        return None
    name = info.name.decode("utf-8", "replace")
    driver = info.driver.decode("utf-8", "replace")
    for device in _sound_devices():
        if device[1] == name and device[2] == driver and (device[3] if capture else device[4]) > 0:
            return device
    return None


cdef object _sound_device_names(bint capture):
    with _sound_lock:
        return [device[1] for device in _sound_devices() if (device[3] if capture else device[4]) > 0]


cdef object _default_sound_device_name(bint capture):
    with _sound_lock:
        device = _default_sound_device(capture)
    return None if device is None else device[1]


cdef int _refresh_sound_devices(PJSIPUA ua) except -1:
    cdef int status
    with _sound_lock:
        old = (_sound_device_names(True), _sound_device_names(False))
        if ua._audio_initialized:
            with nogil:
                status = pjmedia_aud_dev_refresh()
        new = (_sound_device_names(True), _sound_device_names(False))
    if new != old:
        ua._add_event("AudioDevicesDidChange", dict(old_input_devices=old[0], old_output_devices=old[1],
                                                    input_devices=new[0], output_devices=new[1]))
    return 0


cdef object _find_sound_device(object name, bint capture):
    # name -> (index, name, driver) or None (no device); _sound_lock held.
    if name is None:
        return None
    kind = "input" if capture else "output"
    if name == SYSTEM_DEFAULT_DEVICE:
        return _default_sound_device(capture)
    candidates = [device for device in _sound_devices() if (device[3] if capture else device[4]) > 0]
    for device in candidates:
        if device[1] == name:
            return device
    raise ValueError("No %s sound device named %r; the %s devices are: %s" % (
        kind, name, kind, ", ".join(repr(device[1]) for device in candidates) or "none"))


cdef int _check_device_argument(str argument, object value) except -1:
    if value is not None and not isinstance(value, str):
        raise TypeError("%s must be a device name (str) or None, not %s" % (argument, type(value).__name__))
    return 0


cdef int _check_sound_int(str argument, object value, long low, long high) except -1:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (argument, type(value).__name__))
    if not low <= value <= high:
        raise ValueError("%s must be between %d and %d, got %d" % (argument, low, high, value))
    return 0


cdef int _shutdown_sound(PJSIPUA ua) except -1:
    # PJSIPUA.destroy(), Engine thread, before anything else is torn down:
    # every mixer stops its clock and devices, then its users, then goes.
    with _sound_lock:
        mixers = [obj for obj in ua._live_objects if isinstance(obj, AudioMixer)]
    for mixer in mixers:
        try:
            (<AudioMixer> mixer)._close()
        except BaseException:
            ua._add_exception()
    _clear_media_events()
    return 0


# --- the bridge's clock when no device drives it ---------------------------

cdef struct _mixer_tick:
    pjmedia_port *master
    void *buf
    pj_size_t size


cdef void _cb_mixer_tick(const pj_timestamp *ts, void *user_data) noexcept nogil:
    # The clock thread, every 20 ms: one round of the bridge; the mix meant
    # for the (absent) speaker is dropped.
    cdef _mixer_tick *tick = <_mixer_tick *> user_data
    cdef pjmedia_frame frame
    frame.type = PJMEDIA_FRAME_TYPE_AUDIO
    frame.buf = tick.buf
    frame.size = tick.size
    frame.timestamp.u64 = ts.u64
    frame.bit_info = 0
    pjmedia_port_get_frame(tick.master, &frame)


@cython.auto_pickle(False)
cdef class AudioMixer:
    """PJMEDIA's conference bridge with the sound devices on slot 0.

    AudioMixer(input_device, output_device, sample_rate, ec_tail_length, slot_count=254)

    Devices are named as in Engine().input_devices / output_devices,
    "system_default" for PJMEDIA's default one, or None for none. The bridge
    runs (20 ms frames) whether or not there is a device.
    """

    # Internal C API, for ports made elsewhere in the core (AudioTransport's
    # stream port, mediatransport.pxi):
    #
    #   slot = mixer._add_port(pool, port)    puts `port` into the bridge, returns its slot
    #   mixer._remove_port(slot)              takes it out again
    #   mixer._conf                           the bridge (NULL once the mixer is closed)
    #
    # Rules:
    #   * Call both with the GIL held, from any thread: they take the mixer's
    #     lock and release the GIL around the bridge's mutex themselves.
    #     _add_port raises SIPCoreInvalidStateError once the mixer is closing,
    #     SIPCoreError when every slot is taken.
    #   * The port must be mono, 16-bit, 10-60 ms frames; any sample rate
    #     (the bridge resamples). The bridge calls its get_frame/put_frame in
    #     the clock thread, under the bridge's mutex: they must not take the
    #     GIL or call the bridge.
    #   * PJMEDIA allocates the slot's buffers from `pool`: keep the pool (and
    #     the port) alive until _remove_port(slot) has returned. After it
    #     returns the bridge never touches the port again, so it may be
    #     destroyed and the pool released.
    #   * Keep the object owning the port in PJSIPUA._live_objects while it
    #     is in the bridge.
    #   * Connections go through connect_slots()/disconnect_slots(), never
    #     pjmedia_conf_connect_port() directly, so connected_slots stays true.
    #   * When the mixer closes (close(), Engine.stop()) it stops its clock
    #     and devices, then removes the slots still added this way: from then
    #     on the port is no longer called, and _remove_port() does nothing.
    #     The owner still releases its own pool (before the Engine's pool
    #     factory goes, i.e. in PJSIPUA.destroy at the latest).
    cdef pjmedia_conf *_conf

    cdef readonly int sample_rate
    cdef readonly int slot_count
    cdef readonly int ec_tail_length
    cdef readonly object input_device       # the device in use (a name), or None
    cdef readonly object output_device
    cdef readonly str state                 # AUDIO_MIXER (sipsimple/core/_states.py)
    cdef PJSIPUA _ua
    cdef pj_pool_t *_pool
    cdef pj_pool_t *_device_pool            # what a device configuration needs; replaced with it
    cdef pjmedia_port *_master_port
    cdef pjmedia_clock *_clock
    cdef pjmedia_snd_port *_play_port       # playback device (with capture when on the same driver)
    cdef pjmedia_snd_port *_capture_port    # capture device on its own
    cdef unsigned _samples_per_frame
    cdef int _muted
    cdef int _input_volume
    cdef int _output_volume
    cdef object _lock
    cdef set _occupied                      # slots in use, 0 included
    cdef set _connections                   # (source, destination)
    cdef set _users                         # _MixerSlot objects started on this mixer
    cdef object _requested_devices          # (input, output) as asked, to reopen on failure
    cdef object __weakref__

    def __cinit__(self, *args, **kwargs):
        self.state = AUDIO_MIXER.initial
        self._lock = threading.RLock()
        self._occupied = set()
        self._connections = set()
        self._users = set()
        self._input_volume = 100
        self._output_volume = 100

    def __init__(self, input_device, output_device, sample_rate, ec_tail_length, slot_count=254):
        cdef PJSIPUA ua
        cdef int status
        cdef pjmedia_conf *conf = NULL
        cdef unsigned slots
        cdef unsigned rate
        _check_device_argument("input_device", input_device)
        _check_device_argument("output_device", output_device)
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
            raise TypeError("sample_rate must be an int, not %s" % type(sample_rate).__name__)
        if sample_rate not in _SAMPLE_RATES:
            raise ValueError("sample_rate must be one of %s, got %d" % (", ".join(map(str, _SAMPLE_RATES)),
                                                                        sample_rate))
        _check_sound_int("ec_tail_length", ec_tail_length, 0, 1000)
        _check_sound_int("slot_count", slot_count, 2, PJMEDIA_CONF_MAX_PORTS)
        if self._pool != NULL:
            raise SIPCoreInvalidStateError("AudioMixer.__init__ called twice")
        with _sound_lock:
            ua = _ua
            if ua is None or ua._endpt == NULL or ua._shutting_down:
                raise SIPCoreInvalidStateError("Engine is not running")
            _check_thread()
            inputs = _find_sound_device(input_device, True)
            outputs = _find_sound_device(output_device, False)
            self._ua = ua
            self.sample_rate = sample_rate
            self.slot_count = slot_count
            self.ec_tail_length = ec_tail_length
            self._samples_per_frame = sample_rate * _PTIME_MS // 1000
            self._pool = pj_pool_create(&ua._caching_pool.factory, "AudioMixer", 4096, 4096, NULL)
            if self._pool == NULL:
                raise MemoryError("Could not allocate a memory pool")
            try:
                slots = slot_count
                rate = sample_rate
                with nogil:
                    status = pjmedia_conf_create(self._pool, slots, rate, 1, self._samples_per_frame, 16,
                                                 PJMEDIA_CONF_NO_DEVICE, &conf)
                if status != PJ_SUCCESS:
                    raise PJSIPError("Could not create the conference bridge", status)
                self._conf = conf
                self._master_port = pjmedia_conf_get_master_port(conf)
                self._occupied.add(0)
                self._start_devices(inputs, outputs)
            except BaseException:
                if self._conf != NULL:
                    with nogil:
                        pjmedia_conf_destroy(conf)
                    self._conf = NULL
                pj_pool_release(self._pool)
                self._pool = NULL
                raise
            self._requested_devices = (input_device, output_device)
            self._change_state("open")
            ua._live_objects.add(self)

    # --- devices ---------------------------------------------------------

    cdef pjmedia_snd_port *_open_sound_port(self, pj_pool_t *pool, pjmedia_dir direction, object capture,
                                            object playback) except NULL:
        cdef pjmedia_snd_port_param param
        cdef pjmedia_snd_port *port = NULL
        cdef int status
        cdef int rec_id = capture[0] if capture is not None else -1
        cdef int play_id = playback[0] if playback is not None else -1
        pjmedia_snd_port_param_default(&param)
        status = pjmedia_aud_dev_default_param(rec_id if capture is not None else play_id, &param.base)
        if status == PJ_SUCCESS:
            param.base.dir = direction
            param.base.rec_id = rec_id
            param.base.play_id = play_id
            param.base.clock_rate = self.sample_rate
            param.base.channel_count = 1
            param.base.samples_per_frame = self._samples_per_frame
            param.base.bits_per_sample = 16
            with nogil:
                status = pjmedia_snd_port_create2(pool, &param, &port)
        if status != PJ_SUCCESS:
            names = " and ".join(repr(device[1]) for device in (capture, playback) if device is not None)
            raise PJSIPError("Could not open the sound device %s" % names, status)
        return port

    cdef int _start_devices(self, object capture, object playback) except -1:
        # capture, playback: entries of _sound_devices() or None. Called
        # with no device running; on failure nothing is left running.
        cdef pj_pool_t *pool
        cdef _mixer_tick *tick
        cdef pjmedia_clock *clock = NULL
        cdef int status = PJ_SUCCESS
        pool = pj_pool_create(&self._ua._caching_pool.factory, "AudioMixer-devices", 1024, 1024, NULL)
        if pool == NULL:
            raise MemoryError("Could not allocate a memory pool")
        self._device_pool = pool
        try:
            if playback is not None:
                if capture is not None and capture[2] == playback[2]:
                    # One stream for both: the only way software echo
                    # cancellation sees both directions.
                    self._play_port = self._open_sound_port(pool, PJMEDIA_DIR_CAPTURE_PLAYBACK, capture, playback)
                    if self.ec_tail_length > 0:
                        with nogil:
                            status = pjmedia_snd_port_set_ec(self._play_port, pool, self.ec_tail_length, 0)
                        if status != PJ_SUCCESS:
                            raise PJSIPError("Could not start the echo canceller", status)
                else:
                    self._play_port = self._open_sound_port(pool, PJMEDIA_DIR_PLAYBACK, None, playback)
                    if capture is not None:
                        self._capture_port = self._open_sound_port(pool, PJMEDIA_DIR_CAPTURE, capture, None)
            else:
                # No speaker to pull the mix: a clock thread does.
                tick = <_mixer_tick *> pj_pool_zalloc(pool, sizeof(_mixer_tick))
                tick.master = self._master_port
                tick.size = self._samples_per_frame * 2
                tick.buf = pj_pool_zalloc(pool, tick.size)
                with nogil:
                    status = pjmedia_clock_create(pool, self.sample_rate, 1, self._samples_per_frame, 0,
                                                  _cb_mixer_tick, tick, &clock)
                if status != PJ_SUCCESS:
                    raise PJSIPError("Could not create the mixer's clock", status)
                self._clock = clock
                if capture is not None:
                    self._capture_port = self._open_sound_port(pool, PJMEDIA_DIR_CAPTURE, capture, None)
            with nogil:
                if self._play_port != NULL:
                    status = pjmedia_snd_port_connect(self._play_port, self._master_port)
                if status == PJ_SUCCESS and self._capture_port != NULL:
                    status = pjmedia_snd_port_connect(self._capture_port, self._master_port)
                if status == PJ_SUCCESS and self._clock != NULL:
                    status = pjmedia_clock_start(self._clock)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not start the sound devices", status)
        except BaseException:
            self._stop_devices()
            raise
        self.input_device = capture[1] if capture is not None else None
        self.output_device = playback[1] if playback is not None else None
        return 0

    cdef int _stop_devices(self) except -1:
        # Joins the clock and device threads: afterwards nothing calls into
        # the bridge until _start_devices.
        cdef pjmedia_clock *clock = self._clock
        cdef pjmedia_snd_port *play_port = self._play_port
        cdef pjmedia_snd_port *capture_port = self._capture_port
        cdef pj_pool_t *pool = self._device_pool
        self._clock = NULL
        self._play_port = NULL
        self._capture_port = NULL
        self._device_pool = NULL
        with nogil:
            if clock != NULL:
                pjmedia_clock_destroy(clock)
            if play_port != NULL:
                pjmedia_snd_port_destroy(play_port)
            if capture_port != NULL:
                pjmedia_snd_port_destroy(capture_port)
        if pool != NULL:
            pj_pool_release(pool)
        self.input_device = None
        self.output_device = None
        return 0

    def set_sound_devices(self, input_device, output_device, ec_tail_length):
        """Switch to other devices (names as for the constructor); slots and connections stay.

        If the new devices cannot be opened, the previous ones are reopened
        (or, failing that, none) and the error is raised.
        """
        _check_device_argument("input_device", input_device)
        _check_device_argument("output_device", output_device)
        _check_sound_int("ec_tail_length", ec_tail_length, 0, 1000)
        with self._lock:
            self._require_running()
            with _sound_lock:
                inputs = _find_sound_device(input_device, True)
                outputs = _find_sound_device(output_device, False)
                previous_tail = self.ec_tail_length
                self._stop_devices()
                self.ec_tail_length = ec_tail_length
                try:
                    self._start_devices(inputs, outputs)
                except BaseException:
                    self.ec_tail_length = previous_tail
                    try:
                        self._start_devices(_find_sound_device(self._requested_devices[0], True),
                                            _find_sound_device(self._requested_devices[1], False))
                    except BaseException:
                        self._requested_devices = (None, None)
                        self._start_devices(None, None)
                    raise
                self._requested_devices = (input_device, output_device)

    # --- lifetime --------------------------------------------------------

    def close(self):
        """Stop the devices and every object playing into or listening to the mixer; free the bridge.

        Idempotent. Engine.stop() closes every mixer.
        """
        self._close()

    cdef int _close(self) except -1:
        cdef pjmedia_conf *conf
        cdef unsigned slot
        with self._lock:
            if not AUDIO_MIXER.allows(self.state, "close"):
                return 0
            _check_thread()
            self._change_state("close")
            users = list(self._users)
        # No other method touches the devices once the state is "closing".
        self._stop_devices()
        for user in users:
            (<_MixerSlot> user)._mixer_closed()
        with self._lock:
            conf = self._conf
            self._conf = NULL
            for slot in sorted(self._occupied - {0}):
                # A port added through _add_port by another part of the core.
                with nogil:
                    pjmedia_conf_remove_port(conf, slot)
            if conf != NULL:
                with nogil:
                    pjmedia_conf_destroy(conf)
            self._master_port = NULL
            if self._pool != NULL:
                pj_pool_release(self._pool)
                self._pool = NULL
            self._occupied.clear()
            self._connections.clear()
            self._users.clear()
            self._change_state("closed")
        self._ua._live_objects.discard(self)
        return 0

    cdef int _require_running(self) except -1:
        # Checked before any call into PJMEDIA: while the mixer runs, so does
        # pjlib, and the calling thread can be registered with it.
        AUDIO_MIXER.require(self.state, "use", SIPCoreInvalidStateError)
        _check_thread()
        return 0

    cdef int _change_state(self, str event) except -1:
        # The one place where state changes: to where AUDIO_MIXER says `event` leads.
        self.state = AUDIO_MIXER.next(self.state, event)
        return 0

    # --- the internal C API (see the comment at the top of the class) ----

    cdef int _add_port(self, pj_pool_t *pool, pjmedia_port *port) except -1:
        cdef unsigned slot = 0
        cdef int status
        with self._lock:
            self._require_running()
            with nogil:
                status = pjmedia_conf_add_port(self._conf, pool, port, NULL, &slot)
            if status == PJ_ETOOMANY:
                raise SIPCoreError("All %d slots of the AudioMixer are in use" % self.slot_count)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not add a port to the AudioMixer", status)
            self._occupied.add(slot)
        return slot

    cdef int _remove_port(self, unsigned slot) except -1:
        with self._lock:
            if self._conf == NULL or slot == 0 or slot not in self._occupied:
                return 0
            with nogil:
                pjmedia_conf_remove_port(self._conf, slot)
            self._occupied.discard(slot)
            self._connections = {connection for connection in self._connections if slot not in connection}
        return 0

    cdef int _register_user(self, object user) except -1:
        with self._lock:
            self._require_running()
            self._users.add(user)
        return 0

    cdef int _unregister_user(self, object user) except -1:
        with self._lock:
            self._users.discard(user)
        return 0

    cdef int _set_receiving(self, unsigned slot, bint enabled) except -1:
        # Whether the bridge takes audio from the port in `slot`.
        cdef int status
        cdef pjmedia_port_op op = PJMEDIA_PORT_ENABLE if enabled else PJMEDIA_PORT_DISABLE
        with self._lock:
            self._require_running()
            with nogil:
                status = pjmedia_conf_configure_port(self._conf, slot, PJMEDIA_PORT_NO_CHANGE, op)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not configure slot %d" % slot, status)
        return 0

    # --- slots and connections ---------------------------------------------

    cdef unsigned _checked_slot(self, str argument, object slot) except? 0xFFFFFFFF:
        _check_sound_int(argument, slot, 0, self.slot_count - 1)
        if slot not in self._occupied:
            raise ValueError("%s: slot %d is not in use" % (argument, slot))
        return slot

    def connect_slots(self, src, dst):
        """Send what the port in slot `src` produces to the port in slot `dst` (slot 0: the devices)."""
        cdef unsigned source
        cdef unsigned destination
        cdef int status
        with self._lock:
            self._require_running()
            source = self._checked_slot("src", src)
            destination = self._checked_slot("dst", dst)
            with nogil:
                status = pjmedia_conf_connect_port(self._conf, source, destination, 0)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not connect slot %d to slot %d" % (source, destination), status)
            self._connections.add((source, destination))

    def disconnect_slots(self, src, dst):
        """Undo connect_slots(src, dst); nothing happens if they are not connected."""
        cdef unsigned source
        cdef unsigned destination
        cdef int status
        with self._lock:
            self._require_running()
            source = self._checked_slot("src", src)
            destination = self._checked_slot("dst", dst)
            if (source, destination) not in self._connections:
                return
            with nogil:
                status = pjmedia_conf_disconnect_port(self._conf, source, destination)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not disconnect slot %d from slot %d" % (source, destination), status)
            self._connections.discard((source, destination))

    @property
    def connected_slots(self):
        """The connections as a sorted list of (src, dst)."""
        with self._lock:
            return sorted(self._connections)

    @property
    def used_slot_count(self):
        """Slots in use, slot 0 (the devices) included; 0 once closed."""
        with self._lock:
            if self._conf == NULL:
                return 0
            return pjmedia_conf_get_port_count(self._conf)

    @property
    def is_active(self):
        return self.state == "running"

    # --- slot 0: the devices -------------------------------------------------

    @property
    def muted(self):
        """True: nothing from the input device reaches the bridge."""
        return bool(self._muted)

    @muted.setter
    def muted(self, value):
        self._set_receiving(0, not value)
        self._muted = 1 if value else 0

    @property
    def input_volume(self):
        """Level of the input device in the mix, in percent: 0 silent, 100 as captured, up to 200."""
        return self._input_volume

    @input_volume.setter
    def input_volume(self, value):
        self._set_volume(value, True)

    @property
    def output_volume(self):
        """Level of the mix sent to the output device, in percent: 0 silent, 100 unchanged, up to 200."""
        return self._output_volume

    @output_volume.setter
    def output_volume(self, value):
        self._set_volume(value, False)

    cdef int _set_volume(self, object value, bint capture) except -1:
        _check_sound_int("input_volume" if capture else "output_volume", value, 0, 200)
        with self._lock:
            self._adjust_level(0, value, capture)
            if capture:
                self._input_volume = value
            else:
                self._output_volume = value
        return 0

    cdef int _adjust_level(self, unsigned slot, int percent, bint into_bridge) except -1:
        # The level of what the port in `slot` gives the bridge (into_bridge)
        # or of what the bridge gives it, in percent (0-200, 100: unchanged).
        cdef int status
        # PJMEDIA's adjustment: out = in * (level + 128) / 128.
        cdef int level = percent * 128 // 100 - 128
        with self._lock:
            self._require_running()
            with nogil:
                if into_bridge:
                    status = pjmedia_conf_adjust_rx_level(self._conf, slot, level)
                else:
                    status = pjmedia_conf_adjust_tx_level(self._conf, slot, level)
            if status != PJ_SUCCESS:
                raise PJSIPError("Could not set the volume of slot %d" % slot, status)
        return 0


# --- objects with a slot in the bridge -------------------------------------

cdef struct _slot_shared:
    # Shared by a Python object and its port's callbacks in the clock thread;
    # every field is guarded by `lock`.
    pthread_mutex_t lock
    pthread_cond_t cond             # MixerPort: data arrived / room freed / stopped
    int target                      # number for _queue_media_event, 0: report nothing
    int tones_pending               # ToneGenerator: tones queued and not yet finished
    int eof_reported                # WaveFile: the end was reported
    int closed                      # the port left the bridge
    unsigned frame_samples
    int16_t *rx                     # MixerPort: what the bridge sent to the slot, for read()
    size_t rx_capacity
    size_t rx_start
    size_t rx_count
    int16_t *tx                     # MixerPort: what write() queued for the bridge
    size_t tx_capacity
    size_t tx_start
    size_t tx_count


ctypedef pj_status_t (*_put_frame_callback)(pjmedia_port *port, pjmedia_frame *frame) noexcept nogil


cdef struct _slot_port:
    # What the bridge sees: our callbacks around a PJMEDIA port (`inner`:
    # the file player or writer, the tone generator) or, for MixerPort, the
    # whole port. Allocated from the object's pool.
    pjmedia_port base
    pjmedia_port *inner
    _slot_shared *shared
    void *silence                   # one frame of zeros
    pj_size_t silence_size


cdef void _ring_put(int16_t *ring, size_t capacity, size_t position, const char *source, size_t count) noexcept nogil:
    # Copy `count` samples to ring[position...], wrapping; `source` may be unaligned.
    cdef size_t first = capacity - position
    if first > count:
        first = count
    if source == NULL:
        memset(ring + position, 0, first * 2)
        memset(ring, 0, (count - first) * 2)
    else:
        memcpy(ring + position, source, first * 2)
        memcpy(ring, source + first * 2, (count - first) * 2)


cdef void _ring_get(const int16_t *ring, size_t capacity, size_t position, char *target, size_t count) noexcept nogil:
    cdef size_t first = capacity - position
    if first > count:
        first = count
    memcpy(target, ring + position, first * 2)
    memcpy(target + first * 2, ring, (count - first) * 2)


cdef pj_status_t _cb_no_frame(pjmedia_port *port, pjmedia_frame *frame) noexcept nogil:
    frame.type = PJMEDIA_FRAME_TYPE_NONE
    frame.size = 0
    return PJ_SUCCESS


cdef pj_status_t _cb_player_get_frame(pjmedia_port *port, pjmedia_frame *frame) noexcept nogil:
    # Clock thread. A non-looping player answers PJ_EEOF once past its end.
    cdef _slot_port *wrapper = <_slot_port *> port
    cdef _slot_shared *shared = wrapper.shared
    cdef int target = 0
    cdef pj_status_t status = pjmedia_port_get_frame(wrapper.inner, frame)
    if status == PJ_EEOF:
        frame.type = PJMEDIA_FRAME_TYPE_NONE
        frame.size = 0
        pthread_mutex_lock(&shared.lock)
        if not shared.eof_reported:
            shared.eof_reported = 1
            target = shared.target
        pthread_mutex_unlock(&shared.lock)
        if target:
            _queue_media_event(target, _MEDIA_EVENT_END_OF_FILE)
    return status


cdef pj_status_t _cb_tone_get_frame(pjmedia_port *port, pjmedia_frame *frame) noexcept nogil:
    # Clock thread. The tone generator has no callback: it is done when it
    # stops being busy after tones were queued (play_tones holds the same
    # lock while it queues, so the two cannot interleave).
    cdef _slot_port *wrapper = <_slot_port *> port
    cdef _slot_shared *shared = wrapper.shared
    cdef int target = 0
    cdef pj_status_t status
    pthread_mutex_lock(&shared.lock)
    status = pjmedia_port_get_frame(wrapper.inner, frame)
    if shared.tones_pending and not pjmedia_tonegen_is_busy(wrapper.inner):
        shared.tones_pending = 0
        target = shared.target
    pthread_mutex_unlock(&shared.lock)
    if target:
        _queue_media_event(target, _MEDIA_EVENT_TONES_DONE)
    return status


cdef pj_status_t _cb_recorder_put_frame(pjmedia_port *port, pjmedia_frame *frame) noexcept nogil:
    # Clock thread. With nothing connected the bridge sends empty frames:
    # they are written as silence, so the file keeps the time line.
    cdef _slot_port *wrapper = <_slot_port *> port
    cdef pjmedia_frame silence
    if frame.type == PJMEDIA_FRAME_TYPE_AUDIO and frame.size > 0:
        return pjmedia_port_put_frame(wrapper.inner, frame)
    silence.type = PJMEDIA_FRAME_TYPE_AUDIO
    silence.buf = wrapper.silence
    silence.size = wrapper.silence_size
    silence.timestamp.u64 = frame.timestamp.u64
    silence.bit_info = 0
    return pjmedia_port_put_frame(wrapper.inner, &silence)


cdef void _ring_append_dropping(int16_t *ring, size_t capacity, size_t *start, size_t *count,
                                const char *source, size_t samples) noexcept nogil:
    # Append `samples` (NULL source: silence) to a ring of `capacity`; when it
    # would overflow, the oldest samples go. Called with the shared lock held.
    cdef size_t excess
    if capacity == 0:
        return
    if samples > capacity:
        source = source + (samples - capacity) * 2 if source != NULL else NULL
        samples = capacity
    if count[0] + samples > capacity:
        excess = count[0] + samples - capacity
        start[0] = (start[0] + excess) % capacity
        count[0] -= excess
    _ring_put(ring, capacity, (start[0] + count[0]) % capacity, source, samples)
    count[0] += samples


cdef pj_status_t _cb_mixer_port_put_frame(pjmedia_port *port, pjmedia_frame *frame) noexcept nogil:
    # Clock thread: the frame for this slot goes to the read buffer (silence
    # when nothing is connected); when the buffer is full the oldest go.
    cdef _slot_shared *shared = (<_slot_port *> port).shared
    cdef const char *source = NULL
    cdef size_t count = shared.frame_samples
    if frame.type == PJMEDIA_FRAME_TYPE_AUDIO and frame.size > 0 and frame.buf != NULL:
        source = <const char *> frame.buf
        count = frame.size // 2
    pthread_mutex_lock(&shared.lock)
    if not shared.closed:
        _ring_append_dropping(shared.rx, shared.rx_capacity, &shared.rx_start, &shared.rx_count, source, count)
        pthread_cond_broadcast(&shared.cond)
    pthread_mutex_unlock(&shared.lock)
    return PJ_SUCCESS


cdef pj_status_t _cb_relay_put_frame(pjmedia_port *port, pjmedia_frame *frame) noexcept nogil:
    # Clock thread: what the bridge sent to a RelayPort becomes what it sends
    # (read by _cb_mixer_port_get_frame at the next tick). Silence is relayed
    # as nothing, so that a relay nobody feeds costs its listeners no mixing.
    cdef _slot_shared *shared = (<_slot_port *> port).shared
    if frame.type != PJMEDIA_FRAME_TYPE_AUDIO or frame.size == 0 or frame.buf == NULL:
        return PJ_SUCCESS
    pthread_mutex_lock(&shared.lock)
    if not shared.closed:
        _ring_append_dropping(shared.tx, shared.tx_capacity, &shared.tx_start, &shared.tx_count,
                              <const char *> frame.buf, frame.size // 2)
    pthread_mutex_unlock(&shared.lock)
    return PJ_SUCCESS


cdef pj_status_t _cb_mixer_port_get_frame(pjmedia_port *port, pjmedia_frame *frame) noexcept nogil:
    # Clock thread: one frame from what write() queued, padded with silence;
    # nothing queued, no frame.
    cdef _slot_shared *shared = (<_slot_port *> port).shared
    cdef size_t wanted = frame.size // 2
    cdef size_t count
    if wanted == 0 or wanted > shared.frame_samples:
        wanted = shared.frame_samples
    pthread_mutex_lock(&shared.lock)
    count = shared.tx_count if shared.tx_count < wanted else wanted
    if count == 0:
        frame.type = PJMEDIA_FRAME_TYPE_NONE
        frame.size = 0
    else:
        _ring_get(shared.tx, shared.tx_capacity, shared.tx_start, <char *> frame.buf, count)
        if count < wanted:
            memset(<char *> frame.buf + count * 2, 0, (wanted - count) * 2)
        shared.tx_start = (shared.tx_start + count) % shared.tx_capacity
        shared.tx_count -= count
        frame.type = PJMEDIA_FRAME_TYPE_AUDIO
        frame.size = wanted * 2
        pthread_cond_broadcast(&shared.cond)
    pthread_mutex_unlock(&shared.lock)
    return PJ_SUCCESS


cdef int _deadline_after(double timeout, timespec *deadline) noexcept nogil:
    cdef long seconds = <long> timeout
    cdef long nanoseconds = <long> ((timeout - seconds) * 1e9)
    clock_gettime(CLOCK_MONOTONIC, deadline)
    deadline.tv_sec += seconds
    deadline.tv_nsec += nanoseconds
    if deadline.tv_nsec >= 1000000000:
        deadline.tv_sec += 1
        deadline.tv_nsec -= 1000000000
    return 0


cdef double _check_timeout(object timeout) except -2:
    # None: wait for ever (-1); else seconds >= 0.
    if timeout is None:
        return -1
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError("timeout must be a number of seconds or None, not %s" % type(timeout).__name__)
    if not timeout >= 0:
        raise ValueError("timeout must be >= 0, got %r" % timeout)
    return min(float(timeout), 1e9)


@cython.auto_pickle(False)
cdef class _MixerSlot:
    """Base of the objects that put a port of their own into an AudioMixer."""

    cdef readonly AudioMixer mixer
    cdef readonly str state                 # MIXER_SLOT (sipsimple/core/_states.py)
    cdef pj_pool_t *_pool
    cdef _slot_port *_port
    cdef pjmedia_port *_inner
    cdef int _slot
    cdef int _target
    cdef _slot_shared *_shared
    cdef object _lock
    cdef object __weakref__

    def __cinit__(self, *args, **kwargs):
        cdef pthread_condattr_t attributes
        self._shared = <_slot_shared *> calloc(1, sizeof(_slot_shared))
        if self._shared == NULL:
            raise MemoryError()
        pthread_mutex_init(&self._shared.lock, NULL)
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&self._shared.cond, &attributes)
        pthread_condattr_destroy(&attributes)
        self._slot = -1
        self.state = MIXER_SLOT.initial
        self._lock = threading.RLock()

    def __dealloc__(self):
        # Never in a bridge by now: a started object is in _live_objects.
        if self._shared != NULL:
            free(self._shared.rx)
            free(self._shared.tx)
            pthread_cond_destroy(&self._shared.cond)
            pthread_mutex_destroy(&self._shared.lock)
            free(self._shared)
            self._shared = NULL

    cdef int _set_mixer(self, object mixer) except -1:
        if not isinstance(mixer, AudioMixer):
            raise TypeError("mixer must be an AudioMixer, not %s" % type(mixer).__name__)
        self.mixer = mixer
        return 0

    @property
    def slot(self):
        """The slot in the mixer while started, else None."""
        return self._slot if self._slot >= 0 else None

    @property
    def is_active(self):
        return self.state == "started"

    cdef int _require_started(self) except -1:
        # Started: in a running mixer, so pjlib is up and the thread can be
        # registered with it.
        MIXER_SLOT.require(self.state, "use", SIPCoreInvalidStateError, type(self).__name__)
        _check_thread()
        return 0

    cdef int _require_startable(self) except -1:
        MIXER_SLOT.require(self.state, "start", SIPCoreInvalidStateError, type(self).__name__)
        self.mixer._require_running()
        return 0

    cdef int _change_state(self, str event) except -1:
        # The one place where state changes: to where MIXER_SLOT says `event` leads.
        self.state = MIXER_SLOT.next(self.state, event)
        return 0

    cdef int _open(self, bytes name) except -1:
        # First step of start(): the mixer knows us from here on (so that it
        # can stop us if it closes meanwhile); we get a pool.
        self.mixer._register_user(self)
        self._pool = pj_pool_create(&self.mixer._ua._caching_pool.factory, name, 4096, 4096, NULL)
        if self._pool == NULL:
            self.mixer._unregister_user(self)
            raise MemoryError("Could not allocate a memory pool")
        return 0

    cdef _slot_port *_make_port(self, unsigned clock_rate, unsigned samples_per_frame) except NULL:
        cdef _slot_port *port = <_slot_port *> pj_pool_zalloc(self._pool, sizeof(_slot_port))
        cdef pj_str_t name
        if port == NULL:
            raise MemoryError()
        port_name = type(self).__name__.encode()
        pj_strdup2_with_null(self._pool, &name, port_name)
        pjmedia_port_info_init(&port.base.info, &name, _SLOT_PORT_SIGNATURE, clock_rate, 1, 16, samples_per_frame)
        port.inner = self._inner
        port.shared = self._shared
        port.base.get_frame = _cb_no_frame
        self._port = port
        return port

    cdef int _allocate_rings(self, size_t rx_capacity, size_t tx_capacity) except -1:
        # The sample rings of a port whose frames live in _shared (MixerPort:
        # both, RelayPort: tx only); a capacity of 0 makes no ring. Once per
        # object: start() after stop() reuses them.
        with self._lock:
            if rx_capacity and self._shared.rx == NULL:
                self._shared.rx = <int16_t *> malloc(rx_capacity * 2)
                if self._shared.rx == NULL:
                    raise MemoryError()
                self._shared.rx_capacity = rx_capacity
            if tx_capacity and self._shared.tx == NULL:
                self._shared.tx = <int16_t *> malloc(tx_capacity * 2)
                if self._shared.tx == NULL:
                    raise MemoryError()
                self._shared.tx_capacity = tx_capacity
        return 0

    cdef int _start_ring_port(self, bytes name, _put_frame_callback put_frame) except -1:
        # start() of a port made of the rings alone: the bridge takes its
        # frames from the tx ring, and gives them to `put_frame`.
        cdef _slot_port *port
        cdef unsigned samples = self.mixer._samples_per_frame
        with self._lock:
            self._require_startable()
            self._open(name)
            try:
                port = self._make_port(self.mixer.sample_rate, samples)
                port.base.get_frame = _cb_mixer_port_get_frame
                port.base.put_frame = put_frame
                pthread_mutex_lock(&self._shared.lock)
                self._shared.frame_samples = samples
                self._shared.rx_start = self._shared.rx_count = 0
                self._shared.tx_start = self._shared.tx_count = 0
                pthread_mutex_unlock(&self._shared.lock)
                self._attach()
            except BaseException:
                self._close()
                raise
        return 0

    cdef int _attach(self) except -1:
        # Last step of start(): into the bridge.
        global _last_media_target
        cdef int target
        cdef int slot = self.mixer._add_port(self._pool, &self._port.base)
        self._slot = slot
        _last_media_target += 1
        target = self._target = _last_media_target
        _media_targets[target] = self
        pthread_mutex_lock(&self._shared.lock)
        self._shared.target = target
        self._shared.closed = 0
        self._shared.eof_reported = 0
        self._shared.tones_pending = 0
        pthread_mutex_unlock(&self._shared.lock)
        self.mixer._ua._live_objects.add(self)
        self._change_state("start")
        return 0

    cdef int _close(self) except -1:
        # Undo whatever start() did, in order: out of the bridge (after which
        # the clock thread cannot be in our port), destroy the PJMEDIA port
        # (a recorder writes its header here), release the pool.
        cdef pjmedia_port *inner = self._inner
        cdef pj_pool_t *pool = self._pool
        cdef int slot = self._slot
        pthread_mutex_lock(&self._shared.lock)
        self._shared.target = 0
        self._shared.closed = 1
        pthread_cond_broadcast(&self._shared.cond)
        pthread_mutex_unlock(&self._shared.lock)
        _media_targets.pop(self._target, None)
        self._target = 0
        self._slot = -1
        if slot >= 0:
            self.mixer._remove_port(slot)
        self._inner = NULL
        self._port = NULL
        self._pool = NULL
        if inner != NULL:
            with nogil:
                pjmedia_port_destroy(inner)
        if pool != NULL:
            pj_pool_release(pool)
        self.mixer._unregister_user(self)
        self.mixer._ua._live_objects.discard(self)
        if self.state == "started":
            self._change_state("stop")
        return 0

    cdef int _mixer_closed(self) except -1:
        with self._lock:
            self._close()
        return 0

    cdef int _media_event(self, int target, int code) except -1:
        return 0

    def stop(self):
        """Leave the mixer. Does nothing unless started."""
        with self._lock:
            if self.state == "started":
                _check_thread()
                self._close()


@cython.auto_pickle(False)
cdef class WaveFile(_MixerSlot):
    """Plays a WAV file (mono, 16-bit PCM or G.711, any sample rate) into the mixer.

    Notification: WaveFileDidFinishPlaying (sender: the WaveFile) at the end of
    a non-looping file, after which the WaveFile is stopped.
    """

    cdef readonly str filename
    cdef readonly bint loop
    cdef int _paused
    cdef int _volume

    def __init__(self, mixer, filename, volume=100):
        self._set_mixer(mixer)
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError("filename must be a path, not %s" % type(filename).__name__)
        self.filename = os.fspath(filename)
        if not os.path.isfile(self.filename):
            raise ValueError("No such file: %r" % self.filename)
        _check_sound_int("volume", volume, 0, 200)
        self._volume = volume

    @property
    def volume(self):
        """The file's level in the mix, in percent: 0 silent, 100 as recorded, up to 200. Settable while playing."""
        return self._volume

    @volume.setter
    def volume(self, value):
        _check_sound_int("volume", value, 0, 200)
        with self._lock:
            if self.state == "started":
                self.mixer._adjust_level(self._slot, value, True)
            self._volume = value

    def start(self, loop=False):
        """Start playing from the beginning; loop=True repeats the file until stop()."""
        cdef pjmedia_port *player = NULL
        cdef int status
        cdef unsigned flags = 0 if loop else PJMEDIA_FILE_NO_LOOP
        cdef _slot_port *port
        cdef char *c_path
        with self._lock:
            self._require_startable()
            if not os.path.isfile(self.filename):
                raise ValueError("No such file: %r" % self.filename)
            path = os.fsencode(self.filename)
            c_path = path
            self._open(b"WaveFile")
            try:
                with nogil:
                    status = pjmedia_wav_player_port_create(self._pool, c_path, _PTIME_MS, flags, 0, &player)
                if status != PJ_SUCCESS:
                    raise ValueError("Cannot play %r: %s" % (self.filename, _pj_status_to_str(status)))
                self._inner = player
                if PJMEDIA_PIA_CCNT(&player.info) != 1:
                    raise ValueError("Cannot play %r: it has %d channels, the mixer plays mono files only" % (
                        self.filename, PJMEDIA_PIA_CCNT(&player.info)))
                port = self._make_port(PJMEDIA_PIA_SRATE(&player.info), PJMEDIA_PIA_SPF(&player.info))
                port.base.get_frame = _cb_player_get_frame
                self.loop = bool(loop)
                self._paused = 0
                self._attach()
                if self._volume != 100:
                    self.mixer._adjust_level(self._slot, self._volume, True)
            except BaseException:
                self._close()
                raise

    def pause(self):
        """Stop taking audio from the file, keeping its position (and the slot's connections)."""
        with self._lock:
            self._require_started()
            if not self._paused:
                self.mixer._set_receiving(self._slot, False)
                self._paused = 1

    def resume(self):
        """Continue after pause()."""
        with self._lock:
            self._require_started()
            if self._paused:
                self.mixer._set_receiving(self._slot, True)
                self._paused = 0

    @property
    def paused(self):
        return bool(self._paused) and self.state == "started"

    cdef int _media_event(self, int target, int code) except -1:
        # Engine thread: the file ended.
        with self._lock:
            if code != _MEDIA_EVENT_END_OF_FILE or target != self._target or self.state != "started":
                return 0
            self._close()
            self.mixer._ua._add_event("WaveFileDidFinishPlaying", dict(), self)
        return 0


@cython.auto_pickle(False)
cdef class RecordingWaveFile(_MixerSlot):
    """Records what is connected to its slot into a WAV file (mono 16-bit PCM at the mixer's rate).

    The file covers the whole time from start() to stop(): moments when
    nothing is connected are written as silence. start() after stop()
    overwrites the file.
    """

    cdef readonly str filename

    def __init__(self, mixer, filename):
        self._set_mixer(mixer)
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError("filename must be a path, not %s" % type(filename).__name__)
        self.filename = os.fspath(filename)
        directory = os.path.dirname(os.path.abspath(self.filename))
        if not os.path.isdir(directory):
            raise ValueError("No such directory: %r" % directory)
        if os.path.isdir(self.filename):
            raise ValueError("%r is a directory" % self.filename)

    def start(self):
        cdef pjmedia_port *writer = NULL
        cdef int status
        cdef _slot_port *port
        cdef unsigned rate = self.mixer.sample_rate
        cdef unsigned samples = self.mixer._samples_per_frame
        cdef char *c_path
        with self._lock:
            self._require_startable()
            path = os.fsencode(self.filename)
            c_path = path
            self._open(b"RecordingWaveFile")
            try:
                with nogil:
                    status = pjmedia_wav_writer_port_create(self._pool, c_path, rate, 1, samples, 16,
                                                            PJMEDIA_FILE_WRITE_PCM, 0, &writer)
                if status != PJ_SUCCESS:
                    raise ValueError("Cannot write %r: %s" % (self.filename, _pj_status_to_str(status)))
                self._inner = writer
                port = self._make_port(rate, samples)
                port.base.put_frame = _cb_recorder_put_frame
                port.silence_size = samples * 2
                port.silence = pj_pool_zalloc(self._pool, port.silence_size)
                if port.silence == NULL:
                    raise MemoryError()
                self._attach()
            except BaseException:
                self._close()
                raise


@cython.auto_pickle(False)
cdef class ToneGenerator(_MixerSlot):
    """Plays tones and DTMF digits into the mixer.

    Notification: ToneGeneratorDidFinishPlaying (sender: the ToneGenerator) when
    the queued tones have been played. Tones only advance while the slot is
    connected to something (the bridge pulls no audio from an unconnected port).
    """

    def __init__(self, mixer):
        self._set_mixer(mixer)

    def start(self):
        cdef pjmedia_port *generator = NULL
        cdef int status
        cdef _slot_port *port
        cdef pj_str_t name
        cdef unsigned rate = self.mixer.sample_rate
        cdef unsigned samples = self.mixer._samples_per_frame
        with self._lock:
            self._require_startable()
            self._open(b"ToneGenerator")
            try:
                _set_pj_str(&name, b"ToneGenerator")
                status = pjmedia_tonegen_create2(self._pool, &name, rate, 1, samples, 16, 0, &generator)
                if status != PJ_SUCCESS:
                    raise PJSIPError("Could not create the tone generator", status)
                self._inner = generator
                port = self._make_port(rate, samples)
                port.base.get_frame = _cb_tone_get_frame
                self._attach()
            except BaseException:
                self._close()
                raise

    def play_tones(self, tones):
        """Queue tones: [(freq1, freq2, duration_ms), ...]; freq2 0 for a single tone, both 0 for silence.

        At most 32 tones are queued at a time (until they have played).
        """
        cdef pjmedia_tone_desc descriptions[PJMEDIA_TONEGEN_MAX_DIGITS]
        cdef unsigned count = 0
        cdef long nyquist = self.mixer.sample_rate // 2
        if isinstance(tones, (str, bytes)):
            raise TypeError("tones must be a list of (freq1, freq2, duration_ms) tuples")
        tones = list(tones)
        if not tones:
            raise ValueError("no tones given")
        if len(tones) > PJMEDIA_TONEGEN_MAX_DIGITS:
            raise ValueError("at most %d tones can be queued at a time" % PJMEDIA_TONEGEN_MAX_DIGITS)
        for tone in tones:
            if not isinstance(tone, tuple) or len(tone) != 3:
                raise TypeError("each tone must be a (freq1, freq2, duration_ms) tuple, not %r" % (tone,))
            frequency1, frequency2, duration = tone
            _check_sound_int("freq1", frequency1, 0, nyquist - 1)
            _check_sound_int("freq2", frequency2, 0, nyquist - 1)
            _check_sound_int("duration_ms", duration, 1, 32767)
            memset(&descriptions[count], 0, sizeof(pjmedia_tone_desc))
            descriptions[count].freq1 = frequency1
            descriptions[count].freq2 = frequency2
            descriptions[count].on_msec = duration
            count += 1
        self._play(descriptions, count)

    def play_dtmf(self, digit):
        """Queue one DTMF digit (0-9, *, #, A-D): 200 ms of its two tones, then 50 ms of silence."""
        cdef pjmedia_tone_desc description
        if not isinstance(digit, str):
            raise TypeError("digit must be a str, not %s" % type(digit).__name__)
        frequencies = _DTMF_FREQUENCIES.get(digit.upper()) if len(digit) == 1 else None
        if frequencies is None:
            raise ValueError("%r is not a DTMF digit (0-9, *, #, A-D)" % digit)
        memset(&description, 0, sizeof(pjmedia_tone_desc))
        description.freq1 = frequencies[0]
        description.freq2 = frequencies[1]
        description.on_msec = _DTMF_ON_MS
        description.off_msec = _DTMF_OFF_MS
        self._play(&description, 1)

    cdef int _play(self, pjmedia_tone_desc *descriptions, unsigned count) except -1:
        cdef int status = PJ_SUCCESS
        cdef pjmedia_port *generator
        cdef _slot_shared *shared = self._shared
        with self._lock:
            self._require_started()
            generator = self._inner
            with nogil:
                pthread_mutex_lock(&shared.lock)
                status = pjmedia_tonegen_play(generator, count, descriptions, 0)
                if status == PJ_SUCCESS:
                    shared.tones_pending = 1
                pthread_mutex_unlock(&shared.lock)
        if status == PJ_ETOOMANY:
            raise ValueError("at most %d tones can be queued at a time" % PJMEDIA_TONEGEN_MAX_DIGITS)
        if status != PJ_SUCCESS:
            raise PJSIPError("Could not play the tones", status)
        return 0

    @property
    def is_busy(self):
        """True while queued tones have not all been played."""
        cdef int pending
        if self.state != "started":
            return False
        pthread_mutex_lock(&self._shared.lock)
        pending = self._shared.tones_pending
        pthread_mutex_unlock(&self._shared.lock)
        return bool(pending)

    cdef int _media_event(self, int target, int code) except -1:
        # Engine thread: the queued tones are done.
        with self._lock:
            if code == _MEDIA_EVENT_TONES_DONE and target == self._target and self.state == "started":
                self.mixer._ua._add_event("ToneGeneratorDidFinishPlaying", dict(), self)
        return 0


@cython.auto_pickle(False)
cdef class MixerPort(_MixerSlot):
    """A slot whose audio Python reads and writes: 16-bit mono PCM at the mixer's rate, native byte order.

    read() returns what the bridge sent to the slot (silence while nothing is
    connected to it); write() queues audio the slot sends into the bridge.
    Each direction buffers buffer_ms of audio: unread audio beyond that is
    dropped (oldest first); write() waits for room.
    """

    cdef readonly int buffer_ms

    def __init__(self, mixer, buffer_ms=2000):
        cdef size_t capacity
        self._set_mixer(mixer)
        _check_sound_int("buffer_ms", buffer_ms, 2 * _PTIME_MS, 600000)
        self.buffer_ms = buffer_ms
        capacity = <size_t> self.mixer.sample_rate * buffer_ms // 1000
        self._allocate_rings(capacity, capacity)

    def start(self):
        self._start_ring_port(b"MixerPort", _cb_mixer_port_put_frame)

    def read(self, timeout=None):
        """Everything received since the last read, waiting up to `timeout` seconds (None: no limit) for a frame.

        Returns b"" on timeout, or when stop() is called while waiting.
        """
        cdef double wait = _check_timeout(timeout)
        cdef timespec deadline
        cdef _slot_shared *shared = self._shared
        cdef size_t count = 0
        cdef char *buffer = NULL
        cdef bint failed = False
        with self._lock:
            self._require_started()
        with nogil:
            if wait > 0:
                _deadline_after(wait, &deadline)
            pthread_mutex_lock(&shared.lock)
            while shared.rx_count == 0 and not shared.closed and wait != 0:
                if wait < 0:
                    pthread_cond_wait(&shared.cond, &shared.lock)
                elif pthread_cond_timedwait(&shared.cond, &shared.lock, &deadline) == ETIMEDOUT:
                    break
            count = shared.rx_count
            if count > 0:
                buffer = <char *> malloc(count * 2)
                if buffer == NULL:
                    failed = True
                else:
                    _ring_get(shared.rx, shared.rx_capacity, shared.rx_start, buffer, count)
                    shared.rx_start = (shared.rx_start + count) % shared.rx_capacity
                    shared.rx_count = 0
            pthread_mutex_unlock(&shared.lock)
        if failed:
            raise MemoryError()
        if buffer == NULL:
            return b""
        try:
            return buffer[:count * 2]
        finally:
            free(buffer)

    def write(self, data, timeout=None):
        """Queue audio for the bridge; waits up to `timeout` seconds (None: no limit) for room.

        Returns the number of bytes queued: all of them unless the timeout
        expired or stop() was called meanwhile.
        """
        cdef const unsigned char[::1] view
        cdef double wait = _check_timeout(timeout)
        cdef timespec deadline
        cdef _slot_shared *shared = self._shared
        cdef const char *source
        cdef size_t total
        cdef size_t done = 0
        cdef size_t room
        if isinstance(data, str):
            raise TypeError("data must be bytes of 16-bit samples, not str")
        view = memoryview(data).cast("B")
        total = view.shape[0] // 2
        if view.shape[0] % 2:
            raise ValueError("data must hold whole 16-bit samples (an even number of bytes)")
        with self._lock:
            self._require_started()
        if total == 0:
            return 0
        source = <const char *> &view[0]
        with nogil:
            if wait > 0:
                _deadline_after(wait, &deadline)
            pthread_mutex_lock(&shared.lock)
            while not shared.closed:
                room = shared.tx_capacity - shared.tx_count
                if room > total - done:
                    room = total - done
                _ring_put(shared.tx, shared.tx_capacity, (shared.tx_start + shared.tx_count) % shared.tx_capacity,
                          source + done * 2, room)
                shared.tx_count += room
                done += room
                if done == total or wait == 0:
                    break
                if wait < 0:
                    pthread_cond_wait(&shared.cond, &shared.lock)
                elif pthread_cond_timedwait(&shared.cond, &shared.lock, &deadline) == ETIMEDOUT:
                    break
            pthread_mutex_unlock(&shared.lock)
        return done * 2


@cython.auto_pickle(False)
cdef class RelayPort(_MixerSlot):
    """A slot that sends on what it is sent, one frame (20 ms) later.

    Whatever is connected to the slot is mixed by the bridge as for any
    destination; at the next tick that mix is what the slot produces for the
    slots it is connected to. sipsimple.audio.AudioBridge takes two, so that
    a bridge has one slot through which audio comes in and one through which
    its mix goes out, and can itself be part of another bridge.

    At most two frames wait in the relay: the bridge reads a slot only while
    something listens to it, and a frame not read in time is dropped, oldest
    first, so the delay never grows.
    """

    def __init__(self, mixer):
        self._set_mixer(mixer)
        self._allocate_rings(0, <size_t> 2 * self.mixer._samples_per_frame)

    def start(self):
        self._start_ring_port(b"RelayPort", _cb_relay_put_frame)
