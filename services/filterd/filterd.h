/* filterd.h - IP/MAC allow/deny lists, temporary bans and per-port connection
 * caps, enforced in the kernel with one nftables table (inet devsec). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <czmq.h>

#include "err.h"
#include "mp.h"
#include "service.h"

#define FD_MAX_ENTRIES 10000
#define FD_ENTRY_TEXT 96 /* longest canonical entry: two full IPv6 addresses and a dash */
#define FD_MAX_PORTS 64
#define FD_MAX_BANS 4096
#define FD_BAN_MAX_S 604800 /* the longest ban: a week */
#define FD_TABLE "devsec"

enum fd_family { FD_MAC = 1, FD_V4 = 4, FD_V6 = 6 };
enum fd_mode { FD_MODE_OFF = 0, FD_MODE_ALLOW, FD_MODE_DENY };

extern const char *const fd_mode_names[]; /* indexed by enum fd_mode, NULL-terminated */
int fd_mode_parse(const char *s, enum fd_mode *ret);

/* One list entry, normalised: an address, a CIDR prefix and a range are all
 * the interval [lo, hi] (network byte order, IPv4 in the first 4 bytes, MAC in
 * the first 6); text is the canonical spelling shown to operators. */
struct fd_entry {
        uint8_t fam;
        uint8_t lo[16], hi[16];
        char text[FD_ENTRY_TEXT];
};

/* ---- entries.c: parse, validate, normalise ----------------------------- */

/* Parses one entry (address, CIDR, range a-b, MAC). On error returns -EINVAL
 * and writes why (a phrase naming what is wrong) into why. */
int fd_entry_parse(const char *s, size_t n, struct fd_entry *ret, char *why, size_t whylen);
/* Parses a single IP address (fam FD_V4/FD_V6) or MAC (FD_MAC). */
int fd_addr_parse(const char *s, uint8_t *ret_fam, uint8_t ret_addr[16]);
/* One IP address (v4 or v6) / one MAC aa:bb:cc:dd:ee:ff; addr zero-padded to 16. */
int fd_ip_parse(const char *s, uint8_t *ret_fam, uint8_t ret_addr[16]);
int fd_mac_parse(const char *s, uint8_t ret_addr[16]);
/* Bytes of an address of a family: 4, 16 or 6. */
size_t fd_addr_len(uint8_t fam);
void fd_addr_format(uint8_t fam, const uint8_t *a, char *buf, size_t size);
int fd_entry_cmp(const struct fd_entry *a, const struct fd_entry *b);
bool fd_entry_contains(const struct fd_entry *e, uint8_t fam, const uint8_t *addr);

/* A list kept sorted by (family, lo, hi) without duplicates. */
struct fd_list {
        struct fd_entry *v;
        size_t n, cap;
};
void fd_list_free(struct fd_list *l);
int fd_list_copy(struct fd_list *dst, const struct fd_list *src); /* dst is overwritten */
/* Adds n entries; *ret_added says how many were new. -E2BIG (list unchanged)
 * when the result would exceed FD_MAX_ENTRIES. */
int fd_list_add(struct fd_list *l, const struct fd_entry *e, size_t n, size_t *ret_added);
/* Removes one entry (exact canonical match): 0 or -ENOENT. */
int fd_list_del(struct fd_list *l, const struct fd_entry *e);
const struct fd_entry *fd_list_find(const struct fd_list *l, const struct fd_entry *e);
/* Does any entry cover addr? */
bool fd_list_match(const struct fd_list *l, uint8_t fam, const uint8_t *addr);
bool fd_list_equal(const struct fd_list *a, const struct fd_list *b);

/* Merged intervals of one family (overlapping and adjacent entries joined),
 * as nftables wants them in an interval set. Caller frees *ret. */
struct fd_range {
        uint8_t lo[16], hi[16];
};
int fd_list_merge(const struct fd_list *l, uint8_t fam, struct fd_range **ret, size_t *ret_n);
/* "a", "a/len" or "a-b", whichever spells the interval exactly. */
void fd_range_format(uint8_t fam, const struct fd_range *r, char *buf, size_t size);

/* ---- the filter configuration and the decision ------------------------- */

struct fd_config {
        enum fd_mode mode;
        struct fd_list list;
};
void fd_config_free(struct fd_config *c);
int fd_config_copy(struct fd_config *dst, const struct fd_config *src);
bool fd_config_equal(const struct fd_config *a, const struct fd_config *b);
/* msgpack {mode, entries: [text...]} and back (entries re-validated). */
void fd_config_write(const struct fd_config *c, struct mpw *w);
int fd_config_read(const msgpack_object *o, struct fd_config *ret, struct ds_err *e);

