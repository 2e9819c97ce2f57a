/* bundle.h - devsec update bundles: format, manifest, CMS signature.
 *
 * A bundle is one file, read front to back:
 *
 *   "DSBUNDLE"            8 bytes magic
 *   u32 format            big endian, BUNDLE_FORMAT
 *   u32 manifest_len      <= BUNDLE_MANIFEST_MAX
 *   u32 signature_len     <= BUNDLE_SIG_MAX
 *   manifest              JSON (canonical: sorted keys, compact)
 *   signature             CMS SignedData (DER), detached, over the manifest bytes
 *   payload               every file's bytes, concatenated in manifest order
 *
 * and ends exactly after the last payload byte. There is no shell, no link,
 * no directory entry and no owner in it: a file is a relative path, a size, a
 * SHA-256 and a mode (0644 or 0755). The signature covers the manifest, the
 * manifest covers every payload byte; nothing is unpacked before both check,
 * and the payload is hashed again while it is written (the file may change
 * under the reader). Readers never hold more than one buffer of it. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "err.h"

#define BUNDLE_MAGIC "DSBUNDLE"
#define BUNDLE_FORMAT 1u
#define BUNDLE_HDR_LEN 20u
#define BUNDLE_MANIFEST_MAX (1u << 20)
#define BUNDLE_SIG_MAX (64u << 10)
#define BUNDLE_MAX_COMPONENTS 16u
#define BUNDLE_MAX_FILES 256u  /* per component */
#define BUNDLE_PATH_MAX 200u
#define BUNDLE_PATH_DEPTH 8u
#define BUNDLE_NAME_MAX 32u
#define BUNDLE_VERSION_MAX 32u
#define BUNDLE_FILE_MAX (1ull << 32) /* 4 GiB per payload file */
#define BUNDLE_BUF (256u << 10)      /* the one streaming buffer */

struct bundle_file {
        char path[BUNDLE_PATH_MAX + 1];
        uint64_t size;
        uint8_t sha256[32];
        unsigned mode; /* 0644 or 0755 */
        uint64_t offset; /* in the bundle file */
};

struct bundle_component {
        char name[BUNDLE_NAME_MAX + 1];
        char version[BUNDLE_VERSION_MAX + 1];
        uint64_t security_version;
        struct bundle_file *files;
        size_t n_files;
};

struct bundle_manifest {
        unsigned format;
        int64_t bus_min, bus_max; /* bus protocol majors the components speak */
        char created[40];
        struct bundle_component *comps;
        size_t n_comps;
        uint64_t payload_size;
};

/* A bundle opened and its signature and manifest verified (or, for inspect
 * without a trust store, only parsed). Caller owns: bundle_close(). */
struct bundle {
        int fd;
        uint64_t size; /* of the whole file, at open */
        uint64_t payload_off;
        struct bundle_manifest m;
        bool signature_checked;
        char signer[256]; /* subject of the signing certificate */
};

/* --- manifest.c: JSON manifest <-> struct, every rule checked ---------- */
/* Parses and validates; payload offsets computed from payload_off. Errors name
 * the field ("components[0].files[2].path"). */
int bundle_manifest_parse(const char *json, size_t len, uint64_t payload_off, struct bundle_manifest *ret,
                          struct ds_err *e);
/* Canonical JSON (sorted keys, compact): caller owns. */
char *bundle_manifest_dump(const struct bundle_manifest *m);
void bundle_manifest_free(struct bundle_manifest *m);
/* A relative path of [A-Za-z0-9._+-] segments: no '..', '.', empty segment,
 * leading '/', or more than BUNDLE_PATH_DEPTH segments. NULL or why not. */
const char *bundle_path_check(const char *p);
/* Dotted numeric versions ("1.0.1", at most 4 parts): NULL or why not. */
const char *bundle_version_check(const char *v);
/* <0, 0, >0 like strcmp; both must pass bundle_version_check(). */
int bundle_version_cmp(const char *a, const char *b);
const struct bundle_component *bundle_component_find(const struct bundle_manifest *m, const char *name);

/* --- cms.c: trust store, signing, verification ------------------------- */
/* Loads every *.pem under dir (certificates) as trust anchors. Caller owns. */
int bundle_trust_load(const char *dir, X509_STORE **ret, struct ds_err *e);
/* Signs data (detached CMS, DER); the signer must carry code signing in its
 * extended key usage. chain may be NULL. Caller owns *ret. */
int bundle_sign(const char *key_pem, const char *cert_pem, const char *chain_pem, const void *data, size_t len,
                uint8_t **ret, size_t *ret_len, struct ds_err *e);
/* Verifies sig over data against trust: chain, then the signer's extended
 * key usage must include code signing (S/MIME-only certificates refused). */
int bundle_verify_sig(X509_STORE *trust, const void *sig, size_t sig_len, const void *data, size_t len,
                      char *signer, size_t signer_size, struct ds_err *e);

/* --- bundle.c: reading ------------------------------------------------- */
/* Opens path, reads header, manifest and signature, verifies the signature
 * (trust NULL: not checked, for inspect only) and parses the manifest; the
 * file's size must be exactly what the manifest accounts for (-EINVAL
 * "truncated" / "trailing data"). */
int bundle_open(const char *path, X509_STORE *trust, struct bundle **ret, struct ds_err *e);
void bundle_close(struct bundle **b);
/* Streaming in steps, so that a daemon's loop is never busy for long: a
 * cursor over every payload file (verify) or over one component's files
 * written into a new directory (extract). */
struct bundle_cursor {
        const struct bundle_component *only; /* extract: its component */
        size_t comp, file;
        uint64_t off;
        bool open;
        EVP_MD_CTX *md;
        uint8_t *buf; /* BUNDLE_BUF */
        int root, out;
        char dir[4096];
};
int bundle_verify_begin(struct bundle *b, struct bundle_cursor *c, struct ds_err *e);
/* dir must not exist (created 0755). */
int bundle_extract_begin(struct bundle *b, const char *component, const char *dir, struct bundle_cursor *c,
                         struct ds_err *e);
/* Processes at least budget bytes (or to the end): 1 more to do, 0 done (an
 * extraction fsynced), or an error (an extraction's directory is removed). */
int bundle_step(struct bundle *b, struct bundle_cursor *c, uint64_t budget, struct ds_err *e);
/* Releases the cursor; remove: an unfinished extraction's directory too. */
void bundle_cursor_end(struct bundle_cursor *c, bool remove);
/* Streams every payload file through SHA-256 and compares. */
int bundle_verify_payload(struct bundle *b, struct ds_err *e);
/* Writes one component's files under dir (which must not exist; created 0755),
 * hashing while writing: on any mismatch the directory is removed again.
 * Files are fsynced, then the directory. */
int bundle_extract(struct bundle *b, const char *component, const char *dir, struct ds_err *e);

/* --- create.c: writing (devsec-bundle) --------------------------------- */
struct bundle_input {
        const char *name;
        const char *version;
        uint64_t security_version;
        const char *dir;
};
/* Walks each input dir (regular files only: a link, device or fifo is
 * refused), hashes, builds and signs the manifest, writes out (temp + rename),
 * checking each file again while copying it. */
int bundle_create(const struct bundle_input *in, size_t n, int64_t bus_min, int64_t bus_max, const char *key_pem,
                  const char *cert_pem, const char *chain_pem, const char *out, struct ds_err *e);
