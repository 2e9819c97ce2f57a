/* ssh.c - SFTP on libssh2 directly, on a worker thread: one SSH connection
 * (one session) carries every operation from the directory check through the
 * items in the queue (list, marker, upload, rename, final size check,
 * sidecar) and is closed when the queue has nothing more to send now or an
 * operation failed. The loop hands over one operation at a time
 * (stor_ssh_op) and hears of its end through a pipe.
 *
 * The guarantees: the host key checked against the pinned SHA-256 right
 * after the handshake, before any authentication (refused otherwise); the
 * device's Ed25519 key, a password only when one is configured; uploads to
 * the temporary name from the remote size the caller checked, renamed with
 * SFTP v3 rename (refuses an existing target). Every blocking call is
 * bounded by timeout_s; cancelling shuts the socket down so the thread ends
 * at once. The trust probe is a connection of its own that goes no further
 * than the host key.
 *
 * Throughput: libcurl refills its upload buffer only when it is nearly
 * empty, so libssh2's write pipeline drains between refills; here a sliding
 * window over the mapped file (STOR_SSH_WINDOW ahead of what the server
 * acknowledged) keeps it full. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "resolve.h"
#include "sftp.h"
#include "util.h"

/* data handed to libssh2 ahead of the acknowledged offset. libssh2 1.10's
 * sftp_write returns one acknowledgement per call, but only once every
 * packet it holds is sent: beyond the server's channel window (OpenSSH:
 * 2 MiB, re-opened at half) it waits for the socket before returning an
 * acknowledgement it already has. Half of OpenSSH's window never blocks on
 * it and still keeps 35 writes in flight (loopback: 8 MiB reached 0.33-0.88x
 * of OpenSSH's sftp, 1 MiB 0.70-0.90x, same runs, noisy machine). */
#define STOR_SSH_WINDOW (1u << 20)
#define PATH_MAX_REMOTE (STOR_NAME_MAX + 1100)

/* one operation, copied: the thread reads nothing of the context */
struct ssh_req {
        enum stor_phase ph;
        enum { OP_PROBE, OP_LIST, OP_GET, OP_PUT } kind;
        char path[PATH_MAX_REMOTE], rename_to[PATH_MAX_REMOTE];
        bool rename_checked; /* a refused rename is checked by the caller */
        bool excl;           /* create only: refused if the name exists */
        char mem[512];       /* upload from memory (marker, sidecar) */
        size_t mem_len;
        char file[4096];     /* or from this local file */
        uint64_t offset, size;
        int64_t rate_kib_s;
        EVP_MD_CTX *md;      /* the file's SHA-256, whole (a second thread); NULL none */
};

struct stor_ssh {
        pthread_t th;
        int pipe[2];
        pthread_mutex_t mu;
        pthread_cond_t cv;
        int sock;          /* under mu: shut down by a cancel */
        bool cancel, quit; /* under mu */
        bool busy, done;   /* under mu: a request posted, its result ready */
        bool ended;        /* under mu: the session is gone, the thread ends */
        /* the session's inputs, copied when it starts */
        char host[256], user[128], pin[64], key_path[4096], pub_path[4096], dir[1024];
        char *password;
        long port;
        int64_t timeout_s;
        struct ssh_req req;
        /* outputs */
        struct stor_op_result res;
        char *buf; /* a listing or a file */
        size_t buf_len;
        uint64_t md_done, sent;
        bool md_ok;
        char offered[64];
        /* the server's addresses, looked up on the loop (a lookup there is
         * cancelled with the job; one in this thread could not be): under mu */
        ds_resolve_t *rs; /* the loop's */
        bool resolved;
        int resolve_err; /* EAI_* */
        struct ssh_addr {
                struct sockaddr_storage sa;
                socklen_t len;
                int family;
        } *addr; /* every address the lookup gave, in its order */
        int n_addr;
        /* the thread's own */
        LIBSSH2_SESSION *s;
        LIBSSH2_SFTP *sftp;
        int fd;
};

static bool cancelled(struct stor_ssh *j)
{
        pthread_mutex_lock(&j->mu);
        bool c = j->cancel;
        pthread_mutex_unlock(&j->mu);
        return c;
}

