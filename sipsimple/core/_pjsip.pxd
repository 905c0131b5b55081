# C declarations of the parts of pjproject (pjlib, pjlib-util, pjnath,
# pjsip, pjmedia) that sipsimple.core._core uses. Only the fields we read or
# write are declared; Cython leaves the rest of each struct to the C headers.
#
# Every function here that can block on a PJSIP lock is marked nogil so that
# callers can release the GIL around it (see docs/architecture.md, "Threads").

from libc.stdint cimport uint8_t, uint16_t, uint32_t


cdef extern from "pjlib.h" nogil:
    ctypedef int pj_status_t
    ctypedef int pj_bool_t
    ctypedef long pj_ssize_t
    ctypedef size_t pj_size_t
    ctypedef long pj_thread_desc[64]
    enum:
        PJ_SUCCESS
        PJ_TRUE
        PJ_FALSE
        PJ_ERR_MSG_SIZE
        PJ_INET6_ADDRSTRLEN
        PJ_EINVAL
        PJ_ENOTFOUND
        PJ_EBUSY
        PJ_EINVALIDOP

    struct pj_str_t:
        char *ptr
        pj_ssize_t slen

    struct pj_time_val:
        long sec
        long msec

    struct pj_pool_t
    struct pj_pool_factory:
        pass
    struct pj_caching_pool:
        pj_pool_factory factory
    struct pj_thread_t
    struct pj_ioqueue_t
    struct pj_timer_heap_t
    struct pj_mutex_t

    struct pj_sockaddr_in:
        uint16_t sin_family
    union pj_sockaddr:
        pj_sockaddr_in ipv4

    int pj_AF_INET()
    int pj_AF_INET6()
    int pj_AF_UNSPEC()

    pj_status_t pj_init()
    void pj_shutdown()
    pj_status_t pjlib_util_init()

    void pj_caching_pool_init(pj_caching_pool *cp, void *policy, pj_size_t max_capacity)
    void pj_caching_pool_destroy(pj_caching_pool *cp)
    pj_pool_t *pj_pool_create(pj_pool_factory *factory, char *name, pj_size_t initial_size,
                              pj_size_t increment_size, void *callback)
    void pj_pool_release(pj_pool_t *pool)
    void *pj_pool_alloc(pj_pool_t *pool, pj_size_t size)

    pj_bool_t pj_thread_is_registered()
    pj_status_t pj_thread_register(char *thread_name, pj_thread_desc desc, pj_thread_t **thread)

    pj_str_t pj_str(char *s)
    pj_str_t *pj_strdup2_with_null(pj_pool_t *pool, pj_str_t *dst, char *src)
    pj_str_t pj_strerror(pj_status_t statcode, char *buf, pj_size_t bufsize)

    pj_status_t pj_sockaddr_init(int af, pj_sockaddr *addr, pj_str_t *cp, uint16_t port)
    pj_status_t pj_sockaddr_parse(int af, unsigned options, pj_str_t *str, pj_sockaddr *addr)
    uint16_t pj_sockaddr_get_port(pj_sockaddr *addr)
    char *pj_sockaddr_print(pj_sockaddr *addr, char *buf, int size, unsigned flags)

    void pj_log_set_log_func(void (*func)(int level, const char *data, int len) noexcept)
    void pj_log_set_level(int level)
    int pj_log_get_level()
    void pj_log_set_decor(unsigned decor)
    enum:
        PJ_LOG_HAS_SENDER

    const char *PJ_VERSION


cdef extern from "pjsip.h" nogil:
    enum:
        PJSIP_MOD_PRIORITY_TRANSPORT_LAYER
        PJSIP_MOD_PRIORITY_TSX_LAYER
        PJSIP_MOD_PRIORITY_UA_PROXY_LAYER
        PJSIP_MOD_PRIORITY_DIALOG_USAGE
        PJSIP_MOD_PRIORITY_APPLICATION

    enum pjsip_method_e:
        PJSIP_INVITE_METHOD
        PJSIP_CANCEL_METHOD
        PJSIP_ACK_METHOD
        PJSIP_BYE_METHOD
        PJSIP_REGISTER_METHOD
        PJSIP_OPTIONS_METHOD
        PJSIP_OTHER_METHOD

    enum pjsip_hdr_e:
        PJSIP_H_ACCEPT
        PJSIP_H_ALLOW
        PJSIP_H_CALL_ID
        PJSIP_H_CSEQ
        PJSIP_H_EXPIRES
        PJSIP_H_SUPPORTED

    enum pjsip_msg_type_e:
        PJSIP_REQUEST_MSG
        PJSIP_RESPONSE_MSG

    enum pjsip_transport_flags_e:
        PJSIP_TRANSPORT_RELIABLE
        PJSIP_TRANSPORT_SECURE

    struct pjsip_endpoint

    struct pjsip_method:
        pjsip_method_e id
        pj_str_t name

    struct pjsip_uri

    enum pjsip_uri_context_e:
        PJSIP_URI_IN_REQ_URI
        PJSIP_URI_IN_FROMTO_HDR
        PJSIP_URI_IN_CONTACT_HDR
        PJSIP_URI_IN_ROUTING_HDR
        PJSIP_URI_IN_OTHER

    int pjsip_uri_print(pjsip_uri_context_e context, void *uri, char *buf, pj_size_t size)

    struct pjsip_request_line:
        pjsip_method method
        pjsip_uri *uri

    struct pjsip_status_line:
        int code
        pj_str_t reason

    union pjsip_msg_line:
        pjsip_request_line req
        pjsip_status_line status

    struct pjsip_hdr:
        pjsip_hdr *prev
        pjsip_hdr *next
        pjsip_hdr_e type
        pj_str_t name

    struct pjsip_generic_string_hdr:
        pj_str_t hvalue

    struct pjsip_generic_array_hdr:     # Supported, Require, Allow, ...
        unsigned count
        pj_str_t values[1]              # really PJSIP_GENERIC_ARRAY_MAX_COUNT

    void *pjsip_msg_find_hdr(const pjsip_msg *msg, int type, const void *start)
    void *pjsip_msg_find_hdr_by_name(const pjsip_msg *msg, const pj_str_t *name, const void *start)

    struct pjsip_param:
        pjsip_param *prev
        pjsip_param *next
        pj_str_t name
        pj_str_t value

    struct pjsip_media_type:
        pj_str_t type
        pj_str_t subtype
        pjsip_param param

    struct pjsip_msg_body:
        pjsip_media_type content_type
        void *data
        unsigned len

    struct pjsip_msg:
        pjsip_msg_type_e type
        pjsip_msg_line line
        pjsip_hdr hdr
        pjsip_msg_body *body

    struct pjsip_cid_hdr:
        pj_str_t id

    struct pjsip_cseq_hdr:
        int cseq
        pjsip_method method

    struct pjsip_host_port:
        pj_str_t host
        int port

    struct pjsip_transport_key:
        long type
        pj_sockaddr rem_addr

    struct pjsip_transport:
        char *type_name
        pjsip_transport_key key
        int addr_len
        pj_sockaddr local_addr
        pjsip_host_port local_name

    struct pjsip_tpfactory:
        pj_sockaddr local_addr
        pjsip_host_port addr_name
        pj_status_t (*destroy)(pjsip_tpfactory *factory) noexcept nogil

    struct pjsip_to_hdr:
        pj_str_t tag

    struct pjsip_rx_data_pkt_info:
        char *packet
        pj_ssize_t len
        char src_name[46]
        int src_port

    struct pjsip_rx_data_tp_info:
        pjsip_transport *transport

    struct pjsip_rx_data_msg_info:
        char *msg_buf
        int len
        pjsip_msg *msg
        pjsip_to_hdr *to
        pjsip_to_hdr *from_ "from"
        pjsip_cid_hdr *cid
        pjsip_cseq_hdr *cseq

    struct pjsip_rx_data:
        pjsip_rx_data_tp_info tp_info
        pjsip_rx_data_pkt_info pkt_info
        pjsip_rx_data_msg_info msg_info

    struct pjsip_buffer:
        char *start
        char *cur
        char *end

    struct pjsip_tx_data_tp_info:
        pjsip_transport *transport
        char dst_name[46]
        int dst_port

    struct pjsip_tx_data:
        pj_pool_t *pool
        pjsip_msg *msg
        pjsip_buffer buf
        pjsip_tx_data_tp_info tp_info

    struct pjsip_transaction
    struct pjsip_event

    struct pjsip_module:
        pj_str_t name
        int id
        int priority
        void (*on_tsx_state)(pjsip_transaction *tsx, pjsip_event *event) noexcept nogil
        pj_bool_t (*on_rx_request)(pjsip_rx_data *rdata) noexcept nogil
        pj_bool_t (*on_rx_response)(pjsip_rx_data *rdata) noexcept nogil
        pj_status_t (*on_tx_request)(pjsip_tx_data *tdata) noexcept nogil
        pj_status_t (*on_tx_response)(pjsip_tx_data *tdata) noexcept nogil

    pj_status_t pjsip_endpt_create(pj_pool_factory *pf, char *name, pjsip_endpoint **endpt)
    void pjsip_endpt_destroy(pjsip_endpoint *endpt)
    pj_status_t pjsip_endpt_handle_events2(pjsip_endpoint *endpt, pj_time_val *max_timeout,
                                           unsigned *count)
    pj_ioqueue_t *pjsip_endpt_get_ioqueue(pjsip_endpoint *endpt)
    pj_status_t pjsip_endpt_register_module(pjsip_endpoint *endpt, pjsip_module *module)
    pj_status_t pjsip_endpt_unregister_module(pjsip_endpoint *endpt, pjsip_module *module)
    pj_pool_t *pjsip_endpt_create_pool(pjsip_endpoint *endpt, char *name, pj_size_t initial,
                                       pj_size_t increment)
    void pjsip_endpt_release_pool(pjsip_endpoint *endpt, pj_pool_t *pool)
    pj_status_t pjsip_endpt_respond(pjsip_endpoint *endpt, pjsip_module *tsx_user,
                                    pjsip_rx_data *rdata, int st_code, pj_str_t *st_text,
                                    pjsip_hdr *hdr_list, void *body, void **p_tsx)
    pj_status_t pjsip_endpt_respond_stateless(pjsip_endpoint *endpt, pjsip_rx_data *rdata,
                                              int st_code, pj_str_t *st_text,
                                              pjsip_hdr *hdr_list, void *body)

    pj_status_t pjsip_tsx_layer_init_module(pjsip_endpoint *endpt)
    unsigned pjsip_tsx_layer_get_tsx_count()
    pj_status_t pjsip_ua_init_module(pjsip_endpoint *endpt, void *prm)

    void pj_list_init(void *node)
    void pj_list_push_back(void *list, void *node)
    pjsip_generic_string_hdr *pjsip_generic_string_hdr_create(pj_pool_t *pool, pj_str_t *hname,
                                                              pj_str_t *hvalue)
    pj_str_t *pjsip_get_status_text(int status_code)

    struct pjsip_udp_transport_cfg:
        int af
        pj_sockaddr bind_addr
        unsigned async_cnt
    void pjsip_udp_transport_cfg_default(pjsip_udp_transport_cfg *cfg, int af)
    pj_status_t pjsip_udp_transport_start2(pjsip_endpoint *endpt, pjsip_udp_transport_cfg *cfg,
                                           pjsip_transport **p_transport)
    pj_status_t pjsip_transport_shutdown(pjsip_transport *tp)

    struct pjsip_tcp_transport_cfg:
        int af
        pj_sockaddr bind_addr
        unsigned async_cnt
    void pjsip_tcp_transport_cfg_default(pjsip_tcp_transport_cfg *cfg, int af)
    pj_status_t pjsip_tcp_transport_start3(pjsip_endpoint *endpt, pjsip_tcp_transport_cfg *cfg,
                                           pjsip_tpfactory **p_factory)

    struct pjsip_tls_setting:
        pj_str_t ca_list_file
        pj_str_t cert_file
        pj_str_t privkey_file
        pj_bool_t verify_server
        pj_bool_t verify_client
        pj_time_val timeout
    void pjsip_tls_setting_default(pjsip_tls_setting *tls_opt)
    pj_status_t pjsip_tls_transport_start2(pjsip_endpoint *endpt, pjsip_tls_setting *opt,
                                           pj_sockaddr *local, pjsip_host_port *a_name,
                                           unsigned async_cnt, pjsip_tpfactory **p_factory)


