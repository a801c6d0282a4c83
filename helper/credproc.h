/*
 * credproc.h: `acred-helper credential-process`, run by the aliyun CLI (External mode) as the
 * user: print the user's current STS credentials as
 *   {"mode":"StsToken","access_key_id":...,"access_key_secret":...,"sts_token":...,"expiration":...}
 * serving the cached ones while they are valid and refreshing through obtainAccessCredential
 * while the IdP token (or a device login's refresh token) still is; each refresh logs
 * event=refresh at authpriv. Exit 0 with credentials, 1 when a new login is needed.
 */
#ifndef ACRED_CREDPROC_H
#define ACRED_CREDPROC_H

/* conf: the configuration (NULL: the one the login used) */
int acred_credential_process(const char *conf);

#endif