/* ---- bans.c: temporary bans ---------------------------------------------- */

struct fd_ban {
        uint8_t fam;
        uint8_t addr[16];
        int64_t until_ms; /* wall clock */
        char text[48];
};
struct fd_bans {
        struct fd_ban *v;
        size_t n, cap;
};
void fd_bans_free(struct fd_bans *b);
/* Adds or extends; returns 1 when new, 0 when updated, -ENOSPC when full. */
int fd_bans_add(struct fd_bans *b, uint8_t fam, const uint8_t *addr, int64_t until_ms);
int fd_bans_del(struct fd_bans *b, uint8_t fam, const uint8_t *addr);
const struct fd_ban *fd_bans_find(const struct fd_bans *b, uint8_t fam, const uint8_t *addr, int64_t now_ms);
/* Drops expired bans; returns how many. */
size_t fd_bans_prune(struct fd_bans *b, int64_t now_ms);
void fd_bans_write(const struct fd_bans *b, struct mpw *w, int64_t now_ms);
int fd_bans_read(const msgpack_object *o, struct fd_bans *ret, int64_t now_ms);

/* The decision of the kernel ruleset for a source, as an application sees it. */
struct fd_decision {
        bool accept;
        const char *reason; /* "banned", "off", "allow-list", "not-listed", "deny-list", "not-denied" */
        const char *matched; /* "ip", "mac" or "" */
};
/* fam/ip: FD_V4/FD_V6 address or fam 0 when absent; mac NULL when absent. */
void fd_check(const struct fd_config *c, const struct fd_bans *b, int64_t now_ms, uint8_t fam,
              const uint8_t *ip, const uint8_t *mac, struct fd_decision *ret);

/* ---- ruleset.c: render the whole table ------------------------------------ */

struct fd_port {
        char name[32];
        uint8_t proto; /* 6 tcp, 17 udp */
        uint16_t port;
};
struct fd_ports {
        struct fd_port v[FD_MAX_PORTS];
        size_t n;
        int max_connections; /* per port; 0: no cap */
        bool from_netcfgd;
};
/* The device's defaults until netcfgd publishes its table. */
void fd_ports_default(struct fd_ports *p);
/* Reads net.ports.changed data {ports: [{name, proto, port}], max_connections}. */
int fd_ports_read(const msgpack_object *data, struct fd_ports *ret, struct ds_err *e);

/* Named counters of dropped packets, one per set (and one for the caps). */
enum fd_counter { FD_CNT_BAN4 = 0, FD_CNT_BAN6, FD_CNT_LIST4, FD_CNT_LIST6, FD_CNT_LISTMAC, FD_CNT_UNLISTED,
                  FD_CNT_CAP, FD_CNT_N };
extern const char *const fd_counter_names[]; /* "drop_ban4", ... */
struct fd_counters {
        uint64_t packets[FD_CNT_N], bytes[FD_CNT_N];
        bool valid;
};

/* Renders one transaction that replaces table inet devsec whole: creation,
 * deletion and the full definition in one buffer. counters (may be NULL)
 * carries the current values over the replacement. Caller frees *ret. */
int fd_ruleset_render(const struct fd_config *c, const struct fd_ports *p, const struct fd_bans *b,
                      const struct fd_counters *counters, int64_t now_ms, char **ret, size_t *ret_len);
/* Parses `list counters` text output into ret. */
int fd_counters_parse(const char *text, struct fd_counters *ret);

/* ---- drops.c: dropped packets per hour over the last day ---------------------- */

#define FD_DROP_HOURS 24
struct fd_drop_hours {
        int64_t hour[FD_DROP_HOURS]; /* hours since the epoch each slot holds */
        uint64_t packets[FD_DROP_HOURS];
        uint64_t last_total;
        bool have_last;
};
void fd_drops_sample(struct fd_drop_hours *h, const struct fd_counters *c, int64_t now_real_ms);
/* The last FD_DROP_HOURS hours, oldest first: [{hour, packets}] */
void fd_drops_write(const struct fd_drop_hours *h, struct mpw *w, int64_t now_real_ms);

/* ---- nft.c: libnftables ------------------------------------------------------ */

typedef struct fd_nft fd_nft_t;
fd_nft_t *fd_nft_new(void);
void fd_nft_destroy(fd_nft_t **n);
/* Runs a command buffer as one transaction. On failure *ret_err (caller
 * frees, may be NULL) holds nftables' error text. */