# --- URIs and headers as PJSIP parses and prints them (pjsip_headers.pxi) ---

cdef extern from "pjlib.h" nogil:
    void *pj_pool_alloc(pj_pool_t *pool, pj_size_t size)


cdef extern from "pjsip.h" nogil:
    enum:
        PJSIP_H_CONTACT
        PJSIP_H_CONTENT_TYPE
        PJSIP_H_FROM
        PJSIP_H_RECORD_ROUTE
        PJSIP_H_RETRY_AFTER
        PJSIP_H_ROUTE
        PJSIP_H_TO
        PJSIP_H_VIA
        PJSIP_PARSE_URI_AS_NAMEADDR
        PJSIP_PARSE_URI_IN_FROM_TO_HDR
        PJSIP_EXPIRES_NOT_SPECIFIED

    # Opaque: the first member of every URI is its virtual function table.
    struct pjsip_uri

    struct pjsip_sip_uri:
        pj_str_t user
        pj_str_t passwd
        pj_str_t host
        int port                    # 0: not present
        pj_str_t user_param
        pj_str_t method_param
        pj_str_t transport_param
        int ttl_param               # -1: not present
        int lr_param
        pj_str_t maddr_param
        pjsip_param other_param     # list heads
        pjsip_param header_param

    struct pjsip_name_addr:
        pj_str_t display
        pjsip_uri *uri

    struct pjsip_fromto_hdr:        # From and To
        pjsip_uri *uri
        pj_str_t tag
        pjsip_param other_param

    struct pjsip_contact_hdr:
        int star
        pjsip_uri *uri
        int q1000                   # 0: not present
        uint32_t expires            # PJSIP_EXPIRES_NOT_SPECIFIED: not present
        pjsip_param other_param

    struct pjsip_routing_hdr:       # Route and Record-Route
        pjsip_name_addr name_addr
        pjsip_param other_param

    struct pjsip_via_hdr:
        pj_str_t transport
        pjsip_host_port sent_by     # port 0: not present
        int ttl_param               # -1: not present
        int rport_param             # -1: not present, 0: present without value
        pj_str_t maddr_param
        pj_str_t recvd_param
        pj_str_t branch_param
        pjsip_param other_param

    struct pjsip_ctype_hdr:
        pjsip_media_type media

    struct pjsip_retry_after_hdr:
        int ivalue
        pjsip_param param
        pj_str_t comment

    void *pjsip_uri_get_uri(const void *uri)
    const pj_str_t *pjsip_uri_get_scheme(const void *uri)
    int pjsip_hdr_print_on(void *hdr, char *buf, pj_size_t len)
    pjsip_uri *pjsip_parse_uri(pj_pool_t *pool, char *buf, pj_size_t size, unsigned option)
    void *pjsip_parse_hdr(pj_pool_t *pool, const pj_str_t *hname, char *buf, pj_size_t size, int *parsed_len)
    pjsip_msg *pjsip_parse_msg(pj_pool_t *pool, char *buf, pj_size_t size, void *err_list)


cdef extern from *:
    """
    /* The reference-counted set-up and tear-down of PJSIP's parser tables
     * (pjsip/src/pjsip/sip_parser.c). PJSIP's public headers do not declare
     * them: pjsip_endpt_create() and pjsip_endpt_destroy() call them. */
    void init_sip_parser(void);
    void deinit_sip_parser(void);
    """
    void init_sip_parser() nogil
    void deinit_sip_parser() nogil

cdef extern from "pjmedia.h" nogil:
    struct pjmedia_endpt
    struct pjmedia_codec_mgr
    enum:
        PJMEDIA_CODEC_MGR_MAX_CODECS

    struct pjmedia_codec_info:
        unsigned pt
        pj_str_t encoding_name
        unsigned clock_rate
        unsigned channel_cnt

    pj_status_t pjmedia_endpt_create(pj_pool_factory *pf, pj_ioqueue_t *ioqueue, unsigned worker_cnt,
                                     pjmedia_endpt **p_endpt)
    pj_status_t pjmedia_endpt_destroy(pjmedia_endpt *endpt)
    pjmedia_codec_mgr *pjmedia_endpt_get_codec_mgr(pjmedia_endpt *endpt)
    pj_status_t pjmedia_codec_mgr_enum_codecs(pjmedia_codec_mgr *mgr, unsigned *count,
                                              pjmedia_codec_info *info, unsigned *prio)
    pj_status_t pjmedia_codec_mgr_set_codec_priority(pjmedia_codec_mgr *mgr, pj_str_t *codec_id,
                                                     uint8_t prio)


