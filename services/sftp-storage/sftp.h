/* sftp.h - sftp-storage: uploads of what the media stack drops into a spool
 * directory, over SFTP with the server's host key pinned (explicit FTPS only
 * when turned on by name; plain FTP never), into an exclusive remote
 * directory, from a persistent queue (common/queue.h), resuming what an
 * outage interrupted. */
#pragma once
#include <curl/curl.h>
#include <openssl/evp.h>

#include "curl_loop.h"
#include <stdbool.h>
#include <stdint.h>

#include "queue.h"
#include "service.h"

#define STOR_MARKER ".devsec-storage"
#define STOR_NAME_MAX 200
#define STOR_LIST_MAX (4u << 20)

enum stor_proto { STOR_SFTP = 0, STOR_FTPES = 1 };

/* A parsed destination URL: sftp://host[:port]/dir or ftpes://host[:port]/dir */
struct stor_url {
        enum stor_proto proto;
        char host[256];
        long port;
        char dir[1024];         /* absolute, no trailing '/', never "/" */
};

struct stor_conf {
        struct stor_url url;
        bool configured;
        char username[128];
        bool allow_ftps;
        char ca_file[4096];
        bool keep;              /* retention after upload: keep (kept/) or delete */
        char spool_dir[4096];
        char device_id[128];
        int64_t timeout_s;
        int64_t rate_kib_s;     /* 0: no limit */
};

#define STOR_UPLOAD_BUFFER (2L * 1024 * 1024) /* libcurl's maximum */

enum stor_phase {
        PH_IDLE = 0,
        PH_PROBE,               /* trust: fetch the host key */
        PH_PREP_LIST,           /* exclusive directory: list */
        PH_PREP_GET,            /* read the marker */
        PH_PREP_PUT,            /* write our marker */
        PH_UP_LIST,             /* before an upload: sizes of temp and final */
        PH_UP_PUT,              /* upload (append from the remote size), rename */
        PH_UP_CHECK,            /* final size check */
        PH_UP_HASH,             /* SHA-256 of a resumed file, in slices on the loop */
        PH_UP_SUM,              /* the sidecar NAME.sha256 (sha256sum format), temp + rename */
};

/* one remote operation, on either backend */
struct stor_op {
        enum stor_phase ph;
        const char *name;      /* in the directory; "" the directory (a listing) */
        bool get;              /* download name into x->buf (else a listing) */
        const char *mem;       /* upload from memory (marker, sidecar), or */
        size_t mem_len;
        const char *file;      /* from this local file, appending from offset */
        uint64_t offset, size;
        const char *rename_to; /* after the upload: must not exist */
        bool del_first;        /* FTPS: delete name first (longer than the file) */
        bool excl;             /* SFTP: create name only if it does not exist */
};

struct stor_op_result {
        int rc;                /* 0 done, <0 failed */
        bool peer_refused;     /* SFTP: not the pinned host key; FTPS: certificate */
        char why[DSQ_ERROR_MAX + 1];
};

struct stor_ctx {
        struct ds_daemon *d;
        struct stor_conf conf;
        char *password;         /* DS_SECRET setting, "" when none */
        char pin[64];           /* pinned host key, base64 SHA-256 without "SHA256:"; "" none */
        char key_path[4096], pub_path[4096];
        char pubkey[256];       /* "ssh-ed25519 AAAA... comment" */
        dsq_t *q;
        struct ds_curl_loop curl; /* libcurl multi on the daemon's loop (FTPS) */
        bool curl_on;             /* libcurl initialised: an FTPS operation ran */
        void (*op_done)(struct stor_ctx *x, const struct stor_op_result *r);
        int tick_timer;
        /* the one operation in progress */
        enum stor_phase phase;
        CURL *easy;
        char errbuf[CURL_ERROR_SIZE];
        char *buf;              /* download into memory (list, marker) */
        size_t buf_len;
        const char *up_mem;     /* upload from memory (marker) */
        size_t up_mem_len, up_mem_off;
        int up_fd;              /* upload from a file */
        struct stor_ssh *ssh;   /* the SSH connection (ssh.c), NULL none */
        struct curl_slist *quote, *postquote;
        /* the item in progress */
        char id[DSQ_ID_LEN + 1];
        char name[STOR_NAME_MAX + 1];
        uint64_t size, offset;
        char final[STOR_NAME_MAX + 32], tmp[STOR_NAME_MAX + 40];
        /* its SHA-256: computed while the bytes are sent when the upload
         * starts at 0; otherwise (resumed, rewound) read again afterwards */
        EVP_MD_CTX *md;
        uint64_t md_done;
        bool md_inline;
        bool dup;               /* already uploaded before a restart */
        int hash_fd, hash_timer;
        char sum[STOR_NAME_MAX + 112];
        char sum_final[STOR_NAME_MAX + 40], sum_tmp[STOR_NAME_MAX + 48];
        /* the directory */
        bool dir_ok;            /* exclusive directory verified since the last change */
        bool adopt;             /* the pending test asked to adopt it */
        int64_t dir_next_ms;    /* not before this again after a refusal */
        char dir_error[256];
        bool hostkey_mismatch;  /* refused until re-trusted */
        /* probe (trust) */
        char offered[64];
        char want_fp[64];
        struct ds_call *trust_call, *test_call;
        bool want_probe, want_test;
        /* counters */
        uint64_t uploaded, uploaded_bytes, resumed, failed_attempts, refused_full, duplicates;
        char last_error[256];
        int64_t last_upload_ms;
};

