/* authz.h - operator authorities (hierarchical account model) */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DS_AUTHZ_SYSTEM "system"
#define DS_AUTHZ_PLAYBACK "playback"
#define DS_AUTHZ_MONITOR "monitor"
#define DS_AUTHZ_MAINTENANCE "maintenance"
#define DS_AUTHZ_BACKUP "backup"
#define DS_AUTHZ_SECURITY "security"
#define DS_AUTHZ_CAMERA "camera"
#define DS_AUTHZ_NETWORK "network"
#define DS_AUTHZ_EVENT "event"
#define DS_AUTHZ_STORAGE "storage"
#define DS_AUTHZ_MANUAL_CONTROL "manual-control"
#define DS_AUTHZ_SYSTEM_INFO "system-info"
#define DS_AUTHZ_ACCOUNT "account"

/* Method authority markers: a method table entry must name one of these. */
#define AUTH_PUBLIC "public"   /* no session needed */
#define AUTH_SESSION "session" /* any logged-in operator */
#define AUTH_SERVICE "service" /* daemons only, as the bus ACL allows */
#define AUTH_NEEDS(a) DS_AUTHZ_##a
/* A set: the caller needs every authority named, joined by '+' ("account+security"). */
#define AUTH_NEEDS2(a, b) DS_AUTHZ_##a "+" DS_AUTHZ_##b
#define DS_AUTHZ_SET_MAX 160 /* longest set string a hello may carry */

extern const char *const ds_authorities[]; /* NULL-terminated, canonical order */
/* Bit of an authority name, or 0 when unknown. */
uint32_t ds_authz_bit(const char *name, size_t len);
uint32_t ds_authz_all(void);
/* Is a method authority string well-formed: one marker, or a '+'-joined set of
 * known authorities (each at most once)? */
bool ds_authz_valid(const char *auth);
/* The bits an authority set needs; 0 for a marker; -EINVAL when malformed. */
int ds_authz_mask(const char *auth, uint32_t *ret);
/* True when the authority string is one of the markers public/session/service. */
bool ds_authz_is_marker(const char *auth);