cdef extern from "pjmedia-codec.h" nogil:
    struct pjmedia_audio_codec_config:
        pass
    void pjmedia_audio_codec_config_default(pjmedia_audio_codec_config *cfg)
    pj_status_t pjmedia_codec_register_audio_codecs(pjmedia_endpt *endpt,
                                                    pjmedia_audio_codec_config *c)


cdef extern from "pjnath.h" nogil:
    pj_status_t pjnath_init()


# --- transactions, requests and authentication (request.pxi) ---------------

cdef extern from "pjsip.h" nogil:
    struct pj_timer_entry:
        void *user_data
        int id
        void (*cb)(pj_timer_heap_t *timer_heap, pj_timer_entry *entry) noexcept

    enum pjsip_tsx_state_e:
        PJSIP_TSX_STATE_NULL
        PJSIP_TSX_STATE_CALLING
        PJSIP_TSX_STATE_TRYING
        PJSIP_TSX_STATE_PROCEEDING
        PJSIP_TSX_STATE_COMPLETED
        PJSIP_TSX_STATE_CONFIRMED
        PJSIP_TSX_STATE_TERMINATED
        PJSIP_TSX_STATE_DESTROYED

    enum pjsip_event_id_e:
        PJSIP_EVENT_UNKNOWN
        PJSIP_EVENT_TIMER
        PJSIP_EVENT_TX_MSG
        PJSIP_EVENT_RX_MSG
        PJSIP_EVENT_TRANSPORT_ERROR
        PJSIP_EVENT_TSX_STATE
        PJSIP_EVENT_USER

    enum pjsip_role_e:
        PJSIP_ROLE_UAC
        PJSIP_ROLE_UAS

    struct pjsip_transaction:
        pj_pool_t *pool
        pjsip_role_e role
        int cseq
        int status_code
        pj_str_t status_text
        pjsip_tsx_state_e state
        pjsip_method method
        pjsip_tx_data *last_tx
        void **mod_data

    union pjsip_event_tsx_state_src:
        pjsip_rx_data *rdata
        pjsip_tx_data *tdata
        pj_status_t status

    struct pjsip_event_tsx_state:
        pjsip_event_tsx_state_src src
        pjsip_transaction *tsx
        int prev_state
        pjsip_event_id_e type

    union pjsip_event_body:
        pjsip_event_tsx_state tsx_state

    struct pjsip_event:
        pjsip_event_id_e type
        pjsip_event_body body

    enum:
        PJSIP_CRED_DATA_PLAIN_PASSWD

    struct pjsip_cred_info:
        pj_str_t realm
        pj_str_t scheme
        pj_str_t username
        int data_type
        pj_str_t data

    struct pjsip_auth_clt_sess:
        pass

    pj_status_t pjsip_auth_clt_init(pjsip_auth_clt_sess *sess, pjsip_endpoint *endpt, pj_pool_t *pool,
                                    unsigned options)
    pj_status_t pjsip_auth_clt_set_credentials(pjsip_auth_clt_sess *sess, int cred_cnt, pjsip_cred_info *c)
    pj_status_t pjsip_auth_clt_init_req(pjsip_auth_clt_sess *sess, pjsip_tx_data *tdata)
    pj_status_t pjsip_auth_clt_reinit_req(pjsip_auth_clt_sess *sess, pjsip_rx_data *rdata,
                                          pjsip_tx_data *old_request, pjsip_tx_data **new_request)

    pj_status_t pjsip_endpt_create_request(pjsip_endpoint *endpt, pjsip_method *method, pj_str_t *target,
                                           pj_str_t *from_, pj_str_t *to, pj_str_t *contact, pj_str_t *call_id,
                                           int cseq, pj_str_t *text, pjsip_tx_data **p_tdata)
    pj_status_t pjsip_endpt_create_response(pjsip_endpoint *endpt, pjsip_rx_data *rdata, int st_code,
                                            pj_str_t *st_text, pjsip_tx_data **p_tdata)
    pj_status_t pjsip_endpt_schedule_timer(pjsip_endpoint *endpt, pj_timer_entry *entry, pj_time_val *delay)
    void pjsip_endpt_cancel_timer(pjsip_endpoint *endpt, pj_timer_entry *entry)
    void pjsip_method_init_np(pjsip_method *m, pj_str_t *str)
    pj_status_t pjsip_tx_data_dec_ref(pjsip_tx_data *tdata)
    void pjsip_tx_data_add_ref(pjsip_tx_data *tdata)
    pj_status_t pjsip_tsx_create_uac(pjsip_module *tsx_user, pjsip_tx_data *tdata, pjsip_transaction **p_tsx)
    pj_status_t pjsip_tsx_create_uas(pjsip_module *tsx_user, pjsip_rx_data *rdata, pjsip_transaction **p_tsx)
    void pjsip_tsx_recv_msg(pjsip_transaction *tsx, pjsip_rx_data *rdata)
    pj_status_t pjsip_tsx_send_msg(pjsip_transaction *tsx, pjsip_tx_data *tdata)
    pj_status_t pjsip_tsx_terminate(pjsip_transaction *tsx, int st_code)
    pjsip_transaction *pjsip_rdata_get_tsx(pjsip_rx_data *rdata)
    void pjsip_msg_add_hdr(pjsip_msg *msg, pjsip_hdr *hdr)
    pjsip_msg_body *pjsip_msg_body_create(pj_pool_t *pool, pj_str_t *type, pj_str_t *subtype, pj_str_t *text)
    pj_status_t pjsip_rx_data_clone(pjsip_rx_data *src, unsigned flags, pjsip_rx_data **p_rdata)
    pj_status_t pjsip_rx_data_free_cloned(pjsip_rx_data *rdata)


# --- dialogs and event subscriptions (subscription.pxi, referral.pxi) ------

