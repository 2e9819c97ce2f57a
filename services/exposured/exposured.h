/* exposured.h - what the device exposes: sockets listening on non-loopback
 * addresses judged against netcfgd's functions and ports, and what the LAN's
 * UPnP IGD forwards to the device. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "service.h"

#define EXP_LISTEN_MAX 512
#define EXP_MAP_MAX 128
#define EXP_PORTS_MAX 16
#define EXP_FN_MAX 64
#define EXP_ALLOW_MAX 32
#define EXP_NAME_MAX 32
#define EXP_ADDR_MAX 46 /* INET6_ADDRSTRLEN */
#define EXP_WHY_MAX 160

enum exp_proto { EXP_TCP = 0, EXP_UDP };
const char *exp_proto_name(enum exp_proto p);
/* "tcp"/"udp" (n bytes) -> 0 and *ret, else -EINVAL */
int exp_proto_parse(const char *s, size_t n, enum exp_proto *ret);

/* ---- listeners (listen.c: sock_diag over netlink, /proc) ----------------- */

enum exp_verdict { EXP_OK = 0, EXP_BAD, EXP_CLIENT };

struct exp_listener {
        enum exp_proto proto;
        int family; /* AF_INET, AF_INET6 */
        char addr[EXP_ADDR_MAX];
        uint16_t port;
        uint32_t uid;
        uint64_t inode;
        int pid; /* 0: /proc shows no process holding it */
        char comm[20];
        char user[EXP_NAME_MAX + 1]; /* the uid's user name, or the number */
        /* the judgement (judge.c) */
        enum exp_verdict verdict;
        char owner[EXP_NAME_MAX + 1]; /* the function or port that owns it, "" none */
        char why[EXP_WHY_MAX];
};

struct exp_listeners {
        struct exp_listener v[EXP_LISTEN_MAX];
        size_t n;
        bool truncated;
};

/* Every TCP listening and unconnected UDP socket of this network namespace on
 * a non-loopback address (v4, v6, wildcards included), with its uid and inode;
 * the owning process where /proc shows it, except those of the pids in skip
 * (0-terminated: the daemon and its child). 0 or -errno. */
int exp_listen_scan(struct exp_listeners *ret, const pid_t *skip);
/* Pure: is this address (text) loopback? */
bool exp_addr_is_loopback(const char *addr);

/* ---- what netcfgd says, and the judgement (judge.c: pure logic) ----------- */

struct exp_port {
        char name[16];
        enum exp_proto proto;
        int port;
        int well_known; /* netcfgd's default for it */
};

struct exp_fn {
        char name[EXP_NAME_MAX + 1];
        bool enabled;
};

/* a listener the configuration allows: PROTO/PORT[@FUNCTION] */
struct exp_allow {
        enum exp_proto proto;
        int port;
        char fn[EXP_NAME_MAX + 1]; /* "" always allowed, else while that function is on */
};

struct exp_net {
        bool ports_known, fns_known;
        struct exp_port ports[EXP_PORTS_MAX];
        size_t n_ports;
        struct exp_fn fns[EXP_FN_MAX];
        size_t n_fns;
};

struct exp_rules {
        struct exp_allow allow[EXP_ALLOW_MAX];
        size_t n_allow;
        bool ignore_ephemeral_udp;
        int eph_lo, eph_hi; /* the kernel's local port range */
};

/* "udp/1900@upnp" -> ret; -EINVAL with why. */
int exp_allow_parse(const char *s, struct exp_allow *ret, const char **why);
/* The function owning a netcfgd port name ("ssh" -> "ssh"), NULL for the
 * device's own services that no switch turns off (SDK, RTSP, POS). */
const char *exp_port_function(const char *port_name);
const struct exp_fn *exp_net_fn(const struct exp_net *n, const char *name);
const struct exp_port *exp_net_port(const struct exp_net *n, const char *name);
/* Judges every listener: sets verdict, owner, why. Returns how many are bad. */
size_t exp_judge(struct exp_listeners *l, const struct exp_net *n, const struct exp_rules *r);
/* "tcp 24201 on 10.0.0.2 (root, socat): why" of the bad ones, '; '-joined. */
void exp_judge_summary(const struct exp_listeners *l, char *buf, size_t size);

/* ---- UPnP IGD (upnp.c: libminiupnpc in a child with a time limit) -------- */

struct exp_mapping {
        enum exp_proto proto;
        int ext_port;
        char client[EXP_ADDR_MAX];
        int int_port;
        char desc[64];
        char remote[EXP_ADDR_MAX];
        bool enabled;
        int duration;
        bool bad;
        char why[EXP_WHY_MAX];
};

enum exp_igd_state { EXP_IGD_UNCHECKED = 0, EXP_IGD_NONE, EXP_IGD_FOUND, EXP_IGD_ERROR };

