#include "acred_build.h"
#include "role.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

void acred_groups_free(char **groups)
{
    for (size_t i = 0; groups && groups[i]; i++)
        free(groups[i]);
    free(groups);
}

char **acred_user_groups(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (pw == NULL)
        return NULL;
    int n = 64;
    gid_t *gids = NULL;
    for (;;) {
        gid_t *grown = realloc(gids, sizeof(gid_t) * (size_t)n);
        if (grown == NULL) {
            free(gids);
            return NULL;
        }
        gids = grown;
        int want = n;
        if (getgrouplist(user, pw->pw_gid, gids, &want) >= 0) {
            n = want;
            break;
        }
        if (want <= n || want > 65536) {
            free(gids);
            return NULL;
        }
        n = want;
    }
    char **names = calloc((size_t)n + 1, sizeof(char *));
    size_t k = 0;
    for (int i = 0; names && i < n; i++) {
        struct group *g = getgrgid(gids[i]);
        if (g != NULL && (names[k] = strdup(g->gr_name)) != NULL)
            k++;
    }
    free(gids);
    return names;
}

static int list_has(const struct acred_list *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return 1;
    return 0;
}

static int groups_match(const struct acred_list *l, char *const *groups)
{
    for (size_t i = 0; groups && groups[i]; i++)
        if (list_has(l, groups[i]))
            return 1;
    return 0;
}

/* claims[name] equals value, or is an array holding it */
static int claim_match(json_object *claims, const char *name, const char *value)
{
    json_object *v;
    if (claims == NULL || !json_object_object_get_ex(claims, name, &v))
        return 0;
    if (json_object_is_type(v, json_type_string))
        return strcmp(json_object_get_string(v), value) == 0;
    if (!json_object_is_type(v, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *item = json_object_array_get_idx(v, i);
        if (json_object_is_type(item, json_type_string) &&
            strcmp(json_object_get_string(item), value) == 0)
            return 1;
    }
    return 0;
}

static int role_matches(const struct acred_role *r, const char *user, char *const *groups,
                        json_object *claims)
{
    if (!r->has_users && !r->has_groups && !r->has_claim)
        return 0; /* a section with no matcher is only reachable through default_role */
    if (r->has_users && !list_has(&r->users, user))
        return 0;
    if (r->has_groups && !groups_match(&r->groups, groups))
        return 0;
    if (r->has_claim && !claim_match(claims, r->claim_name, r->claim_value))
        return 0;
    return 1;
}

const struct acred_role *acred_role_select(const struct acred_config *cfg, const char *user,
                                           char *const *groups, json_object *claims)
{
    for (size_t i = 0; i < cfg->n_roles; i++)
        if (role_matches(&cfg->roles[i], user, groups, claims))
            return &cfg->roles[i];
    if (cfg->default_role && cfg->default_role[0])
        return acred_config_role(cfg, cfg->default_role);
    return NULL;
}
