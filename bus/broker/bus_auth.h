/* bus_auth.h - the key directory and busd's ZAP handler: CURVE key -> process identity */
#pragma once
#include <stdint.h>

#include "err.h"

typedef struct bus_keys bus_keys_t;

/* Loads every <dir>/\*.pub (czmq certificate files whose metadata carries
 * name = "<identity>"). A file without a name takes its file name. */
int bus_keys_load(const char *dir, bus_keys_t **ret, struct ds_err *e);
void bus_keys_destroy(bus_keys_t **k);
size_t bus_keys_count(const bus_keys_t *k);
/* Identity for a 32-byte public key, or NULL. */
const char *bus_keys_lookup(const bus_keys_t *k, const uint8_t pub[32]);
/* The same for the 64-hex-digit key of the ZAP metadata property X-Key. */
const char *bus_keys_lookup_hex(const bus_keys_t *k, const char *hex);

/* Answers one pending ZAP request on zap (a REP socket bound to
 * inproc://zeromq.zap.01). Returns 1 when accepted, 0 when refused, <0 on error. */
int bus_zap_handle(void *zap, const bus_keys_t *k);
