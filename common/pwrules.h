/* pwrules.h - the pure password rules (length, characters, classes, the user
 * name, sequences, repeats): authd's policy and every other secret an
 * operator chooses (SNMP and Wi-Fi passphrases in netcfgd) pass the same ones */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct pw_rules {
        int min_len, max_len; /* characters (UTF-8 code points) */
        bool composition;     /* classes, forbidden characters, runs */
};

/* NULL when pw passes every rule for user (NULL or "": no user rule); else
 * the failed rule's name ("length", "characters", "classes", "username",
 * "sequence", "repeat") with why a sentence for the operator. */
const char *pw_rules_check(const struct pw_rules *p, const char *user, const char *pw, char *why, size_t why_size);