cdef extern from "pjsip_ua.h" nogil:
    struct pjsip_user_agent
    struct pjsip_dlg_party:
        pjsip_fromto_hdr *info

    struct pjsip_dialog:
        pjsip_auth_clt_sess auth_sess
        pjsip_cid_hdr *call_id
        pjsip_dlg_party local
        pjsip_dlg_party remote
        pj_bool_t uac_has_2xx

    struct pjsip_ua_init_param:
        pjsip_dialog *(*on_dlg_forked)(pjsip_dialog *first_set, pjsip_rx_data *res) noexcept

    pj_status_t pjsip_dlg_fork(const pjsip_dialog *original_dlg, const pjsip_rx_data *rdata,
                               pjsip_dialog **new_dlg)
    pj_status_t pjsip_dlg_create_request(pjsip_dialog *dlg, const pjsip_method *method, int cseq,
                                         pjsip_tx_data **tdata)
    pj_status_t pjsip_dlg_send_request(pjsip_dialog *dlg, pjsip_tx_data *tdata, int mod_data_id, void *mod_data)
    const pjsip_method *pjsip_get_ack_method()
    pjsip_dialog *pjsip_rdata_get_dlg(pjsip_rx_data *rdata)
    pj_status_t pjsip_dlg_add_usage(pjsip_dialog *dlg, pjsip_module *module, void *mod_data)
    const pjsip_method *pjsip_get_bye_method()

    pjsip_user_agent *pjsip_ua_instance()
    pj_status_t pjsip_dlg_create_uac(pjsip_user_agent *ua, pj_str_t *local_uri, pj_str_t *local_contact,
                                     pj_str_t *remote_uri, pj_str_t *target, pjsip_dialog **p_dlg)
    ctypedef struct pjsip_route_hdr:
        pass
    pj_status_t pjsip_dlg_set_route_set(pjsip_dialog *dlg, pjsip_route_hdr *route_set)
    void pjsip_dlg_inc_lock(pjsip_dialog *dlg)
    void pjsip_dlg_dec_lock(pjsip_dialog *dlg)
    pj_status_t pjsip_dlg_terminate(pjsip_dialog *dlg)

    struct pjsip_evsub

    enum pjsip_evsub_state:
        PJSIP_EVSUB_STATE_NULL
        PJSIP_EVSUB_STATE_SENT
        PJSIP_EVSUB_STATE_ACCEPTED
        PJSIP_EVSUB_STATE_PENDING
        PJSIP_EVSUB_STATE_ACTIVE
        PJSIP_EVSUB_STATE_TERMINATED
        PJSIP_EVSUB_STATE_UNKNOWN

    enum:
        PJSIP_EVSUB_NO_EVENT_ID

    struct pjsip_evsub_user:
        void (*on_evsub_state)(pjsip_evsub *sub, pjsip_event *event) noexcept
        void (*on_tsx_state)(pjsip_evsub *sub, pjsip_transaction *tsx, pjsip_event *event) noexcept
        void (*on_rx_refresh)(pjsip_evsub *sub, pjsip_rx_data *rdata, int *p_st_code, pj_str_t **p_st_text,
                              pjsip_hdr *res_hdr, pjsip_msg_body **p_body) noexcept
        void (*on_rx_notify)(pjsip_evsub *sub, pjsip_rx_data *rdata, int *p_st_code, pj_str_t **p_st_text,
                             pjsip_hdr *res_hdr, pjsip_msg_body **p_body) noexcept
        void (*on_client_refresh)(pjsip_evsub *sub) noexcept
        void (*on_server_timeout)(pjsip_evsub *sub) noexcept

    pj_status_t pjsip_evsub_init_module(pjsip_endpoint *endpt)
    pj_status_t pjsip_evsub_register_pkg(pjsip_module *pkg_mod, pj_str_t *event_name, unsigned expires,
                                         unsigned accept_cnt, pj_str_t *accept)
    pj_status_t pjsip_evsub_create_uac(pjsip_dialog *dlg, pjsip_evsub_user *user_cb, pj_str_t *event,
                                       unsigned option, pjsip_evsub **p_evsub)
    pj_status_t pjsip_evsub_terminate(pjsip_evsub *sub, pj_bool_t notify)
    pjsip_evsub_state pjsip_evsub_get_state(pjsip_evsub *sub)
    const char *pjsip_evsub_get_state_name(pjsip_evsub *sub)
    pj_str_t *pjsip_evsub_get_termination_reason(pjsip_evsub *sub)
    pj_status_t pjsip_evsub_initiate(pjsip_evsub *sub, pjsip_method *method, unsigned expires,
                                     pjsip_tx_data **p_tdata)
    pj_status_t pjsip_evsub_send_request(pjsip_evsub *sub, pjsip_tx_data *tdata)
    void pjsip_evsub_set_mod_data(pjsip_evsub *sub, unsigned mod_id, void *data)
    void *pjsip_evsub_get_mod_data(pjsip_evsub *sub, unsigned mod_id)

    pj_status_t pjsip_xfer_init_module(pjsip_endpoint *endpt)
    pj_status_t pjsip_xfer_create_uac(pjsip_dialog *dlg, pjsip_evsub_user *user_cb, pjsip_evsub **p_evsub)
    pj_status_t pjsip_xfer_initiate(pjsip_evsub *sub, pj_str_t *refer_to_uri, pjsip_tx_data **p_tdata)
    pj_status_t pjsip_xfer_send_request(pjsip_evsub *sub, pjsip_tx_data *tdata)
    pj_status_t pjsip_dlg_create_uas_and_inc_lock(pjsip_user_agent *ua, pjsip_rx_data *rdata, pj_str_t *contact,
                                                  pjsip_dialog **p_dlg)
    pj_status_t pjsip_dlg_create_response(pjsip_dialog *dlg, pjsip_rx_data *rdata, int st_code, pj_str_t *st_text,
                                          pjsip_tx_data **tdata)
    pj_status_t pjsip_dlg_send_response(pjsip_dialog *dlg, pjsip_transaction *tsx, pjsip_tx_data *tdata)
    pj_status_t pjsip_evsub_create_uas(pjsip_dialog *dlg, pjsip_evsub_user *user_cb, pjsip_rx_data *rdata,
                                       unsigned option, pjsip_evsub **p_evsub)
    pj_status_t pjsip_evsub_accept(pjsip_evsub *sub, pjsip_rx_data *rdata, int st_code, pjsip_hdr *hdr_list)
    pj_status_t pjsip_evsub_notify(pjsip_evsub *sub, pjsip_evsub_state state, pj_str_t *state_str,
                                   pj_str_t *reason, pjsip_tx_data **p_tdata)
    pj_status_t pjsip_evsub_current_notify(pjsip_evsub *sub, pjsip_tx_data **p_tdata)
    pj_status_t pjsip_xfer_create_uas(pjsip_dialog *dlg, pjsip_evsub_user *user_cb, pjsip_rx_data *rdata,
                                      pjsip_evsub **p_evsub)
    pj_status_t pjsip_xfer_accept(pjsip_evsub *sub, pjsip_rx_data *rdata, int st_code, pjsip_hdr *hdr_list)
    pj_status_t pjsip_xfer_notify(pjsip_evsub *sub, pjsip_evsub_state state, int xfer_st_code,
                                  pj_str_t *xfer_st_text, pjsip_tx_data **p_tdata)


cdef extern from *:
    """
    /* A cloned rx_data lacks the endpoint's per-module data (the transaction
     * and dialog the request belongs to); answering it later needs them. */
    #define sipsimple_copy_endpt_info(dst, src) \\
        memcpy(&(dst)->endpt_info, &(src)->endpt_info, sizeof((src)->endpt_info))
    """
    void sipsimple_copy_endpt_info(pjsip_rx_data *dst, pjsip_rx_data *src) nogil


# --- answering what PJSIP's parser drops (ua.pxi) ----------------------------

cdef extern from "pjsip.h" nogil:
    struct pjsip_tpmgr
    struct pjsip_tp_dropped_data:
        pjsip_transport *tp
        void *data
        pj_size_t len
        pj_status_t status

    enum pjsip_tpselector_type:
        PJSIP_TPSELECTOR_NONE
        PJSIP_TPSELECTOR_TRANSPORT

    union pjsip_tpselector_u:
        pjsip_transport *transport

    struct pjsip_tpselector:
        pjsip_tpselector_type type
        pjsip_tpselector_u u

    enum:
        PJSIP_EINVALIDMSG

    pjsip_tpmgr *pjsip_endpt_get_tpmgr(pjsip_endpoint *endpt)
    pj_status_t pjsip_tpmgr_set_drop_data_cb(pjsip_tpmgr *mgr, void (*cb)(pjsip_tp_dropped_data *data) noexcept)
    pj_status_t pjsip_endpt_send_raw(pjsip_endpoint *endpt, long tp_type, pjsip_tpselector *sel, void *raw_data,
                                     pj_size_t data_len, pj_sockaddr *addr, int addr_len, void *token, void *cb)
    unsigned pjsip_transport_get_flag_from_type(long type)


# --- SDP (sdp.pxi) -----------------------------------------------------------
#
# Only what the conversion helpers need: sdp.pxi hands PJMEDIA whole texts
# (pjmedia_sdp_parse) and reads whole texts back (pjmedia_sdp_print). The
# origin, time and m= line members are nested anonymous structs in C and are
# not declared, nor are the arrays of pointers; nothing here reads them.

cdef extern from "pjmedia/sdp.h" nogil:
    enum:
        PJMEDIA_MAX_SDP_FMT
        PJMEDIA_MAX_SDP_BANDW
        PJMEDIA_MAX_SDP_ATTR
        PJMEDIA_MAX_SDP_MEDIA

    ctypedef struct pjmedia_sdp_attr:
        pj_str_t name
        pj_str_t value

    ctypedef struct pjmedia_sdp_conn:
        pj_str_t net_type
        pj_str_t addr_type
        pj_str_t addr

    ctypedef struct pjmedia_sdp_bandw:
        pj_str_t modifier
        uint32_t value

    ctypedef struct pjmedia_sdp_media:
        pjmedia_sdp_conn *conn
        unsigned bandw_count
        unsigned attr_count

    ctypedef struct pjmedia_sdp_origin:     # the anonymous struct of pjmedia_sdp_session.origin
        unsigned int id
        unsigned int version

    ctypedef struct pjmedia_sdp_session:
        pjmedia_sdp_origin origin
        pj_str_t name
        pjmedia_sdp_conn *conn
        unsigned bandw_count
        unsigned attr_count
        unsigned media_count

    pj_status_t pjmedia_sdp_parse(pj_pool_t *pool, char *buf, pj_size_t len, pjmedia_sdp_session **p_sdp)
    int pjmedia_sdp_print(const pjmedia_sdp_session *sdp, char *buf, pj_size_t size)
    pj_status_t pjmedia_sdp_validate(const pjmedia_sdp_session *sdp)

