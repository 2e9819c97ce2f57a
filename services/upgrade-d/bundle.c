/* bundle.c - reading a bundle: header, signature, manifest, then the payload
 * streamed through SHA-256 (verify) or into a new directory (extract) */
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

static uint32_t be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int pread_all(int fd, void *buf, size_t n, uint64_t off)
{
        char *p = buf;

        while (n) {
                ssize_t k = pread(fd, p, n, (off_t)off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ENODATA;
                p += k;
                n -= (size_t)k;
                off += (uint64_t)k;
        }
        return 0;
}

void bundle_close(struct bundle **pb)
{
        struct bundle *b = pb ? *pb : NULL;

        if (!b)
                return;
        if (b->fd >= 0)
                close(b->fd);
        bundle_manifest_free(&b->m);
        free(b);
        *pb = NULL;
}

int bundle_open(const char *path, X509_STORE *trust, struct bundle **ret, struct ds_err *e)
{
        struct bundle *b = calloc(1, sizeof *b);
        uint8_t hdr[BUNDLE_HDR_LEN];
        char *man = NULL;
        uint8_t *sig = NULL;
        uint32_t fmt, mlen, slen;
        struct stat st;
        int r;

        if (!b)
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        b->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (b->fd < 0) {
                r = ds_err_set(e, -errno, "file", "'%s': %s", path, strerror(errno));
                goto out;
        }
        if (fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                r = ds_err_set(e, -EINVAL, "file", "'%s' is not a regular file", path);
                goto out;
        }
        b->size = (uint64_t)st.st_size;
        if (pread_all(b->fd, hdr, sizeof hdr, 0) < 0 || memcmp(hdr, BUNDLE_MAGIC, 8)) {
                r = ds_err_set(e, -EINVAL, "file", "'%s' is not a devsec bundle (truncated or bad magic)", path);
                goto out;
        }
        fmt = be32(hdr + 8);
        mlen = be32(hdr + 12);
        slen = be32(hdr + 16);
        if (fmt != BUNDLE_FORMAT) {
                r = ds_err_set(e, -EINVAL, "format", "bundle format %u (this reader knows %u)", fmt, BUNDLE_FORMAT);
                goto out;
        }
        if (mlen == 0 || mlen > BUNDLE_MANIFEST_MAX || slen == 0 || slen > BUNDLE_SIG_MAX) {
                r = ds_err_set(e, -EINVAL, "file", "manifest or signature length out of range");
                goto out;
        }
        if (b->size < (uint64_t)BUNDLE_HDR_LEN + mlen + slen) {
                r = ds_err_set(e, -EINVAL, "file", "truncated: the file ends inside its manifest or signature");
                goto out;
        }
        if (!(man = malloc(mlen)) || !(sig = malloc(slen))) {
                r = ds_err_set(e, -ENOMEM, NULL, "out of memory");
                goto out;
        }
        if ((r = pread_all(b->fd, man, mlen, BUNDLE_HDR_LEN)) < 0 ||
            (r = pread_all(b->fd, sig, slen, BUNDLE_HDR_LEN + (uint64_t)mlen)) < 0) {
                r = ds_err_set(e, r, "file", "read: %s", strerror(-r));
                goto out;
        }
        b->payload_off = BUNDLE_HDR_LEN + (uint64_t)mlen + slen;
        /* the signature first: an unsigned manifest is not even parsed */
        if (trust) {
                if ((r = bundle_verify_sig(trust, sig, slen, man, mlen, b->signer, sizeof b->signer, e)) < 0)
                        goto out;
                b->signature_checked = true;
        }
        if ((r = bundle_manifest_parse(man, mlen, b->payload_off, &b->m, e)) < 0)
                goto out;
        if (b->size < b->payload_off + b->m.payload_size) {
                r = ds_err_set(e, -EINVAL, "file", "truncated: %" PRIu64 " of %" PRIu64 " payload bytes present",
                               b->size - b->payload_off, b->m.payload_size);
                goto out;
        }
        if (b->size > b->payload_off + b->m.payload_size) {
                r = ds_err_set(e, -EINVAL, "file", "%" PRIu64 " bytes of trailing data after the payload",
                               b->size - b->payload_off - b->m.payload_size);
                goto out;
        }
        *ret = b;
        b = NULL;
        r = 0;
out:
        free(man);
        free(sig);
        bundle_close(&b);
        return r;
}


/* Creates the parents of rel under root (rel passed bundle_path_check()). */
static int mkparents(int root, const char *rel)
{
        char p[BUNDLE_PATH_MAX + 1];

        snprintf(p, sizeof p, "%s", rel);
        for (char *s = p; (s = strchr(s, '/')); s++) {
                *s = '\0';
                if (mkdirat(root, p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                /* whatever the umask: other services' users read their versions */
                if (fchmodat(root, p, 0755, 0) < 0)
                        return -errno;
                *s = '/';
        }
        return 0;
}

void bundle_cursor_end(struct bundle_cursor *c, bool remove)
{
        EVP_MD_CTX_free(c->md);
        free(c->buf);
        if (c->out >= 0)
                close(c->out);
        if (c->root >= 0)
                close(c->root);
        if (remove && c->dir[0])
                state_remove_tree(AT_FDCWD, c->dir);
        memset(c, 0, sizeof *c);
        c->out = c->root = -1;
}

static int cursor_init(struct bundle_cursor *c, struct ds_err *e)
{
        memset(c, 0, sizeof *c);
        c->out = c->root = -1;
        if (!(c->buf = malloc(BUNDLE_BUF)) || !(c->md = EVP_MD_CTX_new())) {
                bundle_cursor_end(c, false);
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        }
        return 0;
}

int bundle_verify_begin(struct bundle *b, struct bundle_cursor *c, struct ds_err *e)
{
        (void)b;
        return cursor_init(c, e);
}

int bundle_extract_begin(struct bundle *b, const char *component, const char *dir, struct bundle_cursor *c,
                         struct ds_err *e)
{
        const struct bundle_component *comp = bundle_component_find(&b->m, component);
        int r;

        if (!comp)
                return ds_err_set(e, -ENOENT, "component", "the bundle has no component '%s'", component);
        if (strlen(dir) >= sizeof c->dir)
                return ds_err_set(e, -ENAMETOOLONG, "dir", "'%s': too long", dir);
        if ((r = cursor_init(c, e)) < 0)
                return r;
        c->only = comp;
        if (mkdir(dir, 0755) < 0 || chmod(dir, 0755) < 0) {
                r = ds_err_set(e, -errno, "dir", "'%s': %s", dir, strerror(errno));
                bundle_cursor_end(c, false);
                return r;
        }
        snprintf(c->dir, sizeof c->dir, "%s", dir);
        if ((c->root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                r = ds_err_set(e, -errno, "dir", "'%s': %s", dir, strerror(errno));
                bundle_cursor_end(c, true);
                return r;
        }
        return 0;
}

/* A file starts: its digest, and for an extraction its new file. */
static int file_begin(struct bundle *b, struct bundle_cursor *c, const struct bundle_file *f, struct ds_err *e)
{
        int r;

        if (!EVP_DigestInit_ex(c->md, EVP_sha256(), NULL))
                return ds_err_set(e, -ENOMEM, NULL, "out of memory");
        posix_fadvise(b->fd, (off_t)f->offset, (off_t)f->size, POSIX_FADV_SEQUENTIAL);
        if (c->root >= 0) {
                if ((r = mkparents(c->root, f->path)) < 0)
                        return ds_err_set(e, r, "dir", "'%s/%s': %s", c->dir, f->path, strerror(-r));
                c->out = openat(c->root, f->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (c->out < 0)
                        return ds_err_set(e, -errno, "dir", "'%s/%s': %s", c->dir, f->path, strerror(errno));
        }
        c->open = true;
        return 0;
}

static int file_end(struct bundle_cursor *c, const struct bundle_file *f, const char *comp, struct ds_err *e)
{
        uint8_t h[32];
        unsigned hl = 0;

        EVP_DigestFinal_ex(c->md, h, &hl);
        c->open = false;
        if (hl != 32 || CRYPTO_memcmp(h, f->sha256, 32))
                return ds_err_set(e, -EINVAL, "sha256", "'%s/%s' does not match its SHA-256 in the manifest", comp, f->path);
        if (c->out >= 0) {
                int r = 0;
                if (fchmod(c->out, f->mode) < 0 || fsync(c->out) < 0)
                        r = ds_err_set(e, -errno, "dir", "'%s/%s': %s", c->dir, f->path, strerror(errno));
                close(c->out);
                c->out = -1;
                return r;
        }
        return 0;
}

int bundle_step(struct bundle *b, struct bundle_cursor *c, uint64_t budget, struct ds_err *e)
{
        int r = 0;

        while (r == 0) {
                const struct bundle_component *comp = c->only ? c->only : c->comp < b->m.n_comps ? &b->m.comps[c->comp] : NULL;
                const struct bundle_file *f;
                if (!comp)
                        return 0; /* every file of the bundle verified */
                if (c->file == comp->n_files) {
                        if (c->only) {
                                if (fsync(c->root) < 0)
                                        r = ds_err_set(e, -errno, "dir", "fsync '%s': %s", c->dir, strerror(errno));
                                break;
                        }
                        c->comp++;
                        c->file = 0;
                        continue;
                }
                if (budget == 0)
                        return 1;
                f = &comp->files[c->file];
                if (!c->open && (r = file_begin(b, c, f, e)) < 0)
                        break;
                if (c->off < f->size) {
                        uint64_t left = f->size - c->off;
                        size_t n = left < BUNDLE_BUF ? (size_t)left : BUNDLE_BUF;
                        if (pread_all(b->fd, c->buf, n, f->offset + c->off) < 0) {
                                r = ds_err_set(e, -EINVAL, "file", "truncated inside '%s/%s'", comp->name, f->path);
                                break;
                        }
                        EVP_DigestUpdate(c->md, c->buf, n);
                        if (c->out >= 0 && (r = state_write_all(c->out, c->buf, n)) < 0) {
                                r = ds_err_set(e, r, "dir", "write '%s/%s': %s", comp->name, f->path, strerror(-r));
                                break;
                        }
                        c->off += n;
                        budget = budget > n ? budget - n : 0;
                        continue;
                }
                if ((r = file_end(c, f, comp->name, e)) < 0)
                        break;
                c->off = 0;
                c->file++;
        }
        if (r < 0 && c->root >= 0) {
                /* nothing half-written stays */
                if (c->out >= 0)
                        close(c->out);
                c->out = -1;
                close(c->root);
                c->root = -1;
                state_remove_tree(AT_FDCWD, c->dir);
                c->dir[0] = '\0';
        }
        return r;
}

int bundle_verify_payload(struct bundle *b, struct ds_err *e)
{
        struct bundle_cursor c;
        int r;

        if ((r = bundle_verify_begin(b, &c, e)) < 0)
                return r;
        while ((r = bundle_step(b, &c, UINT64_MAX, e)) > 0)
                ;
        bundle_cursor_end(&c, false);
        return r;
}

int bundle_extract(struct bundle *b, const char *component, const char *dir, struct ds_err *e)
{
        struct bundle_cursor c;
        int r;

        if ((r = bundle_extract_begin(b, component, dir, &c, e)) < 0)
                return r;
        while ((r = bundle_step(b, &c, UINT64_MAX, e)) > 0)
                ;
        bundle_cursor_end(&c, false);
        return r;
}