static int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "what: libssh2's last error", as curl words its errors */
static int fail(struct stor_ssh *j, const char *what)
{
        char *msg = NULL;

        if (j->s)
                libssh2_session_last_error(j->s, &msg, NULL, 0);
        if (cancelled(j))
                snprintf(j->res.why, sizeof j->res.why, "%s: cancelled", what);
        else
                snprintf(j->res.why, sizeof j->res.why, "%.60s%s%.130s", what, msg && msg[0] ? ": " : "",
                         msg ? msg : "");
        return j->res.rc = -1;
}

/* an SFTP status as curl names it */
static int sftp_fail(struct stor_ssh *j, const char *what)
{
        unsigned long e = j->sftp ? libssh2_sftp_last_error(j->sftp) : 0;

        if (e == LIBSSH2_FX_NO_SUCH_FILE || e == LIBSSH2_FX_NO_SUCH_PATH)
                return fail(j, "Remote file not found");
        if (e == LIBSSH2_FX_PERMISSION_DENIED)
                return fail(j, "Access denied to remote resource");
        return fail(j, what);
}

/* a TCP connection within timeout_s to the addresses the loop looked up
 * (waited for here, as long as the lookup's own deadline); the socket is
 * published for cancel */
static int tcp_connect(struct stor_ssh *j)
{
        int fd = -1, n, err;

        pthread_mutex_lock(&j->mu);
        while (!j->resolved && !j->cancel)
                pthread_cond_wait(&j->cv, &j->mu);
        n = j->n_addr;
        err = j->resolve_err;
        pthread_mutex_unlock(&j->mu);
        if (cancelled(j)) {
                snprintf(j->res.why, sizeof j->res.why, "Couldn't resolve host name: cancelled");
                return -1;
        }
        if (err || !n) {
                snprintf(j->res.why, sizeof j->res.why, "Couldn't resolve host name: Could not resolve host: %.120s",
                         j->host);
                return -1;
        }
        for (int i = 0; i < n && fd < 0; i++) {
                const struct sockaddr *sa = (const struct sockaddr *)&j->addr[i].sa;
                if ((fd = socket(j->addr[i].family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
                        continue;
                pthread_mutex_lock(&j->mu);
                j->sock = fd;
                bool c = j->cancel;
                pthread_mutex_unlock(&j->mu);
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                int err = 0;
                socklen_t el = sizeof err;
                if (c || (connect(fd, sa, j->addr[i].len) < 0 &&
                          (errno != EINPROGRESS || poll(&p, 1, (int)j->timeout_s * 1000) != 1 ||
                           getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err))) {
                        pthread_mutex_lock(&j->mu);
                        j->sock = -1;
                        pthread_mutex_unlock(&j->mu);
                        close(fd);
                        fd = -1;
                }
        }
        if (fd < 0) {
                snprintf(j->res.why, sizeof j->res.why,
                         "Couldn't connect to server: Failed to connect to %.120s port %ld", j->host, j->port);
                return -1;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        /* as curl: each SSH packet goes out at once, not held for an ACK */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
        return fd;
}

/* The MAC over every packet: HMAC-SHA-256 where the CPU has SHA
 * instructions, else HMAC-SHA-512, which is faster per byte on a 64-bit CPU
 * without them (openssl speed, 32 KiB blocks, this x86-64: SHA-256 1.50 GB/s
 * with SHA-NI, 0.34 GB/s with it masked; SHA-512 0.52 GB/s). Both strong;
 * hmac-sha1 only last, for a server with nothing else. */
static const char *mac_pref(void)
{
#if defined(__x86_64__) || defined(__i386__)
        __builtin_cpu_init();
        if (!__builtin_cpu_supports("sha"))
                return "hmac-sha2-512,hmac-sha2-256,hmac-sha1";
#endif
        return "hmac-sha2-256,hmac-sha2-512,hmac-sha1";
}

/* Connects and checks the host key; then (not for the probe) authenticates
 * and starts SFTP. Nothing is sent to an unpinned server. */
static int session_open(struct stor_ssh *j, bool probe)
{
        const char *key;
        size_t klen;
        int type;
        char fp[64];

        if ((j->fd = tcp_connect(j)) < 0)
                return j->res.rc = -1;
        if (!(j->s = libssh2_session_init())) {
                snprintf(j->res.why, sizeof j->res.why, "Out of memory");
                return j->res.rc = -1;
        }
        libssh2_session_set_blocking(j->s, 1);
        libssh2_session_set_timeout(j->s, (long)j->timeout_s * 1000);
        /* AES-CTR first: the fastest of what libssh2 1.10 has with AES-NI */
        libssh2_session_method_pref(j->s, LIBSSH2_METHOD_CRYPT_CS, "aes128-ctr,aes192-ctr,aes256-ctr");
        libssh2_session_method_pref(j->s, LIBSSH2_METHOD_MAC_CS, mac_pref());
        if (libssh2_session_handshake(j->s, j->fd))
                return fail(j, "Failure establishing ssh session");
        key = libssh2_session_hostkey(j->s, &klen, &type);
        if (!key || stor_fingerprint(key, klen, fp, sizeof fp) < 0) {
                snprintf(j->res.why, sizeof j->res.why, "Failure establishing ssh session: no host key");
                return j->res.rc = -1;
        }
        if (probe) {
                snprintf(j->offered, sizeof j->offered, "%s", fp);
                return 0;
        }
        if (strcmp(fp, j->pin)) {
                j->res.peer_refused = true;
                snprintf(j->res.why, sizeof j->res.why, "SSL peer certificate or SSH remote key was not OK");
                return j->res.rc = -1;
        }
        if (libssh2_userauth_publickey_fromfile_ex(j->s, j->user, (unsigned)strlen(j->user), j->pub_path,
                                                   j->key_path, NULL) != 0 &&
            (!j->password[0] || libssh2_userauth_password_ex(j->s, j->user, (unsigned)strlen(j->user), j->password,
                                                             (unsigned)strlen(j->password), NULL) != 0))
                return fail(j, "Login denied");
        if (!(j->sftp = libssh2_sftp_init(j->s)))
                return fail(j, "Failure establishing ssh session (SFTP)");
        return 0;
}

/* after a failure the server may not answer at all: the teardown must not
 * wait for it (each blocking call would take timeout_s); after a success
 * every reply is in, so nothing is lost by not waiting either. The socket is
 * shut down first, so that each call fails at once: in non-blocking mode
 * libssh2 answers EAGAIN instead and leaves the SFTP channel and the session
 * unfreed (LeakSanitizer: libssh2_session_init_ex). */
static void session_close(struct stor_ssh *j)
{
        if (j->s && j->fd >= 0)
                shutdown(j->fd, SHUT_RDWR);
        if (j->sftp)
                libssh2_sftp_shutdown(j->sftp);
        j->sftp = NULL;
        if (j->s) {
                libssh2_session_disconnect(j->s, "done");
                libssh2_session_free(j->s);
        }
        j->s = NULL;
        pthread_mutex_lock(&j->mu);
        j->sock = -1;
        pthread_mutex_unlock(&j->mu);
        if (j->fd >= 0)
                close(j->fd);
        j->fd = -1;
}

/* the directory as "ls -l" lines (what curl's listing gave), from the
 * attributes rather than the server's own long format */
static int op_list(struct stor_ssh *j)
{
        LIBSSH2_SFTP_HANDLE *h;
        LIBSSH2_SFTP_ATTRIBUTES a;
        char name[512], line[700];
        int n;

        if (!(h = libssh2_sftp_opendir(j->sftp, j->req.path)))
                return sftp_fail(j, "Error in the SSH layer (list)");
        while ((n = libssh2_sftp_readdir(h, name, sizeof name, &a)) > 0) {
                bool dir = (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISDIR(a.permissions);
                uint64_t sz = a.flags & LIBSSH2_SFTP_ATTR_SIZE ? a.filesize : 0;
                int l = stor_list_line(line, sizeof line, name, (size_t)n, sz, dir);
                char *nb;
                if (l < 0 || j->buf_len + (size_t)l > STOR_LIST_MAX || !(nb = realloc(j->buf, j->buf_len + (size_t)l + 1))) {
                        libssh2_sftp_closedir(h);
                        snprintf(j->res.why, sizeof j->res.why, "Failed writing received data to disk/application");
                        return j->res.rc = -1;
                }
                j->buf = nb;
                memcpy(j->buf + j->buf_len, line, (size_t)l + 1);
                j->buf_len += (size_t)l;
        }
        if (n < 0) {
                libssh2_sftp_closedir(h);
                return sftp_fail(j, "Error in the SSH layer (list)");
        }
        libssh2_sftp_closedir(h);
        return 0;
}

static int op_get(struct stor_ssh *j)
{
        LIBSSH2_SFTP_HANDLE *h;
        char tmp[4096];
        ssize_t n;

        if (!(h = libssh2_sftp_open(j->sftp, j->req.path, LIBSSH2_FXF_READ, 0)))
                return sftp_fail(j, "Error in the SSH layer (read)");
        while ((n = libssh2_sftp_read(h, tmp, sizeof tmp)) > 0) {
                char *nb;
                if (j->buf_len + (size_t)n > STOR_LIST_MAX || !(nb = realloc(j->buf, j->buf_len + (size_t)n + 1))) {
                        libssh2_sftp_close_handle(h);
                        snprintf(j->res.why, sizeof j->res.why, "Failed writing received data to disk/application");
                        return j->res.rc = -1;
                }
                j->buf = nb;
                memcpy(j->buf + j->buf_len, tmp, (size_t)n);
                j->buf_len += (size_t)n;
                j->buf[j->buf_len] = 0;
        }
        libssh2_sftp_close_handle(h);
        return n < 0 ? sftp_fail(j, "Error in the SSH layer (read)") : 0;
}

/* bytes the rate limit lets out by now, counted from the first write */
static uint64_t rate_allowed(struct stor_ssh *j, int64_t t0)
{
        if (!j->req.rate_kib_s)
                return UINT64_MAX;
        return (uint64_t)(mono_ms() - t0 + 100) * (uint64_t)j->req.rate_kib_s * 1024 / 1000;
}

static int send_from(struct stor_ssh *j, LIBSSH2_SFTP_HANDLE *h, const unsigned char *src, uint64_t pos, uint64_t end)
{
        int64_t t0 = mono_ms();
        uint64_t from = pos;

        while (pos < end) {
                uint64_t len = end - pos, lim = rate_allowed(j, t0);
                if (len > STOR_SSH_WINDOW)
                        len = STOR_SSH_WINDOW;
                if (lim != UINT64_MAX) {
                        uint64_t done = pos - from;
                        if (done >= lim) {
                                if (cancelled(j))
                                        return fail(j, "Upload failed (write)");
                                nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000 }, NULL);
                                continue;
                        }
                        if (len > lim - done)
                                len = lim - done;
                }
                ssize_t n = libssh2_sftp_write(h, (const char *)src + pos, (size_t)len);
                if (n <= 0)
                        return fail(j, "Upload failed (write)");
                pos += (uint64_t)n;
                j->sent += (uint64_t)n;
        }
        return 0;
}

/* The file's SHA-256 (for its sidecar), all of it whatever the offset, on a
 * thread of its own over the same mapping: it overlaps the send instead of
 * lengthening it (SHA-256 of every byte sent is ~10% of the upload's CPU).
 * At the lowest priority: on a busy CPU the send goes first, and the sum,
 * needed only after the file's rename, takes what is left. */
struct hash_job {
        EVP_MD_CTX *md;
        const unsigned char *src;
        uint64_t size, done;
        _Atomic bool stop;
        bool ok;
};

static void *hash_main(void *ud)
{
        struct hash_job *h = ud;

        /* Linux: the nice value of this thread alone */
        setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
        h->ok = true;
        while (h->done < h->size && !h->stop) {
                size_t n = h->size - h->done > (1u << 20) ? (1u << 20) : (size_t)(h->size - h->done);
                if (EVP_DigestUpdate(h->md, h->src + h->done, n) != 1) {
                        h->ok = false;
                        break;
                }
                h->done += n;
        }
        return NULL;
}

/* an upload to req.path (appending from req.offset), then the rename */
static int op_put(struct stor_ssh *j)
{
        struct ssh_req *q = &j->req;
        unsigned long fl = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT |
                           (q->excl ? LIBSSH2_FXF_EXCL : q->offset ? 0 : LIBSSH2_FXF_TRUNC);
        const unsigned char *src = (const unsigned char *)q->mem;
        unsigned char *map = MAP_FAILED;
        LIBSSH2_SFTP_HANDLE *h;
        struct hash_job hj = { .md = q->md };
        pthread_t hth;
        bool hashing = false;
        int r = -1;

        if (q->file[0]) {
                int ffd = open(q->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                if (ffd >= 0 && q->size)
                        map = mmap(NULL, (size_t)q->size, PROT_READ, MAP_SHARED, ffd, 0);
                if (ffd >= 0)
                        close(ffd);
                if (ffd < 0 || (q->size && map == MAP_FAILED)) {
                        snprintf(j->res.why, sizeof j->res.why, "the spooled file cannot be read");
                        return j->res.rc = -1;
                }
                if (q->size)
                        madvise(map, (size_t)q->size, MADV_SEQUENTIAL);
                src = map;
                hj.src = map;
                hj.size = q->size;
                hashing = q->md && pthread_create(&hth, NULL, hash_main, &hj) == 0;
                if (!hashing)
                        q->md = NULL;
        } else {
                q->size = q->mem_len;
        }
        /* an existing name (temporary, marker) that is not a plain file (a
         * symlink put there by someone else): never written through */
        LIBSSH2_SFTP_ATTRIBUTES la;
        if (!libssh2_sftp_lstat(j->sftp, q->path, &la) && (la.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
            !LIBSSH2_SFTP_S_ISREG(la.permissions)) {
                snprintf(j->res.why, sizeof j->res.why, "Upload failed (open): the remote name is not a regular file");
                goto out;
        }
        /* 0644: what curl gave the files (CURLOPT_NEW_FILE_PERMS) */
        if (!(h = libssh2_sftp_open_ex(j->sftp, q->path, (unsigned)strlen(q->path), fl, 0644, LIBSSH2_SFTP_OPENFILE))) {
                sftp_fail(j, "Upload failed (open)");
                goto out;
        }
        libssh2_sftp_seek64(h, q->offset);
        if (send_from(j, h, src, q->offset, q->size) < 0) {
                libssh2_sftp_close_handle(h);
                goto out;
        }
        if (libssh2_sftp_close_handle(h)) {
                fail(j, "Upload failed (close)");
                goto out;
        }
        /* SFTP v3 rename refuses an existing target (OpenSSH: link +
         * unlink): for the file itself the caller checks the final size
         * next, so a refusal is not an error here */
        if (q->rename_to[0] && libssh2_sftp_rename_ex(j->sftp, q->path, (unsigned)strlen(q->path), q->rename_to,
                                                      (unsigned)strlen(q->rename_to), 0) &&
            !q->rename_checked) {
                sftp_fail(j, "Upload failed (rename)");
                goto out;
        }
        r = 0;
out:
        if (hashing) {
                hj.stop = r < 0;
                pthread_join(hth, NULL);
                if (hj.ok && hj.done == q->size)
                        j->md_done = hj.done;
                else
                        q->md = NULL;
        }
        if (map != MAP_FAILED)
                munmap(map, (size_t)q->size);
        return r < 0 ? (j->res.rc = -1) : 0;
}

static void run(struct stor_ssh *j)
{
        j->res = (struct stor_op_result){ 0 };
        j->md_done = j->sent = 0;
        if (!j->s && session_open(j, j->req.kind == OP_PROBE) < 0)
                return;
        switch (j->req.kind) {
        case OP_PROBE:
                break;
        case OP_LIST:
                op_list(j);
                break;
        case OP_GET:
                op_get(j);
                break;
        case OP_PUT:
                op_put(j);
                break;
        }
        j->md_ok = j->req.md != NULL;
}

static void *ssh_main(void *ud)
{
        struct stor_ssh *j = ud;
        char c = 1;

        for (;;) {
                pthread_mutex_lock(&j->mu);
                while (!j->busy && !j->quit)
                        pthread_cond_wait(&j->cv, &j->mu);
                bool quit = j->quit;
                pthread_mutex_unlock(&j->mu);
                if (quit)
                        break;
                run(j);
                bool end = j->res.rc < 0 || j->req.kind == OP_PROBE;
                if (end)
                        session_close(j);
                pthread_mutex_lock(&j->mu);
                j->busy = false;
                j->done = true;
                j->ended = end;
                pthread_mutex_unlock(&j->mu);
                if (write(j->pipe[1], &c, 1) < 0) {
                        /* the loop then ends it at its next close */
                }
                if (end)
                        return NULL;
        }
        session_close(j);
        return NULL;
}

/* the loop's lookup ended: its addresses to the thread */
static void on_resolved(void *ud, int err, const struct addrinfo *ai)
{
        struct stor_ssh *j = ud;
        size_t n = 0;

        pthread_mutex_lock(&j->mu);
        j->rs = NULL; /* over: the handle is gone */
        j->resolve_err = err;
        for (const struct addrinfo *a = ai; !err && a; a = a->ai_next)
                n++;
        if (n && !(j->addr = calloc(n, sizeof *j->addr)))
                j->resolve_err = EAI_MEMORY;
        for (const struct addrinfo *a = ai; j->addr && a; a = a->ai_next) {
                if (a->ai_addrlen > sizeof j->addr[0].sa)
                        continue;
                memcpy(&j->addr[j->n_addr].sa, a->ai_addr, a->ai_addrlen);
                j->addr[j->n_addr].len = a->ai_addrlen;
                j->addr[j->n_addr].family = a->ai_family;
                j->n_addr++;
        }
        j->resolved = true;
        pthread_cond_broadcast(&j->cv);
        pthread_mutex_unlock(&j->mu);
}

static void job_free(struct stor_ctx *x)
{
        struct stor_ssh *j = x->ssh;

        if (!j)
                return;
        ds_resolve_cancel(&j->rs, false);
        zloop_poller_end(x->d->loop, &(zmq_pollitem_t){ NULL, j->pipe[0], ZMQ_POLLIN, 0 });
        close(j->pipe[0]);
        close(j->pipe[1]);
        pthread_mutex_destroy(&j->mu);
        pthread_cond_destroy(&j->cv);
        ds_free_secret(j->password);
        free(j->buf);
        free(j->addr);
        free(j);
        x->ssh = NULL;
}

/* an operation ended: its result to the caller */
static int on_done(zloop_t *loop, zmq_pollitem_t *it, void *ud)
{
        struct stor_ctx *x = ud;
        struct stor_ssh *j = x->ssh;
        struct stor_op_result r;
        char c[16];

        (void)loop;
        if (!j || read(it->fd, c, sizeof c) < 0)
                return 0;
        pthread_mutex_lock(&j->mu);
        bool done = j->done, ended = j->ended;
        j->done = false;
        pthread_mutex_unlock(&j->mu);
        if (!done)
                return 0;
        r = j->res;
        free(x->buf);
        x->buf = j->buf;
        x->buf_len = j->buf_len;
        j->buf = NULL;
        j->buf_len = 0;
        if (j->req.kind == OP_PROBE)
                snprintf(x->offered, sizeof x->offered, "%s", j->offered);
        if (j->req.file[0]) {
                if (!j->md_ok)
                        x->md_inline = false;
                else if (x->md_inline)
                        x->md_done = j->md_done;
        }
        if (ended) {
                pthread_join(j->th, NULL);
                job_free(x);
        }
        x->op_done(x, &r);
        return 0;
}

/* libssh2 (and its OpenSSL engines) set up at the first connection, not
 * at start: an idle daemon, or one uploading over FTPS, does without */
static bool ssh_ready;

static int job_new(struct stor_ctx *x)
{
        struct stor_ssh *j;
        const struct stor_conf *c = &x->conf;

        if (!ssh_ready && libssh2_init(0))
                return -ENOMEM;
        ssh_ready = true;
        if (!(j = calloc(1, sizeof *j)))
                return -ENOMEM;
        j->sock = j->fd = -1;
        j->pipe[0] = j->pipe[1] = -1;
        pthread_mutex_init(&j->mu, NULL);
        pthread_cond_init(&j->cv, NULL);
        snprintf(j->host, sizeof j->host, "%s", c->url.host);
        snprintf(j->user, sizeof j->user, "%s", c->username);
        snprintf(j->pin, sizeof j->pin, "%s", x->pin);
        snprintf(j->key_path, sizeof j->key_path, "%s", x->key_path);
        snprintf(j->pub_path, sizeof j->pub_path, "%s", x->pub_path);
        snprintf(j->dir, sizeof j->dir, "%s", c->url.dir);
        j->port = c->url.port;
        j->timeout_s = c->timeout_s > 0 ? c->timeout_s : 30;
        j->password = strdup(x->password ? x->password : "");
        x->ssh = j;
        if (!j->password || pipe2(j->pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
            zloop_poller(x->d->loop, &(zmq_pollitem_t){ NULL, j->pipe[0], ZMQ_POLLIN, 0 }, on_done, x) < 0) {
                job_free(x);
                return -ENOMEM;
        }
        {
                struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
                char port[16];
                int r;

                snprintf(port, sizeof port, "%ld", j->port);
                r = ds_resolve_start(x->d->loop, j->host, port, &hints, (int)j->timeout_s * 1000, on_resolved, j,
                                     &j->rs);
                if (r < 0) { /* the thread fails its first operation naming the host */
                        j->resolved = true;
                        j->resolve_err = EAI_FAIL;
                }
        }
        if (pthread_create(&j->th, NULL, ssh_main, j)) {
                job_free(x);
                return -ENOMEM;
        }
        return 0;
}

int stor_ssh_op(struct stor_ctx *x, const struct stor_op *op)
{
        struct stor_ssh *j;
        struct ssh_req *q;

        if (op->ph == PH_PROBE)
                stor_ssh_close(x); /* the probe learns the key on a connection of its own */
        if (!x->ssh && job_new(x) < 0)
                return -ENOMEM;
        j = x->ssh;
        q = &j->req;
        *q = (struct ssh_req){ .ph = op->ph };
        q->kind = op->ph == PH_PROBE ? OP_PROBE : (op->mem || op->file) ? OP_PUT : op->get ? OP_GET : OP_LIST;
        snprintf(q->path, sizeof q->path, "%s%s%s", j->dir, op->name[0] ? "/" : "", op->name);
        if (op->rename_to)
                snprintf(q->rename_to, sizeof q->rename_to, "%s/%s", j->dir, op->rename_to);
        q->rename_checked = op->file != NULL;
        q->excl = op->excl;
        if (op->mem) {
                if (op->mem_len > sizeof q->mem)
                        return -ENOSPC;
                memcpy(q->mem, op->mem, op->mem_len);
                q->mem_len = op->mem_len;
        }
        if (op->file)
                snprintf(q->file, sizeof q->file, "%s", op->file);
        q->offset = op->offset;
        q->size = op->size;
        q->rate_kib_s = x->conf.rate_kib_s;
        q->md = op->file && x->md_inline ? x->md : NULL;
        pthread_mutex_lock(&j->mu);
        j->busy = true;
        j->done = false;
        pthread_cond_signal(&j->cv);
        pthread_mutex_unlock(&j->mu);
        x->phase = op->ph;
        return 0;
}

static void job_end(struct stor_ctx *x, bool cancel)
{
        struct stor_ssh *j = x->ssh;

        if (!j)
                return;
        /* no answer after this: the thread stops waiting for one (a daemon
         * stopping awaits a lookup glibc cannot cancel: its loop goes) */
        ds_resolve_cancel(&j->rs, x->d->stopping);
        pthread_mutex_lock(&j->mu);
        j->quit = true;
        if (cancel || j->busy || !j->resolved) {
                j->cancel = true;
                if (j->sock >= 0)
                        shutdown(j->sock, SHUT_RDWR);
        }
        pthread_cond_signal(&j->cv);
        pthread_mutex_unlock(&j->mu);
        pthread_join(j->th, NULL);
        job_free(x);
}

void stor_ssh_close(struct stor_ctx *x)
{
        job_end(x, false);
}

void stor_ssh_cancel(struct stor_ctx *x)
{
        job_end(x, true);
}

void stor_ssh_fini(void)
{
        if (ssh_ready)
                libssh2_exit();
        ssh_ready = false;
}