# --- INVITE sessions (invitation.pxi) ------------------------------------------

cdef extern from "pjmedia/sdp_neg.h" nogil:
    struct pjmedia_sdp_neg
    pj_status_t pjmedia_sdp_neg_get_active_local(pjmedia_sdp_neg *neg, const pjmedia_sdp_session **local)
    pj_status_t pjmedia_sdp_neg_get_active_remote(pjmedia_sdp_neg *neg, const pjmedia_sdp_session **remote)
    pj_status_t pjmedia_sdp_neg_get_neg_remote(pjmedia_sdp_neg *neg, const pjmedia_sdp_session **remote)
    enum pjmedia_sdp_neg_state:
        PJMEDIA_SDP_NEG_STATE_NULL
        PJMEDIA_SDP_NEG_STATE_LOCAL_OFFER
        PJMEDIA_SDP_NEG_STATE_REMOTE_OFFER
        PJMEDIA_SDP_NEG_STATE_WAIT_NEGO
        PJMEDIA_SDP_NEG_STATE_DONE
    pjmedia_sdp_neg_state pjmedia_sdp_neg_get_state(pjmedia_sdp_neg *neg)

cdef extern from "pjsip_ua.h" nogil:
    enum pjsip_inv_state:
        PJSIP_INV_STATE_NULL
        PJSIP_INV_STATE_CALLING
        PJSIP_INV_STATE_INCOMING
        PJSIP_INV_STATE_EARLY
        PJSIP_INV_STATE_CONNECTING
        PJSIP_INV_STATE_CONFIRMED
        PJSIP_INV_STATE_DISCONNECTED

    enum:
        PJSIP_INV_SUPPORT_100REL
        PJSIP_INV_SUPPORT_TIMER
        PJSIP_INV_SUPPORT_UPDATE
        PJSIP_INV_REQUIRE_100REL

    struct pjsip_inv_session:
        pj_pool_t *pool
        pj_pool_t *pool_prov
        pjsip_inv_state state
        pjsip_role_e role
        unsigned options
        int cause
        pj_str_t cause_text
        pjsip_dialog *dlg
        pjmedia_sdp_neg *neg
        pjsip_transaction *invite_tsx
        void **mod_data

    struct pjsip_inv_on_rx_offer_cb_param:
        const pjmedia_sdp_session *offer
        const pjsip_rx_data *rdata

    struct pjsip_inv_callback:
        void (*on_state_changed)(pjsip_inv_session *inv, pjsip_event *e) noexcept
        void (*on_new_session)(pjsip_inv_session *inv, pjsip_event *e) noexcept
        void (*on_media_update)(pjsip_inv_session *inv, pj_status_t status) noexcept
        void (*on_rx_offer2)(pjsip_inv_session *inv, pjsip_inv_on_rx_offer_cb_param *param) noexcept
        pj_status_t (*on_rx_reinvite)(pjsip_inv_session *inv, const pjmedia_sdp_session *offer,
                                      pjsip_rx_data *rdata) noexcept
        void (*on_tsx_state_changed)(pjsip_inv_session *inv, pjsip_transaction *tsx, pjsip_event *e) noexcept
        void (*on_send_ack)(pjsip_inv_session *inv, pjsip_rx_data *rdata) noexcept

    pj_status_t pjsip_inv_cancel_reinvite(pjsip_inv_session *inv, pjsip_tx_data **p_tdata)
    pj_status_t pjsip_inv_create_ack(pjsip_inv_session *inv, int cseq, pjsip_tx_data **p_tdata)
    pjsip_inv_session *pjsip_dlg_get_inv_session(pjsip_dialog *dlg)
    pj_status_t pjsip_100rel_attach(pjsip_inv_session *inv)
    pj_status_t pjsip_replaces_verify_request(pjsip_rx_data *rdata, pjsip_dialog **p_dlg, pj_bool_t lock_dlg,
                                              pjsip_tx_data **p_tdata)

    pj_status_t pjsip_inv_usage_init(pjsip_endpoint *endpt, const pjsip_inv_callback *cb)
    pj_status_t pjsip_100rel_init_module(pjsip_endpoint *endpt)
    pj_status_t pjsip_timer_init_module(pjsip_endpoint *endpt)
    pj_status_t pjsip_replaces_init_module(pjsip_endpoint *endpt)
    pj_status_t pjsip_inv_verify_request(pjsip_rx_data *rdata, unsigned *options, const pjmedia_sdp_session *sdp,
                                         pjsip_dialog *dlg, pjsip_endpoint *endpt, pjsip_tx_data **tdata)
    pj_status_t pjsip_inv_create_uac(pjsip_dialog *dlg, const pjmedia_sdp_session *local_sdp, unsigned options,
                                     pjsip_inv_session **p_inv)
    pj_status_t pjsip_inv_create_uas(pjsip_dialog *dlg, pjsip_rx_data *rdata, const pjmedia_sdp_session *local_sdp,
                                     unsigned options, pjsip_inv_session **p_inv)
    pj_status_t pjsip_inv_invite(pjsip_inv_session *inv, pjsip_tx_data **p_tdata)
    pj_status_t pjsip_inv_initial_answer(pjsip_inv_session *inv, pjsip_rx_data *rdata, int st_code,
                                         const pj_str_t *st_text, const pjmedia_sdp_session *sdp,
                                         pjsip_tx_data **p_tdata)
    pj_status_t pjsip_inv_answer(pjsip_inv_session *inv, int st_code, const pj_str_t *st_text,
                                 const pjmedia_sdp_session *local_sdp, pjsip_tx_data **p_tdata)
    pj_status_t pjsip_inv_end_session(pjsip_inv_session *inv, int st_code, const pj_str_t *st_text,
                                      pjsip_tx_data **p_tdata)
    pj_status_t pjsip_inv_reinvite(pjsip_inv_session *inv, const pj_str_t *new_contact,
                                   const pjmedia_sdp_session *new_offer, pjsip_tx_data **p_tdata)
    pj_status_t pjsip_inv_send_msg(pjsip_inv_session *inv, pjsip_tx_data *tdata)
    pj_status_t pjsip_inv_terminate(pjsip_inv_session *inv, int st_code, pj_bool_t notify)
    pj_status_t pjsip_inv_set_sdp_answer(pjsip_inv_session *inv, const pjmedia_sdp_session *sdp)
    pj_status_t pjsip_endpt_send_response2(pjsip_endpoint *endpt, pjsip_rx_data *rdata, pjsip_tx_data *tdata,
                                           void *token, void *cb)


# --- media transports (mediatransport.pxi) ---
#
# RTP/RTCP over UDP, ICE (PJNATH) and SRTP media transports, and the PJMEDIA
# audio stream that runs over them. Nested anonymous structs of the C headers
# (the STUN credential union, the per-component ICE info) are declared under
# names of our own; Cython only ever emits member accesses for them, never
# their type names.

cdef extern from "pjlib.h" nogil:
    pj_bool_t pj_sockaddr_has_addr(const pj_sockaddr *addr)

cdef extern from "pjsip.h" nogil:
    pj_timer_heap_t *pjsip_endpt_get_timer_heap(pjsip_endpoint *endpt)