int fd_nft_run(fd_nft_t *n, const char *buf, char **ret_out, char **ret_err);
int fd_nft_counters(fd_nft_t *n, struct fd_counters *ret);
int fd_nft_ban(fd_nft_t *n, const struct fd_ban *ban, int64_t now_ms, bool add);

/* ---- the daemon (methods.c, main.c) ------------------------------------------- */


/* Self-lockout guard: may c (in allow mode) be enforced for an operator at
 * source (may be "" or not an address) given the management addresses
 * (comma/space separated)? 0, or -EPERM with why. */
int fd_guard(const struct fd_config *c, const char *source, const char *management, char *why, size_t whylen);
/* Is addr one of the management addresses? (bans never cover them) */
bool fd_management_has(const char *management, uint8_t fam, const uint8_t *addr);
/* Validates the management setting: 0 or -EINVAL with the bad word in why. */
int fd_management_check(const char *management, char *why, size_t whylen);

struct filterd {
        struct ds_daemon *d;
        fd_nft_t *nft;              /* NULL with --dry-run: render only */
        struct fd_config running;   /* what the kernel enforces */
        struct fd_config candidate; /* what filter.mode/add/del edit until filter.apply */
        struct fd_config confirmed; /* the revert target while a confirmation is pending */
        bool confirm_pending;
        int confirm_timer;
        int64_t confirm_deadline_ms; /* monotonic */
        int confirm_within_s;
        char confirm_by[64];
        bool reverted_at_start; /* the persisted deadline passed while filterd was down */
        struct fd_ports ports;
        struct fd_bans bans;
        int prune_timer;
        char *ruleset; /* last rendered transaction */
        size_t ruleset_len;
        int64_t last_apply_real_ms;
        double last_apply_ms;
        uint64_t applies, apply_failures;
        uint64_t bans_refused; /* ban requests naming a management address */
        struct fd_drop_hours drops;
        unsigned prune_ticks;
        char last_error[256];
};

/* methods.c: the service contract; main.c wires it into ds_daemon_main() */
extern const struct ds_method filterd_methods[];
extern const struct ds_field filterd_settings[];
extern const struct ds_audit_item filterd_audit[];
int filterd_apply_settings(struct ds_daemon *d, void *ctx, struct ds_err *e);
int filterd_export(struct ds_daemon *d, void *ctx, struct ds_export *x);
int filterd_import(struct ds_daemon *d, void *ctx, const msgpack_object *o, struct ds_err *e);
int filterd_check(struct ds_daemon *d, void *ctx, const msgpack_object *o, struct ds_err *e);
int filterd_check_settings(struct ds_daemon *d, void *ctx, const struct ds_settings *s, struct ds_err *e);
int filterd_reset(struct ds_daemon *d, void *ctx);
void filterd_status(struct ds_daemon *d, void *ctx, struct mpw *w);
int filterd_load(struct filterd *f);

/* store.c: the files in filterd's state directory (atomic writes) */
#define FD_STATE_RUNNING "filter.mp"
#define FD_STATE_CANDIDATE "candidate.mp"
#define FD_STATE_BANS "bans.mp"
#define FD_STATE_RULESET "ruleset.nft"
#define FD_STATE_PORTS "ports.mp"
#define FD_STATE_CONFIRM "confirm.mp" /* an unconfirmed apply: {deadline_ms (wall clock), within_s, by, config} */
int filterd_save_config(struct filterd *f, const char *name, const struct fd_config *c);
int filterd_save_bans(struct filterd *f);
int filterd_save_ports(struct filterd *f);
/* An unconfirmed apply: the revert target and its wall-clock deadline. */
int filterd_save_confirm(struct filterd *f, const struct fd_config *c, int64_t deadline_real_ms);
void filterd_drop_confirm(struct filterd *f);
/* The ports as netcfgd announced them, as "ports" and "max_connections". */
void filterd_write_ports(struct filterd *f, struct mpw *w);
/* Bus up: rearms the revert timer of an unconfirmed apply loaded from state,
 * or announces the revert done at start-up. */
void filterd_resume(struct filterd *f);
/* enforce.c: renders cfg with the current ports and bans and loads it (unless dry-run). */
int filterd_enforce(struct filterd *f, const struct fd_config *cfg, struct ds_err *e);
void filterd_on_event(void *ud, const char *topic, const char *src, int64_t ts_ms, const msgpack_object *data);
/* Bans ip until until_ms (a management address is refused, EINVAL naming ip). */
int filterd_ban(struct filterd *f, uint8_t fam, const uint8_t *ip, int64_t until_ms, const char *actor,
                struct ds_err *e);
int filterd_prune(zloop_t *loop, int timer_id, void *arg);
