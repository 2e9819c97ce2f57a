/* bus_acl.h - which process identity may serve, call, publish and subscribe what */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct bus_acl bus_acl_t;

/* Loads <confdir>/bus.acl and every <confdir>/bus.acl.d/\*.acl. Deny by default.
 * Errors name file:line. */
int bus_acl_load(const char *confdir, bus_acl_t **ret, struct ds_err *e);
/* Parses one file into acl (for tests). */
int bus_acl_load_file(bus_acl_t *acl, const char *path, struct ds_err *e);
bus_acl_t *bus_acl_new(void);
void bus_acl_destroy(bus_acl_t **acl);

/* Service names that some identity may serve (patterns without wildcards):
 * the services installed on this device. Calls fn for each. */
void bus_acl_each_service(const bus_acl_t *acl, void (*fn)(void *ud, const char *name), void *ud);
bool bus_acl_known(const bus_acl_t *acl, const char *id);
bool bus_acl_operator(const bus_acl_t *acl, const char *id);
/* A gateway (webd) is an operator-class identity that relays the sessions of
 * the people behind it: every call is theirs (no token, no rights beyond an
 * anonymous operator's), busd stamps it "gw", and only a gateway may say where
 * a login comes from (authd's front_ends). */
bool bus_acl_gateway(const bus_acl_t *acl, const char *id);
bool bus_acl_may_serve(const bus_acl_t *acl, const char *id, const char *service);
/* target is "service.method" */
bool bus_acl_may_call(const bus_acl_t *acl, const char *id, const char *target);
bool bus_acl_may_publish(const bus_acl_t *acl, const char *id, const char *topic);
bool bus_acl_may_subscribe(const bus_acl_t *acl, const char *id, const char *prefix);
/* Delivery of an event on topic to a subscriber identity: restricted topics
 * reach only identities that name them explicitly. */
bool bus_acl_may_receive(const bus_acl_t *acl, const char *id, const char *topic);

/* ---- topic authorities (operator subscriptions) ------------------------------
 * An operator (a human's tool, with a session) receives a topic only when its
 * session holds one of the authorities the topic's rule names. Rules are dotted
 * topic prefixes ("log" covers "log" and "log.*"); the longest rule that covers
 * a topic governs it; "" covers everything else. */

/* Whether bits satisfy the rule governing topic. */
bool bus_topic_allowed(const char *topic, uint32_t bits);
/* A subscription to a raw prefix must satisfy every rule that governs some
 * topic starting with it. 0 when bits do; -EPERM otherwise, with *missing
 * naming the first unsatisfied rule ("'security'", "'security' or 'account'")
 * and *rule its topic ("log.security", "" for the default). */
int bus_topic_sub_check(const char *prefix, uint32_t bits, char *missing, size_t missing_size, const char **rule);