cdef extern from "pjnath.h" nogil:
    enum:
        PJ_STUN_PORT
    ctypedef enum pj_ice_cand_type:
        PJ_ICE_CAND_TYPE_HOST
        PJ_ICE_CAND_TYPE_SRFLX
        PJ_ICE_CAND_TYPE_PRFLX
        PJ_ICE_CAND_TYPE_RELAYED
    ctypedef enum pj_ice_strans_op:
        PJ_ICE_STRANS_OP_INIT
        PJ_ICE_STRANS_OP_NEGOTIATION
        PJ_ICE_STRANS_OP_KEEP_ALIVE
        PJ_ICE_STRANS_OP_ADDR_CHANGE
    ctypedef enum pj_ice_strans_state:
        PJ_ICE_STRANS_STATE_NULL
        PJ_ICE_STRANS_STATE_INIT
        PJ_ICE_STRANS_STATE_READY
        PJ_ICE_STRANS_STATE_SESS_READY
        PJ_ICE_STRANS_STATE_NEGO
        PJ_ICE_STRANS_STATE_RUNNING
        PJ_ICE_STRANS_STATE_FAILED
    ctypedef enum pj_turn_tp_type:
        PJ_TURN_TP_UDP
        PJ_TURN_TP_TCP
        PJ_TURN_TP_TLS
    ctypedef enum pj_stun_auth_cred_type:
        PJ_STUN_AUTH_CRED_STATIC
    ctypedef enum pj_stun_passwd_type:
        PJ_STUN_PASSWD_PLAIN

    ctypedef struct pj_stun_config:
        pass
    void pj_stun_config_init(pj_stun_config *cfg, pj_pool_factory *factory, unsigned options,
                             pj_ioqueue_t *ioqueue, pj_timer_heap_t *timer_heap)

    ctypedef struct pj_stun_sock_cfg:
        pj_sockaddr bound_addr
        uint16_t port_range
    ctypedef struct pj_turn_sock_cfg:
        pj_sockaddr bound_addr
        uint16_t port_range

    ctypedef struct _mt_stun_static_cred:      # pj_stun_auth_cred.data.static_cred
        pj_str_t realm
        pj_str_t username
        pj_stun_passwd_type data_type
        pj_str_t data
    ctypedef union _mt_stun_cred_data:         # pj_stun_auth_cred.data
        _mt_stun_static_cred static_cred
    ctypedef struct pj_stun_auth_cred:
        pj_stun_auth_cred_type type
        _mt_stun_cred_data data

    ctypedef struct pj_ice_strans_stun_cfg:
        int af
        pj_stun_sock_cfg cfg
        unsigned max_host_cands
        pj_bool_t loop_addr
        pj_str_t server
        uint16_t port
        pj_bool_t ignore_stun_error
    ctypedef struct pj_ice_strans_turn_cfg:
        int af
        pj_turn_sock_cfg cfg
        pj_str_t server
        uint16_t port
        pj_turn_tp_type conn_type
        pj_stun_auth_cred auth_cred
    ctypedef struct pj_ice_strans_cfg:
        int af
        pj_stun_config stun_cfg
        unsigned stun_tp_cnt
        pj_ice_strans_stun_cfg stun              # deprecated single STUN setting (see _create_ice)
        pj_ice_strans_stun_cfg stun_tp[1]      # PJ_ICE_MAX_STUN in C; we use the first
        unsigned turn_tp_cnt
        pj_ice_strans_turn_cfg turn_tp[1]      # PJ_ICE_MAX_TURN in C; we use the first
    void pj_ice_strans_cfg_default(pj_ice_strans_cfg *cfg)
    void pj_ice_strans_stun_cfg_default(pj_ice_strans_stun_cfg *cfg)
    void pj_ice_strans_turn_cfg_default(pj_ice_strans_turn_cfg *cfg)
    const char *pj_ice_get_cand_type_name(pj_ice_cand_type type)
    const char *pj_ice_strans_state_name(pj_ice_strans_state state)

cdef extern from "pjmedia.h" nogil:
    # One declaration for streams and sound devices (pjmedia/types.h names
    # each direction twice: CAPTURE is ENCODING, PLAYBACK is DECODING).
    ctypedef enum pjmedia_dir:
        PJMEDIA_DIR_NONE
        PJMEDIA_DIR_ENCODING
        PJMEDIA_DIR_DECODING
        PJMEDIA_DIR_ENCODING_DECODING
        PJMEDIA_DIR_CAPTURE
        PJMEDIA_DIR_PLAYBACK
        PJMEDIA_DIR_CAPTURE_PLAYBACK
    ctypedef enum pjmedia_transport_type:
        PJMEDIA_TRANSPORT_TYPE_UDP
        PJMEDIA_TRANSPORT_TYPE_ICE
        PJMEDIA_TRANSPORT_TYPE_SRTP

    ctypedef struct pjmedia_transport:
        void *user_data
    ctypedef struct pjmedia_sock_info:
        pj_sockaddr rtp_addr_name
        pj_sockaddr rtcp_addr_name
    ctypedef struct pjmedia_transport_info:
        pjmedia_sock_info sock_info
        pj_sockaddr src_rtp_name
    void pjmedia_transport_info_init(pjmedia_transport_info *info)
    pj_status_t pjmedia_transport_get_info(pjmedia_transport *tp, pjmedia_transport_info *info)
    void *pjmedia_transport_info_get_spc_info(pjmedia_transport_info *info, pjmedia_transport_type type)
    pj_status_t pjmedia_transport_media_create(pjmedia_transport *tp, pj_pool_t *sdp_pool, unsigned options,
                                               const pjmedia_sdp_session *rem_sdp, unsigned media_index)
    pj_status_t pjmedia_transport_encode_sdp(pjmedia_transport *tp, pj_pool_t *sdp_pool,
                                             pjmedia_sdp_session *sdp_local, const pjmedia_sdp_session *rem_sdp,
                                             unsigned media_index)
    pj_status_t pjmedia_transport_media_start(pjmedia_transport *tp, pj_pool_t *tmp_pool,
                                              const pjmedia_sdp_session *sdp_local,
                                              const pjmedia_sdp_session *sdp_remote, unsigned media_index)
    pj_status_t pjmedia_transport_media_stop(pjmedia_transport *tp)
    pj_status_t pjmedia_transport_close(pjmedia_transport *tp)
    pj_status_t pjmedia_transport_udp_create3(pjmedia_endpt *endpt, int af, const char *name, const pj_str_t *addr,
                                              int port, unsigned options, pjmedia_transport **p_tp)

    pj_pool_t *pjmedia_endpt_create_pool(pjmedia_endpt *endpt, const char *name, pj_size_t initial,
                                         pj_size_t increment)
    pj_status_t pjmedia_endpt_create_sdp(pjmedia_endpt *endpt, pj_pool_t *pool, unsigned stream_cnt,
                                         const pjmedia_sock_info *sock_info, pjmedia_sdp_session **p_sdp)

    # SRTP (SDES keying only)
    enum:
        PJMEDIA_SRTP_MAX_CRYPTOS
    ctypedef enum pjmedia_srtp_use:
        PJMEDIA_SRTP_DISABLED
        PJMEDIA_SRTP_OPTIONAL
        PJMEDIA_SRTP_MANDATORY
    ctypedef enum pjmedia_srtp_keying_method:
        PJMEDIA_SRTP_KEYING_SDES
    ctypedef struct pjmedia_srtp_crypto:
        pj_str_t key
        pj_str_t name
        unsigned flags
    ctypedef struct pjmedia_srtp_setting:
        pjmedia_srtp_use use
        pj_bool_t close_member_tp
        unsigned crypto_count
        pjmedia_srtp_crypto crypto[8]          # PJMEDIA_SRTP_MAX_CRYPTOS
        unsigned keying_count
        pjmedia_srtp_keying_method keying[2]   # PJMEDIA_SRTP_KEYINGS_COUNT
    ctypedef struct pjmedia_srtp_info:
        pj_bool_t active
        pjmedia_srtp_crypto rx_policy
        pjmedia_srtp_crypto tx_policy
        pjmedia_srtp_use use
        pjmedia_srtp_use peer_use
    void pjmedia_srtp_setting_default(pjmedia_srtp_setting *opt)
    pj_status_t pjmedia_srtp_enum_crypto(unsigned *count, pjmedia_srtp_crypto *crypto)
    pj_status_t pjmedia_transport_srtp_create(pjmedia_endpt *endpt, pjmedia_transport *tp,
                                              const pjmedia_srtp_setting *opt, pjmedia_transport **p_tp)

    # ICE
    ctypedef struct pjmedia_ice_cb:
        # Called with the transport, whose user_data is the one given to pjmedia_ice_create3
        # (on_ice_complete2 only serves listeners added by pjmedia_ice_add_ice_cb).
        void (*on_ice_complete)(pjmedia_transport *tp, pj_ice_strans_op op, pj_status_t status) noexcept
    ctypedef struct _mt_ice_comp_info:        # pjmedia_ice_transport_info.comp[i]
        pj_ice_cand_type lcand_type
        pj_sockaddr lcand_addr
        pj_ice_cand_type rcand_type
        pj_sockaddr rcand_addr
    ctypedef struct pjmedia_ice_transport_info:
        pj_bool_t active
        pj_ice_strans_state sess_state
        unsigned comp_cnt
        _mt_ice_comp_info comp[2]
    pj_status_t pjmedia_ice_create3(pjmedia_endpt *endpt, const char *name, unsigned comp_cnt,
                                    const pj_ice_strans_cfg *cfg, const pjmedia_ice_cb *cb, unsigned options,
                                    void *user_data, pjmedia_transport **p_tp)

    # audio streams
    ctypedef struct pjmedia_stream:
        pass
    ctypedef struct _mt_codec_setting:        # pjmedia_codec_param.setting
        unsigned vad
    ctypedef struct pjmedia_codec_param:
        _mt_codec_setting setting
    ctypedef struct pjmedia_stream_info:
        pjmedia_dir dir
        pjmedia_codec_param *param
        pj_sockaddr rem_addr
        pjmedia_codec_info fmt
        unsigned tx_pt
        int tx_event_pt
        int rx_event_pt
    ctypedef struct pj_math_stat:
        int n
        int max
        int min
        int last
        int mean
    ctypedef struct pjmedia_rtcp_stream_stat:
        uint32_t pkt
        uint32_t bytes
        unsigned discard
        unsigned loss
        unsigned reorder
        unsigned dup
        pj_math_stat jitter
    ctypedef struct pjmedia_rtcp_stat:
        pjmedia_rtcp_stream_stat tx
        pjmedia_rtcp_stream_stat rx
        pj_math_stat rtt
    pj_status_t pjmedia_stream_info_from_sdp(pjmedia_stream_info *si, pj_pool_t *pool, pjmedia_endpt *endpt,
                                             const pjmedia_sdp_session *local, const pjmedia_sdp_session *remote,
                                             unsigned stream_idx)
    pj_status_t pjmedia_stream_create(pjmedia_endpt *endpt, pj_pool_t *pool, const pjmedia_stream_info *info,
                                      pjmedia_transport *tp, void *user_data, pjmedia_stream **p_stream)
    pj_status_t pjmedia_stream_destroy(pjmedia_stream *stream)
    pj_status_t pjmedia_stream_start(pjmedia_stream *stream)
    pj_status_t pjmedia_stream_get_port(pjmedia_stream *stream, pjmedia_port **p_port)
    pj_status_t pjmedia_stream_get_stat(const pjmedia_stream *stream, pjmedia_rtcp_stat *stat)
    pj_status_t pjmedia_stream_pause(pjmedia_stream *stream, pjmedia_dir dir)
    pj_status_t pjmedia_stream_resume(pjmedia_stream *stream, pjmedia_dir dir)
    pj_status_t pjmedia_stream_dial_dtmf(pjmedia_stream *stream, const pj_str_t *ascii_digit)
    pj_status_t pjmedia_stream_set_dtmf_callback(pjmedia_stream *stream,
                                                 void (*cb)(pjmedia_stream *stream, void *user_data,
                                                            int digit) noexcept,
                                                 void *user_data)
    pj_status_t pjmedia_stream_send_rtcp_bye(pjmedia_stream *stream)

