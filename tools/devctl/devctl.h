/* devctl.h - the operator CLI: a static command table per area, mapped 1:1 to bus methods */
#pragma once
#include <stdbool.h>
#include <stdio.h>

#include "bus.h"

/* Exit codes (documented in devctl(1)) */
#define DC_OK 0
#define DC_ESERVICE 1 /* the service answered an error */
#define DC_EUSAGE 2
#define DC_EAUTH 3    /* not authenticated / not permitted */
#define DC_EUNAVAIL 4 /* unavailable / disabled / timed out */

struct devctl {
        struct ds_paths paths;
        bus_t *bus;
        const char *identity;
        bool json;
        int timeout_ms;
        char *token;
        char token_path[4096];
        bool token_dir_private; /* the default path: its directory must be ours and 0700 */
        uint64_t lost_told;     /* dropped events already reported */
};

struct devctl_cmd;
typedef int (*devctl_fn)(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv);

#define DC_NOAUTH 0x1u     /* sends no session token */
#define DC_SECRET_ARG 0x2u /* first positional is read from a prompt / stdin, never argv */

struct devctl_cmd {
        const char *path;         /* "user add" */
        const char *svc;          /* target service */
        const char *method;       /* bus method */
        const char *const *pos;   /* names of positional arguments, in order */
        unsigned min_pos;         /* how many positionals are required */
        devctl_fn fn;             /* custom handler; NULL = generic call */
        const char *usage;        /* "NAME GROUP [key=value...]" */
        const char *help;         /* one line */
        const char *list_key;     /* reply key holding rows to print as a table */
        unsigned flags;
};

/* Registers a NULL-terminated command table at link time (no central list). */
#define DEVCTL_COMMANDS(tbl)                                                                       \
        static const struct devctl_cmd *const devctl_reg_##tbl                                     \
                __attribute__((used, section("devctl_cmds"), aligned(sizeof(void *)))) = tbl

/* Connects on first use; prints the error and returns NULL on failure. */
bus_t *devctl_bus(struct devctl *dc);
/* The first line of path (at most max bytes; follow: a link is opened), wiped after copying;
 * ds_free_secret() it; NULL with errno. */
char *devctl_read_first_line(const char *path, size_t max, bool follow);
/* Removes FLAG from argv (true when it was there), or OPT and its value (the value; NULL: absent). */
bool devctl_take_flag(int *argc, char **argv, const char *flag);
const char *devctl_take_opt(int *argc, char **argv, const char *opt);
/* Parses key=value words into an open map (numbers, true/false, null, strings;
 * key:=JSON-ish not supported; use --args-json). Returns DC_OK or DC_EUSAGE. */
int devctl_parse_kv(struct mpw *w, int argc, char **argv);
/* Parses a JSON object text into msgpack (for --args-json). */
int devctl_json_to_mp(const char *json, struct mpw *w, char *err, size_t errlen);
/* Calls svc.method with args, prints the reply (table/list_key aware) and
 * returns the exit code. ret_rep, when not NULL, receives the reply instead
 * of it being printed on success. */
int devctl_call(struct devctl *dc, const char *svc, const char *method, const struct mpw *args, bool auth,
                const char *list_key, struct bus_reply *ret_rep);
/* Subscribes to prefix under the session; prints busd's refusal and returns
 * the exit code (DC_OK when subscribed). */
int devctl_subscribe(struct devctl *dc, const char *prefix, bus_event_fn cb, void *ud);
/* Waits for events: 0 (go on), -EINTR (stop), or, when busd ended the
 * subscription (the session ended or lost an authority), the exit code after
 * printing why. Also reports events busd dropped for us. */
int devctl_wait_event(struct devctl *dc, int timeout_ms);
/* The generic command runner (positionals, key=value, --flags, --args-json). */
/* config.set of svc from key=value words and an account password that comes
 * only from a prompt (--password) or stdin (--password-stdin), never argv;
 * word(w, arg) writes one word (NULL: devctl_parse_kv). */
int devctl_set_secret(struct devctl *dc, const struct devctl_cmd *cmd, const char *svc, const char *prompt,
                      int (*word)(struct mpw *w, const char *arg), int argc, char **argv);
/* Prints "usage: devctl PATH USAGE" on stderr; returns DC_EUSAGE. */
int devctl_usage(const struct devctl_cmd *cmd);
int devctl_run_generic(struct devctl *dc, const struct devctl_cmd *cmd, int argc, char **argv);
/* Maps a bus error code to an exit code. */
int devctl_exit_code(int code);
/* Prints "devctl: svc: CODE: field: msg" on stderr. */
void devctl_print_error(const char *svc, const struct bus_reply *rep);
/* Output helpers. */
void devctl_print_json(FILE *f, const msgpack_object *o);
void devctl_print_value(FILE *f, const msgpack_object *o);
void devctl_print_map(FILE *f, const msgpack_object *m, int indent);
void devctl_print_table(FILE *f, const msgpack_object *rows, const char *const *columns);
/* Reads a secret from the terminal without echo (twice when confirm) or one
 * line from stdin. Caller frees with ds_free_secret(). */
char *devctl_read_secret(const char *prompt, bool confirm, bool from_stdin);
/* Token storage (0600 file) */
/* token.c: the session token's file; load finds it (environment, then the user's file) */
void devctl_token_load(struct devctl *dc);
int devctl_token_save(struct devctl *dc, const char *tok);
int devctl_token_clear(struct devctl *dc);
/* Checks that the token can be kept safely (directory owned by the user and
 * 0700, token file not a link, ours, 0600); prints why not. 0 or -errno. */
int devctl_token_check(struct devctl *dc);
