/* smtp.h - smtp-notifier: mail over SMTP with TLS required and verified, from a
 * persistent outbox (common/queue.h): password-reset codes and alarms. */
#pragma once
#include <curl/curl.h>

#include "curl_loop.h"
#include <stdbool.h>
#include <stdint.h>

#include "queue.h"
#include "service.h"

#define SMTP_RULES_MAX 32
#define SMTP_RCPT_MAX 8
#define SMTP_PREFIX_MAX 64
#define SMTP_DIGEST_MAX (32 * 1024)
#define SMTP_XFER_MAX 4

/* One alarm rule: events whose topic starts with prefix go to rcpt (or, when
 * empty, to alarm_to); a burst beyond `burst` per window becomes one digest. */
struct smtp_rule {
        char prefix[SMTP_PREFIX_MAX + 1];
        char rcpt[SMTP_RCPT_MAX][255];
        unsigned n_rcpt;
        /* coalescing state */
        int64_t win_start_ms;
        unsigned in_win;
        char *digest;
        size_t digest_len;
        unsigned digest_n, digest_cut;
};

struct smtp_conf {
        char host[256];
        int64_t port;
        bool implicit_tls;      /* smtps:// (465) instead of STARTTLS */
        char ca_file[4096];     /* "" = the system store */
        char username[256];
        char from[255];
        int64_t timeout_s;
        int64_t coalesce_ms;    /* 0: every event its own mail */
        int64_t burst;          /* events mailed one by one per window before digesting */
        char alarm_to[SMTP_RCPT_MAX][255];
        unsigned n_alarm_to;
        struct smtp_rule rules[SMTP_RULES_MAX];
        unsigned n_rules;
};

struct smtp_xfer;

struct smtp_ctx {
        struct ds_daemon *d;
        struct smtp_conf conf;
        char *password;         /* from the DS_SECRET setting; wiped on change */
        dsq_t *q;
        struct ds_curl_loop curl; /* libcurl multi on the daemon's loop */
        int tick_timer;
        struct smtp_xfer *xfer[SMTP_XFER_MAX];
        unsigned n_xfer;
        bool fresh_next;        /* the last transfer failed: a new connection */
        char ehlo[64];
        char subscribed[SMTP_RULES_MAX + 1][SMTP_PREFIX_MAX + 1];
        unsigned n_subscribed;
        /* counters */
        uint64_t sent, failed_attempts, resets_queued, alarms_queued, digests_queued, events_coalesced,
                refused_full, events_ignored;
        char last_error[256];
        int64_t last_sent_ms;
        struct smtp_test_batch *test; /* a mail.test backlog being queued, NULL: none */
};

/* compose.c: pure. The stored item is a msgpack map {kind, to: [..], subject,
 * body}; the message is built at send time so that its Message-ID comes from
 * the queue id (a duplicate after a crash carries the same one). */
int smtp_item_encode(struct mpw *w, const char *kind, const char *const *to, unsigned n_to, const char *subject,
                     const char *body);
/* Builds the RFC 5322 message (CRLF, header values without CR/LF) and the
 * envelope recipients. Caller owns *ret_msg and the rcpt list. */
int smtp_compose(const char *blob, size_t len, const char *from, const char *id, int64_t created_ms,
                 char **ret_msg, size_t *ret_len, struct curl_slist **ret_rcpt);
/* The destination key of a mail (its recipients), for per-destination order. */
void smtp_dest(const char *const *to, unsigned n_to, char *buf, size_t size);

/* rules.c */
/* Parses "PREFIX [RCPT[,RCPT...]]"; 0 or -EINVAL with *ret_why. */
int smtp_rule_parse(const char *s, struct smtp_rule *ret, const char **ret_why);
/* The rule governing topic (longest prefix), or NULL. */
struct smtp_rule *smtp_rule_match(struct smtp_conf *c, const char *topic);
/* An event for rule r at now: SMTP_EV_MAIL (send it alone), SMTP_EV_DIGEST
 * (added to the digest). The caller flushes with smtp_rule_flush(). */
enum { SMTP_EV_MAIL = 0, SMTP_EV_DIGEST = 1 };
int smtp_rule_event(struct smtp_rule *r, const struct smtp_conf *c, int64_t now_ms, const char *line);
/* True when r holds a digest whose window has ended (or force). */
bool smtp_rule_due(const struct smtp_rule *r, const struct smtp_conf *c, int64_t now_ms, bool force);
void smtp_rule_reset(struct smtp_rule *r);

/* methods.c: a mail.test backlog still being queued ends (the daemon stops) */
void smtp_test_abort(struct smtp_ctx *x);

/* outbox.c: what goes into the queue */
void smtp_on_event(void *ud, const char *topic, const char *src, int64_t ts_ms, const msgpack_object *data);
int smtp_queue_mail(struct smtp_ctx *x, const char *kind, const char *const *to, unsigned n_to,
                    const char *subject, const char *body, char ret_id[DSQ_ID_LEN + 1]);
void smtp_flush_digests(struct smtp_ctx *x, int64_t now_ms, bool force);
void smtp_subscribe_rules(struct smtp_ctx *x);

/* deliver.c: libcurl's multi interface driven by the daemon's zloop */
int smtp_deliver_init(struct smtp_ctx *x);
void smtp_deliver_fini(struct smtp_ctx *x);
/* Starts what may be sent now (up to SMTP_XFER_MAX transfers). */
void smtp_kick(struct smtp_ctx *x);
bool smtp_configured(const struct smtp_ctx *x);

/* methods.c */
void smtp_write_queue_stats(struct smtp_ctx *x, struct mpw *w);
extern const struct ds_method smtp_methods[];
extern const struct ds_field smtp_settings[];
extern const struct ds_audit_item smtp_audit[];
