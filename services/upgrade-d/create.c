/* create.c - writing a bundle from component directories (devsec-bundle) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bundle.h"
#include "state.h"
#include "util.h"

struct walk {
        struct bundle_component *c;
        const char *root;
        struct ds_err *e;
};

static int cmp_name(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int hash_fd(int fd, uint8_t out[32], uint64_t *ret_size)
{
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        uint8_t *buf = malloc(BUNDLE_BUF);
        uint64_t total = 0;
        unsigned hl;
        ssize_t n;
        int r = 0;

        if (!md || !buf || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
                r = -ENOMEM;
                goto out;
        }
        while ((n = read(fd, buf, BUNDLE_BUF)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        goto out;
                }
                EVP_DigestUpdate(md, buf, (size_t)n);
                total += (uint64_t)n;
        }
        EVP_DigestFinal_ex(md, out, &hl);
        *ret_size = total;
out:
        free(buf);
        EVP_MD_CTX_free(md);
        return r;
}

/* Regular files only, in name order so that a bundle is reproducible. */
static int walk_dir(struct walk *w, int dfd, const char *rel)
{
        DIR *d = fdopendir(dfd);
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        int r = 0;

        if (!d) {
                close(dfd);
                return ds_err_set(w->e, -errno, "component", "'%s/%s': %s", w->root, rel, strerror(errno));
        }
        while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                if (n == cap) {
                        char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
                        if (!nn) {
                                r = ds_err_set(w->e, -ENOMEM, NULL, "out of memory");
                                goto out;
                        }
                        names = nn;
                }
                if (!(names[n] = strdup(de->d_name))) {
                        r = ds_err_set(w->e, -ENOMEM, NULL, "out of memory");
                        goto out;
                }
                n++;
        }
        if (n)
                qsort(names, n, sizeof *names, cmp_name);
        for (size_t i = 0; i < n && r == 0; i++) {
                char path[BUNDLE_PATH_MAX + 2];
                const char *why;
                struct stat st;
                int fd;
                if (snprintf(path, sizeof path, "%s%s%s", rel, rel[0] ? "/" : "", names[i]) >= (int)sizeof path - 1) {
                        r = ds_err_set(w->e, -EINVAL, "component", "'%s/%s%s': path too long", w->root, rel, names[i]);
                        break;
                }
                if ((why = bundle_path_check(path))) {
                        r = ds_err_set(w->e, -EINVAL, "component", "'%s/%s': %s", w->root, path, why);
                        break;
                }
                fd = openat(dirfd(d), names[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
                if (fd < 0 || fstat(fd, &st) < 0) {
                        r = ds_err_set(w->e, -EINVAL, "component", "'%s/%s': %s (links are not bundled)", w->root, path,
                                       strerror(errno));
                        if (fd >= 0)
                                close(fd);
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        r = walk_dir(w, fd, path);
                        continue;
                }
                if (!S_ISREG(st.st_mode)) {
                        close(fd);
                        r = ds_err_set(w->e, -EINVAL, "component", "'%s/%s': not a regular file", w->root, path);
                        break;
                }
                if (w->c->n_files == BUNDLE_MAX_FILES) {
                        close(fd);
                        r = ds_err_set(w->e, -EINVAL, "component", "'%s': more than %u files", w->root, BUNDLE_MAX_FILES);
                        break;
                }
                struct bundle_file *f = &w->c->files[w->c->n_files];
                memset(f, 0, sizeof *f);
                memcpy(f->path, path, strlen(path) + 1); /* checked above: at most BUNDLE_PATH_MAX */
                f->mode = (st.st_mode & 0111) ? 0755 : 0644;
                r = hash_fd(fd, f->sha256, &f->size);
                close(fd);
                if (r < 0)
                        r = ds_err_set(w->e, r, "component", "read '%s/%s': %s", w->root, path, strerror(-r));
                else
                        w->c->n_files++;
        }
out:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        closedir(d);
        return r;
}

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

/* Copies one file into out, hashing again: a file changed since the manifest is refused. */
static int copy_file(const char *root, const struct bundle_file *f, int out, uint8_t *buf, struct ds_err *e)
{
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        char path[4096];
        uint8_t h[32];
        uint64_t total = 0;
        unsigned hl;
        ssize_t n;
        int fd = -1, r = 0;

        snprintf(path, sizeof path, "%s/%s", root, f->path);
        if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL) || (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                r = ds_err_set(e, -errno, "component", "'%s': %s", path, strerror(errno));
                goto out;
        }
        while ((n = read(fd, buf, BUNDLE_BUF)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || (r = state_write_all(out, buf, (size_t)n)) < 0) {
                        r = ds_err_set(e, n < 0 ? -errno : r, "out", "copying '%s' failed", path);
                        goto out;
                }
                EVP_DigestUpdate(md, buf, (size_t)n);
                total += (uint64_t)n;
        }
        EVP_DigestFinal_ex(md, h, &hl);
        if (total != f->size || memcmp(h, f->sha256, 32))
                r = ds_err_set(e, -EAGAIN, "component", "'%s' changed while the bundle was written", path);
out:
        if (fd >= 0)
                close(fd);
        EVP_MD_CTX_free(md);
        return r;
}