struct exp_igd {
        enum exp_igd_state state;
        char reason[EXP_WHY_MAX];   /* NONE/ERROR: why */
        char url[256];              /* the IGD's description */
        char lan_addr[EXP_ADDR_MAX]; /* this device as the IGD sees it */
        char ext_addr[EXP_ADDR_MAX];
        char status[64];            /* Connected, Disconnected, ... */
        char last_error[64];
        bool connected;
        unsigned uptime;
        struct exp_mapping maps[EXP_MAP_MAX]; /* those to this device */
        size_t n_maps;
        size_t n_total;             /* every mapping of the router */
        bool truncated;
        int64_t checked_ms;         /* wall clock of the answer */
        /* an unmap's outcome */
        bool unmapped;
        char unmap_error[EXP_WHY_MAX];
};

struct exp_upnp_job {
        int discover_ms;
        char igd_url[256];  /* "" discover over SSDP */
        char mcast_if[64];
        bool unmap;
        enum exp_proto unmap_proto;
        int unmap_port;
};

/* Runs the job in the calling process (the child): writes the result map
 * (exp_igd_write) to fd. */
void exp_upnp_child(const struct exp_upnp_job *job, int fd);
void exp_igd_write(const struct exp_igd *g, struct mpw *w);
/* The mappings as "mappings": [..] into an open map: for the child's result
 * (exp_igd_write) with remote_host and enabled, for an answer (verdicts)
 * with each one's verdict instead. */
void exp_mappings_write(const struct exp_igd *g, bool verdicts, struct mpw *w);
/* Decodes a result map into ret (strings bounded). 0 or -EBADMSG. */
int exp_igd_read(const msgpack_object *o, struct exp_igd *ret);
/* Flags the mappings that are not the HTTPS port; returns how many. */
size_t exp_igd_judge(struct exp_igd *g, int https_port);

/* ---- the daemon ------------------------------------------------------------ */

#define EXP_WAITERS_MAX 8

struct exp_ctx {
        struct ds_daemon *d;
        struct exp_rules rules;
        struct exp_net net;
        struct exp_listeners lis;
        int64_t lis_ms;
        int lis_err; /* the last scan's error: the item cannot pass */
        struct exp_igd igd;
        int64_t igd_ms; /* monotonic time of the last answer */
        /* the UPnP child */
        pid_t child;
        int child_fd;
        int child_timer;
        char *child_data; /* the child's answer so far */
        size_t child_len;
        struct exp_upnp_job job;
        void (*upnp_done)(struct exp_ctx *x); /* the job ended: set by main.c (exp_upnp_done) */
        struct ds_call *waiters[EXP_WAITERS_MAX];
        size_t n_waiters;
        struct ds_call *unmap_call; /* waits for a running check, then runs */
        bool unmap_started;
        enum exp_proto unmap_proto;
        int unmap_port;
        char unmap_actor[BUS_NAME_MAX + 1];
        /* timers */
        int tick_timer, net_timer;
        unsigned net_ticks;
        int64_t next_upnp_ms, next_listen_ms;
        char signature[600]; /* of the last published state */
        uint64_t checks, changes;
};

extern const struct ds_field exp_settings[];
extern const struct ds_method exp_methods[];
extern const struct ds_audit_item exp_audit[];

/* exposure.c: the exposure state */
int exp_settings_apply(struct exp_ctx *x, const struct ds_settings *s, struct ds_err *e);
/* exp_settings_apply's refusals without its effect */
int exp_settings_check(const struct ds_settings *s, struct ds_err *e);
/* Rescans the listeners and judges them. */
void exp_listen_refresh(struct exp_ctx *x);
/* The verdicts of the two audit items, with their detail. */
enum ds_audit_result exp_listen_result(struct exp_ctx *x, char *detail, size_t size);
enum ds_audit_result exp_upnp_result(struct exp_ctx *x, char *detail, size_t size);
void exp_write_state(struct exp_ctx *x, struct mpw *w);
/* Publishes net.exposure.changed when the verdicts changed since the last. */
void exp_publish_if_changed(struct exp_ctx *x, const char *why);
/* netcfgd's HTTPS port, 443 until it is known */
int exp_https_port(const struct exp_ctx *x);

/* methods.c */
/* The job finished (or timed out): answers the waiters; x->upnp_done. */
void exp_upnp_done(struct exp_ctx *x);

/* upnp.c (loop side) */
/* Starts a check (or x->job's unmap) in a child unless one runs: 0, -EBUSY,
 * -errno. Its end (or timeout) calls x->upnp_done. */
int exp_upnp_start(struct exp_ctx *x, bool unmap, enum exp_proto proto, int port);
void exp_upnp_stop(struct exp_ctx *x);

/* netcfg.c */
int exp_netcfg_start(struct exp_ctx *x);
void exp_netcfg_refresh(struct exp_ctx *x);