# --- sound (sound.pxi) ----------------------------------------------------------
#
# The conference bridge, sound devices, the clock that drives the bridge with
# no sound card, file players/recorders, the tone generator and the ports the
# core writes itself (MixerPort, the wrappers that watch players and tone
# generators). Also what ua.pxi needs to let other threads wake the Engine
# thread (a socket pair in the I/O queue) and to report pool usage.
#
# mediatransport.pxi uses pjmedia_port, pjmedia_frame and pjmedia_conf from
# here (AudioMixer._add_port), so they are declared once, in this section.

from libc.stdint cimport int16_t, uint64_t


cdef extern from "pthread.h" nogil:
    ctypedef struct pthread_mutex_t:
        pass
    ctypedef struct pthread_cond_t:
        pass
    ctypedef struct pthread_condattr_t:
        pass
    int pthread_mutex_init(pthread_mutex_t *mutex, const void *attr)
    int pthread_mutex_destroy(pthread_mutex_t *mutex)
    int pthread_mutex_lock(pthread_mutex_t *mutex)
    int pthread_mutex_unlock(pthread_mutex_t *mutex)
    int pthread_condattr_init(pthread_condattr_t *attr)
    int pthread_condattr_destroy(pthread_condattr_t *attr)
    int pthread_condattr_setclock(pthread_condattr_t *attr, int clock_id)
    int pthread_cond_init(pthread_cond_t *cond, const pthread_condattr_t *attr)
    int pthread_cond_destroy(pthread_cond_t *cond)
    int pthread_cond_wait(pthread_cond_t *cond, pthread_mutex_t *mutex)
    int pthread_cond_broadcast(pthread_cond_t *cond)


cdef extern from "time.h" nogil:
    struct timespec:
        long tv_sec
        long tv_nsec
    enum:
        CLOCK_MONOTONIC
    int clock_gettime(int clock_id, timespec *tp)


cdef extern from "pthread.h" nogil:
    int pthread_cond_timedwait(pthread_cond_t *cond, pthread_mutex_t *mutex, const timespec *abstime)


cdef extern from "sys/socket.h" nogil:
    enum:
        AF_UNIX
        SOCK_DGRAM
        SOCK_CLOEXEC
        SOCK_NONBLOCK
    int socketpair(int domain, int type, int protocol, int sv[2])


cdef extern from "pjlib.h" nogil:
    enum:
        PJ_EPENDING
        PJ_EEOF
        PJ_ETOOMANY

    union pj_timestamp:
        uint64_t u64

    ctypedef long pj_sock_t
    struct pj_ioqueue_key_t
    struct pj_ioqueue_op_key_t:
        void *user_data
    struct pj_ioqueue_callback:
        void (*on_read_complete)(pj_ioqueue_key_t *key, pj_ioqueue_op_key_t *op_key,
                                 pj_ssize_t bytes_read) noexcept
        void *on_write_complete
        void *on_accept_complete
        void *on_connect_complete
    pj_status_t pj_ioqueue_register_sock(pj_pool_t *pool, pj_ioqueue_t *ioque, pj_sock_t sock, void *user_data,
                                         const pj_ioqueue_callback *cb, pj_ioqueue_key_t **key)
    pj_status_t pj_ioqueue_unregister(pj_ioqueue_key_t *key)
    void pj_ioqueue_op_key_init(pj_ioqueue_op_key_t *op_key, pj_size_t size)
    pj_status_t pj_ioqueue_recv(pj_ioqueue_key_t *key, pj_ioqueue_op_key_t *op_key, void *buffer,
                                pj_ssize_t *length, unsigned flags)

    void *pj_pool_zalloc(pj_pool_t *pool, pj_size_t size)


# Moving the UDP transport to another port in place (ua.pxi set_udp_port):
# the transport object stays the one PJSIP's transport manager selects.
cdef extern from "pjlib.h" nogil:
    int pj_SOCK_DGRAM()
    pj_status_t pj_sock_socket(int family, int type, int protocol, pj_sock_t *sock)
    pj_status_t pj_sock_bind(pj_sock_t sock, const void *my_addr, int addrlen)
    pj_status_t pj_sock_close(pj_sock_t sock)
    unsigned pj_sockaddr_get_len(const void *addr)

cdef extern from "pjsip.h" nogil:
    enum:
        PJSIP_UDP_TRANSPORT_DESTROY_SOCKET
    pj_status_t pjsip_udp_transport_restart2(pjsip_transport *transport, unsigned option, pj_sock_t sock,
                                             const pj_sockaddr *local, const pjsip_host_port *a_name)
    pj_status_t pjsip_udp_transport_pause(pjsip_transport *transport, unsigned option)


