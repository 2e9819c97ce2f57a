/* backup.h - the device backup file. A clear header (magic, format version,
 * KDF parameters, what the caller puts in: device, services and versions,
 * creation time), then the payload in a libsodium secretstream
 * (XChaCha20-Poly1305) under a key Argon2id derives from a passphrase. The
 * header is the first chunk's additional data, so it is authenticated too;
 * the last chunk carries TAG_FINAL, so a truncated file is refused. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "mp.h"

#define DS_BACKUP_MAGIC      "DSBACKUP"
#define DS_BACKUP_MAJOR      1
#define DS_BACKUP_MINOR      0
#define DS_BACKUP_MAX_SIZE   (64u << 20)
#define DS_BACKUP_HEADER_MAX (64u << 10)

struct ds_backup_kdf {
        uint64_t ops;
        uint64_t mem; /* bytes */
};
/* Argon2id's interactive parameters (libsodium's): a second or less here. */
extern const struct ds_backup_kdf ds_backup_kdf_default;

struct ds_backup {
        char *file; /* the whole file */
        size_t file_len;
        msgpack_unpacked hdr; /* .data: the header map */
        bool have_hdr;
        int major, minor;
        unsigned char *data; /* the payload, once decrypted (wiped on free) */
        size_t len;
};

/* Writes path atomically (0600): the header is meta's entries (a finished
 * msgpack map) with format and kdf added; data encrypted under pass.
 * 0 or -errno with why. */
int ds_backup_write(const char *path, const void *meta, size_t meta_len, const void *data, size_t len, const char *pass,
                    const struct ds_backup_kdf *kdf, char *why, size_t why_size);
/* Reads path and its header: magic, a format major this code reads (a newer
 * one: -EPROTONOSUPPORT naming it). Nothing decrypted yet. */
int ds_backup_open(const char *path, struct ds_backup *ret, char *why, size_t why_size);
/* Derives the key and decrypts and authenticates the whole file into
 * b->data: -EKEYREJECTED (wrong passphrase, or the header or first chunk
 * altered), -EBADMSG (a later chunk altered, trailing bytes), -ENODATA
 * (truncated: no final chunk). */
int ds_backup_decrypt(struct ds_backup *b, const char *pass, char *why, size_t why_size);
void ds_backup_free(struct ds_backup *b);
