/*
 * login.h: `acred-helper pam`, one authentication for pam_acred.so over the records of
 * acred_protocol.h: read the request, ask for the token, verify it, map the role, obtain the
 * STS credentials, and answer with the variables, the audit fields and the result.
 */
#ifndef ACRED_LOGIN_H
#define ACRED_LOGIN_H

#include <stddef.h>

#define ACRED_PIECE_MAX 500 /* characters a person pastes per prompt */

/* run one authentication on fd in (requests, answers) and fd out (records); exit status */
int acred_pam_main(int in, int out);

/*
 * Is text (what was entered so far) a whole token? A JWT (starts "eyJ") needs three parts and
 * a signature of its key's full length (expected_sig_len bytes; < 0: unknown, so whole once it
 * has three parts); anything else is whole when its last piece was shorter than ACRED_PIECE_MAX.
 */
int acred_token_complete(const char *text, size_t len, size_t last_piece, long expected_sig_len);

#endif