int bundle_create(const struct bundle_input *in, size_t n, int64_t bus_min, int64_t bus_max, const char *key_pem,
                  const char *cert_pem, const char *chain_pem, const char *out, struct ds_err *e)
{
        struct bundle_manifest m = { .format = BUNDLE_FORMAT, .bus_min = bus_min, .bus_max = bus_max };
        struct bundle_manifest check = { 0 };
        char *json = NULL, tmp[4096];
        uint8_t *sig = NULL, *buf = NULL, hdr[BUNDLE_HDR_LEN];
        size_t sig_len = 0, jlen;
        int fd = -1, r;

        if (n == 0 || n > BUNDLE_MAX_COMPONENTS)
                return ds_err_set(e, -EINVAL, "component", "1 to %u components", BUNDLE_MAX_COMPONENTS);
        ds_format_time(ds_now_real_ms(), m.created, sizeof m.created);
        if (!(m.comps = calloc(n, sizeof *m.comps)))
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        m.n_comps = n;
        for (size_t i = 0; i < n; i++) {
                struct bundle_component *c = &m.comps[i];
                struct walk w = { .c = c, .root = in[i].dir, .e = e };
                int dfd;
                snprintf(c->name, sizeof c->name, "%s", in[i].name);
                snprintf(c->version, sizeof c->version, "%s", in[i].version);
                c->security_version = in[i].security_version;
                if (!(c->files = calloc(BUNDLE_MAX_FILES, sizeof *c->files))) {
                        r = ds_err_set(e, -ENOMEM, NULL, "out of memory");
                        goto out;
                }
                if ((dfd = open(in[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
                        r = ds_err_set(e, -errno, "component", "'%s': %s", in[i].dir, strerror(errno));
                        goto out;
                }
                if ((r = walk_dir(&w, dfd, "")) < 0)
                        goto out;
        }
        if (!(json = bundle_manifest_dump(&m))) {
                r = ds_err_set(e, -ENOMEM, NULL, "out of memory");
                goto out;
        }
        jlen = strlen(json);
        /* what is signed must parse back under the reader's rules */
        if ((r = bundle_manifest_parse(json, jlen, 0, &check, e)) < 0)
                goto out;
        if ((r = bundle_sign(key_pem, cert_pem, chain_pem, json, jlen, &sig, &sig_len, e)) < 0)
                goto out;
        if (jlen > BUNDLE_MANIFEST_MAX || sig_len > BUNDLE_SIG_MAX) {
                r = ds_err_set(e, -E2BIG, "component", "manifest or signature too large");
                goto out;
        }
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", out, (int)getpid());
        if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0 || !(buf = malloc(BUNDLE_BUF))) {
                r = ds_err_set(e, -errno, "out", "'%s': %s", tmp, strerror(errno));
                goto out;
        }
        memcpy(hdr, BUNDLE_MAGIC, 8);
        put32(hdr + 8, BUNDLE_FORMAT);
        put32(hdr + 12, (uint32_t)jlen);
        put32(hdr + 16, (uint32_t)sig_len);
        if ((r = state_write_all(fd, hdr, sizeof hdr)) < 0 || (r = state_write_all(fd, json, jlen)) < 0 ||
            (r = state_write_all(fd, sig, sig_len)) < 0) {
                r = ds_err_set(e, r, "out", "write '%s': %s", tmp, strerror(-r));
                goto out;
        }
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < m.comps[i].n_files; k++)
                        if ((r = copy_file(in[i].dir, &m.comps[i].files[k], fd, buf, e)) < 0)
                                goto out;
        if (fsync(fd) < 0 || rename(tmp, out) < 0) {
                r = ds_err_set(e, -errno, "out", "'%s': %s", out, strerror(errno));
                goto out;
        }
        r = 0;
out:
        if (fd >= 0) {
                close(fd);
                if (r < 0)
                        unlink(tmp);
        }
        free(buf);
        free(sig);
        free(json);
        bundle_manifest_free(&check);
        bundle_manifest_free(&m);
        return r;
}
