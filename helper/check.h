/*
 * check.h: `acred-helper check [--conf PATH]`, the operator's look at a configuration before a
 * login fails: the file and its permissions, the helper's own, the CA bundle, the issuer
 * (reachability, discovery, JWKS, clock skew), the developer API, the role sections, EDAS and
 * DSW. One finding per line, "ok   ...", "warn ..." or "FAIL ...".
 */
#ifndef ACRED_CHECK_H
#define ACRED_CHECK_H

#define ACRED_CHECK_OK 0    /* a login could work (warnings allowed) */
#define ACRED_CHECK_FAIL 1  /* at least one FAIL: a login cannot work */
#define ACRED_CHECK_USAGE 2 /* bad options */

/*
 * argv[0] is "check"; the options follow. default_conf is used without --conf. Prints the
 * findings on stdout (usage errors on stderr) and returns one of ACRED_CHECK_*. The caller has
 * called curl_global_init.
 */
int acred_check_command(int argc, char **argv, const char *default_conf);

#endif