/* check.c: pure */
/* Parses and checks a destination URL; -EINVAL with *ret_why. ftp:// (plain)
 * is always refused; ftpes:// only when allow_ftps. */
int stor_url_parse(const char *s, bool allow_ftps, struct stor_url *ret, const char **ret_why);
/* True for "/" and the system directories (/etc, /usr, ...) and their children. */
bool stor_dir_is_system(const char *dir);
/* A spool file name that may be uploaded: [A-Za-z0-9._-], not starting with '.'. */
bool stor_name_ok(const char *name);
/* Remote names derived from the item id (a re-upload after a crash has the same). */
void stor_final_name(const char *id, const char *name, char *buf, size_t size);
void stor_tmp_name(const char *final, char *buf, size_t size);
/* Parses a long ("ls -l") listing; calls fn for each entry (not . and ..). */
int stor_list_parse(const char *text, size_t len, void (*fn)(void *ud, const char *name, uint64_t size, bool dir),
                    void *ud);
/* One line of such a listing for a name and its attributes (SFTP's
 * readdir: the attributes, not the server's own long format); its length. */
int stor_list_line(char *buf, size_t size, const char *name, size_t name_len, uint64_t file_size, bool dir);
/* The marker's text for device id, and the device id a marker names (0 or -EINVAL). */
int stor_marker_text(const char *device_id, char *buf, size_t size);
int stor_marker_device(const char *text, size_t len, char *buf, size_t size);
/* OpenSSH-style fingerprint of a raw host key blob: base64 SHA-256, no padding. */
int stor_fingerprint(const void *key, size_t len, char *buf, size_t size);

/* key.c: the device's Ed25519 client key (OpenSSH format, 0600) */
int stor_key_ensure(struct stor_ctx *x);

/* xfer.c: the order of operations, one at a time */
int stor_xfer_init(struct stor_ctx *x);
void stor_xfer_fini(struct stor_ctx *x);
void stor_kick(struct stor_ctx *x);
/* The destination changed: the operation in progress ends, its item is retried. */
void stor_xfer_abort(struct stor_ctx *x, const char *why);
bool stor_configured(const struct stor_ctx *x);

/* ssh.c and ftps.c: an operation starts (x->phase = op->ph), its end is
 * reported to x->op_done on the loop; the strings of op are copied */
int stor_ssh_op(struct stor_ctx *x, const struct stor_op *op);
/* ends the SSH connection: at once when idle; an operation in progress is
 * cancelled (no result) */
void stor_ssh_close(struct stor_ctx *x);
void stor_ssh_cancel(struct stor_ctx *x);
void stor_ssh_fini(void);
int stor_curl_op(struct stor_ctx *x, const struct stor_op *op);
/* the operation's handle and buffers (no result) */
void stor_curl_clear(struct stor_ctx *x);
void stor_curl_fini(struct stor_ctx *x);

/* spool.c: files dropped by the media stack -> the queue; how many were
 * queued (the caller kicks the transfers: stor_kick()) */
int stor_spool_scan(struct stor_ctx *x);
/* at start: held files without an item queued again; after a purge: deleted */
int stor_spool_recover(struct stor_ctx *x);
int stor_spool_prune(struct stor_ctx *x);
int stor_spool_done(struct stor_ctx *x, const char *name);
char *stor_held_path(struct stor_ctx *x, const char *name);
int stor_save_pin(struct stor_ctx *x, const char *fp);

/* methods.c */
void stor_write_stats(struct stor_ctx *x, struct mpw *w);
extern const struct ds_method stor_methods[];
extern const struct ds_field stor_settings[];
extern const struct ds_audit_item stor_audit[];
