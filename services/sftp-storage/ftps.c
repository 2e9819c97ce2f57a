/* ftps.c - the explicit FTPS fallback: one remote operation at a time with
 * libcurl's multi interface in the daemon's zloop (TLS required,
 * CURLUSESSL_ALL, and verified). libcurl is initialised only when the first
 * FTPS operation starts: a device uploading over SFTP never pays for it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curl_loop.h"
#include "log.h"
#include "sftp.h"
#include "util.h"

static void check_done(void *ud);

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
        struct stor_ctx *x = ud;
        size_t n = size * nmemb;
        char *nb;

        if (x->buf_len + n > STOR_LIST_MAX)
                return 0; /* aborts: a listing this large is not ours */
        if (!(nb = realloc(x->buf, x->buf_len + n + 1)))
                return 0;
        x->buf = nb;
        memcpy(x->buf + x->buf_len, p, n);
        x->buf_len += n;
        x->buf[x->buf_len] = 0;
        return n;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *ud)
{
        struct stor_ctx *x = ud;
        size_t n = size * nmemb;

        if (x->up_mem) {
                size_t left = x->up_mem_len - x->up_mem_off;
                if (n > left)
                        n = left;
                memcpy(p, x->up_mem + x->up_mem_off, n);
                x->up_mem_off += n;
                return n;
        }
        ssize_t r = read(x->up_fd, p, n);
        if (r < 0)
                return CURL_READFUNC_ABORT;
        if (x->md_inline && r > 0) {
                if (EVP_DigestUpdate(x->md, p, (size_t)r) == 1)
                        x->md_done += (uint64_t)r;
                else
                        x->md_inline = false;
        }
        return (size_t)r;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
        struct stor_ctx *x = ud;

        if (x->up_mem || origin != SEEK_SET)
                return CURL_SEEKFUNC_CANTSEEK;
        if ((uint64_t)off != x->md_done)
                x->md_inline = false; /* rewound: the sum is read again afterwards */
        return lseek(x->up_fd, (off_t)off, SEEK_SET) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK;
}

static int curl_ready(struct stor_ctx *x)
{
        if (x->curl_on)
                return 0;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        if (ds_curl_loop_init(&x->curl, &x->d->loop, check_done, x) < 0) {
                curl_global_cleanup();
                return -ENOMEM;
        }
        x->curl_on = true;
        return 0;
}

void stor_curl_clear(struct stor_ctx *x)
{
        if (x->easy) {
                curl_multi_remove_handle(x->curl.multi, x->easy);
                curl_easy_cleanup(x->easy);
                x->easy = NULL;
        }
        x->up_mem = NULL;
        if (x->up_fd >= 0)
                close(x->up_fd);
        x->up_fd = -1;
        curl_slist_free_all(x->quote);
        curl_slist_free_all(x->postquote);
        x->quote = x->postquote = NULL;
        x->errbuf[0] = 0;
}

void stor_curl_fini(struct stor_ctx *x)
{
        stor_curl_clear(x);
        if (!x->curl_on)
                return;
        ds_curl_loop_fini(&x->curl);
        curl_global_cleanup();
        x->curl_on = false;
}

static struct curl_slist *rename_cmds(const char *dir, const char *from, const char *to)
{
        char cmd[2600];
        struct curl_slist *l;

        snprintf(cmd, sizeof cmd, "RNFR %s/%s", dir, from);
        l = curl_slist_append(NULL, cmd);
        snprintf(cmd, sizeof cmd, "RNTO %s/%s", dir, to);
        return l ? curl_slist_append(l, cmd) : NULL;
}

int stor_curl_op(struct stor_ctx *x, const struct stor_op *op)
{
        const struct stor_conf *c = &x->conf;
        char url[1600], cmd[2600];
        CURL *e;

        if (curl_ready(x) < 0)
                return -ENOMEM;
        snprintf(url, sizeof url, "ftp://%s:%ld%s/%s", c->url.host, c->url.port, c->url.dir, op->name);
        if (!(e = curl_easy_init()))
                return -ENOMEM;
        x->easy = e;
        x->phase = op->ph;
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "ftp");
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)c->timeout_s);
        /* a large upload takes long: abort only when it stalls */
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)c->timeout_s);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
        curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(e, CURLOPT_USERNAME, c->username);
        if (x->password && x->password[0])
                curl_easy_setopt(e, CURLOPT_PASSWORD, x->password);
        curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
        curl_easy_setopt(e, CURLOPT_FTP_SSL_CCC, (long)CURLFTPSSL_CCC_NONE);
        if (c->ca_file[0])
                curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
        /* the marker and the temporary names are dot files, which an FTP
         * server's plain LIST hides (vsftpd, proftpd) */
        if (!op->name[0])
                curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "LIST -a");
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(e, CURLOPT_SEEKDATA, x);
        if (op->mem) {
                x->up_mem = op->mem;
                x->up_mem_len = op->mem_len;
                x->up_mem_off = 0;
                curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)op->mem_len);
        } else if (op->file) {
                if ((x->up_fd = open(op->file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
                        return -EIO;
                if (op->del_first) {
                        snprintf(cmd, sizeof cmd, "DELE %s/%s", c->url.dir, op->name);
                        x->quote = curl_slist_append(NULL, cmd);
                        curl_easy_setopt(e, CURLOPT_QUOTE, x->quote);
                }
                if (op->offset) {
                        curl_easy_setopt(e, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)op->offset);
                        curl_easy_setopt(e, CURLOPT_APPEND, 1L);
                }
                curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)op->size);
                curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, STOR_UPLOAD_BUFFER);
                if (c->rate_kib_s)
                        curl_easy_setopt(e, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)c->rate_kib_s * 1024);
        }
        /* the final name was absent in the listing just before; RNTO is
         * rename(2) on most servers (vsftpd): a name created in between is
         * replaced, unlike SFTP's rename (link + unlink). For the file, its
         * final size check then decides */
        if (op->rename_to) {
                x->postquote = rename_cmds(c->url.dir, op->name, op->rename_to);
                curl_easy_setopt(e, CURLOPT_POSTQUOTE, x->postquote);
        }
        if (curl_multi_add_handle(x->curl.multi, e) != CURLM_OK)
                return -ENOMEM;
        return 0;
}

/* the curl loop's callback: curl made progress */
static void check_done(void *ud)
{
        struct stor_ctx *x = ud;
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(x->curl.multi, &left))) {
                if (m->msg != CURLMSG_DONE || m->easy_handle != x->easy)
                        continue;
                CURLcode res = m->data.result;
                struct stor_op_result r = { 0 };
                /* a refused rename of the file is checked like a success:
                 * the final name either is ours with the right size or not */
                if (res != CURLE_OK && !(x->phase == PH_UP_PUT && res == CURLE_QUOTE_ERROR)) {
                        r.rc = -1;
                        r.peer_refused = res == CURLE_PEER_FAILED_VERIFICATION;
                        snprintf(r.why, sizeof r.why, "%.60s%s%.120s", curl_easy_strerror(res),
                                 x->errbuf[0] ? ": " : "", x->errbuf);
                }
                stor_curl_clear(x);
                x->op_done(x, &r);
                break;
        }
}
