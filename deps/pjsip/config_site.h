/*
 * pjproject compile-time configuration for sipsimple.
 *
 * Copied into pjlib/include/pj/config_site.h by deps/pjsip/build.sh before
 * configure runs. Its content is part of the build cache key, so editing it
 * forces a rebuild of the pjproject libraries.
 *
 * The sizes below are chosen for a busy client or a scripted service: at
 * least 1,000 simultaneous calls, each call holding one INVITE dialog, a few
 * transactions, an RTP and an RTCP socket (plus ICE sockets) and one
 * conference-bridge port.
 */
#ifndef SIPSIMPLE_CONFIG_SITE_H
#define SIPSIMPLE_CONFIG_SITE_H

/* Sockets registered with the I/O queue: SIP transports, TCP/TLS
 * connections, RTP + RTCP for every call (x2 for ICE with relay). */
#define PJ_IOQUEUE_MAX_HANDLES          (8192)
/* epoll (configure --enable-epoll) copes with that many descriptors;
 * select() would not. */
#define PJ_IOQUEUE_MAX_EVENTS_IN_SINGLE_POLL  (64)

/* Transactions alive at once: each call has an INVITE transaction and
 * refreshes, plus registrations, subscriptions and MESSAGEs. */
#define PJSIP_MAX_TSX_COUNT             (16 * 1024 - 1)
#define PJSIP_MAX_DIALOG_COUNT          (16 * 1024 - 1)
/* Connection-oriented transports kept open at once. */
#define PJSIP_MAX_TRANSPORTS            (4096)
#define PJSIP_MAX_RESOLVED_ADDRESSES    (16)

/* Bigger messages than the default 4000 bytes: presence documents and
 * resource lists arrive in NOTIFYs over TCP. */
#define PJSIP_MAX_PKT_LEN               (65536)

/* IPv6 transports and media. */
#define PJ_HAS_IPV6                     1

/* Conference bridge: one port per call plus players, recorders and tone
 * generators. */
#define PJMEDIA_CONF_MAX_PORTS          (2048)

/* Machines without a sound card (servers, CI): a null audio device keeps
 * the bridge clocked. ALSA is used when present. */
#define PJMEDIA_AUDIO_DEV_HAS_NULL_AUDIO    1
#define PJMEDIA_AUDIO_DEV_HAS_ALSA          1
#define PJMEDIA_HAS_VIDEO                   0

/* SRTP: SDES crypto suites including AES-GCM (OpenSSL provides it). */
#define PJMEDIA_HAS_SRTP                1
#define PJMEDIA_SRTP_HAS_AES_GCM_128    1
#define PJMEDIA_SRTP_HAS_AES_GCM_256    1
/* libsrtp2 2.4 and later (Debian has 2.5) name the AES-GCM cipher types
 * without the "_openssl" suffix that pjproject 2.12 links against. */
#define srtp_aes_gcm_128_openssl        srtp_aes_gcm_128
#define srtp_aes_gcm_256_openssl        srtp_aes_gcm_256

/* RFC 4733 telephone-event. */
#define PJMEDIA_RTP_PT_TELEPHONE_EVENTS 101

/* PJSIP's log lines reach the application as SIPEngineLog notifications.
 * Level 6 (mutex and memory tracing) is compiled out: it costs on every
 * lock operation and is of no use to an application. */
#define PJ_LOG_MAX_LEVEL                5

#endif /* SIPSIMPLE_CONFIG_SITE_H */
