/* util.h - small helpers: clocks, encodings, randomness */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t ds_now_mono_ms(void);
int64_t ds_now_real_ms(void);
/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into buf (at least 32 bytes). */
void ds_format_time(int64_t real_ms, char *buf, size_t size);
/* Parses ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS[Z]" into ms since the epoch. */
int ds_parse_time(const char *s, int64_t *ret_ms);
/* Parses a duration "90", "30s", "15m", "2h", "7d" into seconds. */
int ds_parse_duration(const char *s, int64_t *ret_s);

/* Fills buf with cryptographically strong random bytes. */
void ds_random(void *buf, size_t n);
/* base64url without padding; out must hold ds_b64url_len(n) bytes. */
size_t ds_b64url_len(size_t n);
void ds_b64url(const void *in, size_t n, char *out);
void ds_hex(const void *in, size_t n, char *out); /* out: 2n+1 */
/* Constant-time comparison. */
bool ds_memeq(const void *a, const void *b, size_t n);
/* Wipes and frees a NUL-terminated secret. */
void ds_free_secret(char *s);
/* Blocks SIGTERM, SIGINT and SIGHUP (before any thread exists), ignores
 * SIGPIPE, and returns a signalfd for them (-errno on failure). */
int ds_signalfd_open(void);
/* strdup that returns NULL for NULL. */
char *ds_strdup0(const char *s);