cdef extern from *:
    """
    /* The caching pool's counters of pools and bytes in use (diagnostics:
     * PJSIPUA.pool_usage). */
    static size_t sipsimple_pools_in_use(pj_caching_pool *cp) { return cp->used_count; }
    static size_t sipsimple_pool_bytes_in_use(pj_caching_pool *cp) { return cp->used_size; }
    """
    size_t sipsimple_pools_in_use(pj_caching_pool *cp) nogil
    size_t sipsimple_pool_bytes_in_use(pj_caching_pool *cp) nogil


cdef extern from "pjmedia.h" nogil:
    ctypedef enum pjmedia_frame_type:
        PJMEDIA_FRAME_TYPE_NONE
        PJMEDIA_FRAME_TYPE_AUDIO

    struct pjmedia_frame:
        pjmedia_frame_type type
        void *buf
        pj_size_t size
        pj_timestamp timestamp
        uint32_t bit_info

    struct pjmedia_port_info:
        pj_str_t name
        uint32_t signature

    ctypedef struct pjmedia_port_data "struct port_data":
        void *pdata
        long ldata

    struct pjmedia_port:
        pjmedia_port_info info
        pjmedia_port_data port_data
        pj_status_t (*put_frame)(pjmedia_port *this_port, pjmedia_frame *frame) noexcept nogil
        pj_status_t (*get_frame)(pjmedia_port *this_port, pjmedia_frame *frame) noexcept nogil
        pj_status_t (*on_destroy)(pjmedia_port *this_port) noexcept nogil

    unsigned PJMEDIA_PIA_SRATE(const pjmedia_port_info *pia)
    unsigned PJMEDIA_PIA_CCNT(const pjmedia_port_info *pia)
    unsigned PJMEDIA_PIA_SPF(const pjmedia_port_info *pia)
    pj_status_t pjmedia_port_info_init(pjmedia_port_info *info, const pj_str_t *name, unsigned signature,
                                       unsigned clock_rate, unsigned channel_count, unsigned bits_per_sample,
                                       unsigned samples_per_frame)
    pj_status_t pjmedia_port_get_frame(pjmedia_port *port, pjmedia_frame *frame)
    pj_status_t pjmedia_port_put_frame(pjmedia_port *port, pjmedia_frame *frame)
    pj_status_t pjmedia_port_destroy(pjmedia_port *port)

    # The conference bridge (pjmedia/conference.h).
    struct pjmedia_conf
    ctypedef enum pjmedia_port_op:
        PJMEDIA_PORT_NO_CHANGE
        PJMEDIA_PORT_DISABLE
        PJMEDIA_PORT_MUTE
        PJMEDIA_PORT_ENABLE
    enum:
        PJMEDIA_CONF_NO_DEVICE
        PJMEDIA_CONF_MAX_PORTS
    pj_status_t pjmedia_conf_create(pj_pool_t *pool, unsigned max_slots, unsigned sampling_rate,
                                    unsigned channel_count, unsigned samples_per_frame, unsigned bits_per_sample,
                                    unsigned options, pjmedia_conf **p_conf)
    pj_status_t pjmedia_conf_destroy(pjmedia_conf *conf)
    pjmedia_port *pjmedia_conf_get_master_port(pjmedia_conf *conf)
    pj_status_t pjmedia_conf_add_port(pjmedia_conf *conf, pj_pool_t *pool, pjmedia_port *strm_port,
                                      const pj_str_t *name, unsigned *p_slot)
    pj_status_t pjmedia_conf_remove_port(pjmedia_conf *conf, unsigned slot)
    pj_status_t pjmedia_conf_configure_port(pjmedia_conf *conf, unsigned slot, pjmedia_port_op tx,
                                            pjmedia_port_op rx)
    pj_status_t pjmedia_conf_connect_port(pjmedia_conf *conf, unsigned src_slot, unsigned sink_slot,
                                          int adj_level)
    pj_status_t pjmedia_conf_disconnect_port(pjmedia_conf *conf, unsigned src_slot, unsigned sink_slot)
    unsigned pjmedia_conf_get_port_count(pjmedia_conf *conf)
    pj_status_t pjmedia_conf_adjust_rx_level(pjmedia_conf *conf, unsigned slot, int adj_level)
    pj_status_t pjmedia_conf_adjust_tx_level(pjmedia_conf *conf, unsigned slot, int adj_level)

    # A clock thread (pjmedia/clock.h): drives the bridge when there is no
    # playback device.
    struct pjmedia_clock
    pj_status_t pjmedia_clock_create(pj_pool_t *pool, unsigned clock_rate, unsigned channel_count,
                                     unsigned samples_per_frame, unsigned options,
                                     void (*cb)(const pj_timestamp *ts, void *user_data) noexcept nogil,
                                     void *user_data, pjmedia_clock **p_clock)
    pj_status_t pjmedia_clock_start(pjmedia_clock *clock)
    pj_status_t pjmedia_clock_destroy(pjmedia_clock *clock)

    # WAV files (pjmedia/wav_port.h).
    enum:
        PJMEDIA_FILE_NO_LOOP
        PJMEDIA_FILE_WRITE_PCM
    pj_status_t pjmedia_wav_player_port_create(pj_pool_t *pool, const char *filename, unsigned ptime,
                                               unsigned flags, pj_ssize_t buff_size, pjmedia_port **p_port)
    pj_status_t pjmedia_wav_writer_port_create(pj_pool_t *pool, const char *filename, unsigned clock_rate,
                                               unsigned channel_count, unsigned samples_per_frame,
                                               unsigned bits_per_sample, unsigned flags, pj_ssize_t buff_size,
                                               pjmedia_port **p_port)

    # The tone generator (pjmedia/tonegen.h).
    enum:
        PJMEDIA_TONEGEN_MAX_DIGITS
    struct pjmedia_tone_desc:
        short freq1
        short freq2
        short on_msec
        short off_msec
        short volume
        short flags
    pj_status_t pjmedia_tonegen_create2(pj_pool_t *pool, const pj_str_t *name, unsigned clock_rate,
                                        unsigned channel_count, unsigned samples_per_frame,
                                        unsigned bits_per_sample, unsigned options, pjmedia_port **p_port)
    pj_bool_t pjmedia_tonegen_is_busy(pjmedia_port *tonegen)
    pj_status_t pjmedia_tonegen_stop(pjmedia_port *tonegen)
    pj_status_t pjmedia_tonegen_play(pjmedia_port *tonegen, unsigned count, const pjmedia_tone_desc tones[],
                                     unsigned options)

    # Sound devices (pjmedia/audiodev.h, pjmedia/sound_port.h).
    ctypedef int pjmedia_aud_dev_index
    enum:
        PJMEDIA_AUD_DEFAULT_CAPTURE_DEV
        PJMEDIA_AUD_DEFAULT_PLAYBACK_DEV
    struct pjmedia_aud_dev_info:
        char *name
        unsigned input_count
        unsigned output_count
        char *driver
    struct pjmedia_aud_param:
        pjmedia_dir dir
        pjmedia_aud_dev_index rec_id
        pjmedia_aud_dev_index play_id
        unsigned clock_rate
        unsigned channel_count
        unsigned samples_per_frame
        unsigned bits_per_sample
    unsigned pjmedia_aud_dev_count()
    pj_status_t pjmedia_aud_dev_get_info(pjmedia_aud_dev_index id, pjmedia_aud_dev_info *info)
    pj_status_t pjmedia_aud_dev_refresh()
    pj_status_t pjmedia_aud_dev_default_param(pjmedia_aud_dev_index id, pjmedia_aud_param *param)

    struct pjmedia_snd_port
    struct pjmedia_snd_port_param:
        pjmedia_aud_param base
    void pjmedia_snd_port_param_default(pjmedia_snd_port_param *prm)
    pj_status_t pjmedia_snd_port_create2(pj_pool_t *pool, const pjmedia_snd_port_param *prm,
                                         pjmedia_snd_port **p_port)
    pj_status_t pjmedia_snd_port_connect(pjmedia_snd_port *snd_port, pjmedia_port *port)
    pj_status_t pjmedia_snd_port_set_ec(pjmedia_snd_port *snd_port, pj_pool_t *pool, unsigned tail_ms,
                                        unsigned options)
    pj_status_t pjmedia_snd_port_destroy(pjmedia_snd_port *snd_port)


cdef extern from "pjmedia_audiodev.h" nogil:
    pj_status_t pjmedia_aud_subsys_init(pj_pool_factory *pf)
    pj_status_t pjmedia_aud_subsys_shutdown()
