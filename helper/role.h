/*
 * role.h: which [role NAME] section a person gets. Every matcher present (users, groups,
 * claim) must match; a list matches when any item does; the first matching section in file
 * order wins, then default_role; no match is a denial.
 */
#ifndef ACRED_ROLE_H
#define ACRED_ROLE_H

#include <json-c/json.h>
#include "config.h"

/* the local groups of user, NULL-ended (free with acred_groups_free); NULL for no such user */
char **acred_user_groups(const char *user);
void acred_groups_free(char **groups);

/* the role for user (with its local groups and token claims), or NULL */
const struct acred_role *acred_role_select(const struct acred_config *cfg, const char *user,
                                           char *const *groups, json_object *claims);

#endif
