/*
 * reason.h: why a login failed. Each reason is one word of the audit line's `reason` field; the
 * list is documented for auditors (README, man page). Keep the words stable.
 */
#ifndef ACRED_REASON_H
#define ACRED_REASON_H

#define ACRED_REASONS(X)                                                                     \
    X(ACRED_OK, "ok")                                                                        \
    X(ACRED_R_TOKEN_EXPIRED, "token_expired")             /* exp is past (beyond leeway) */  \
    X(ACRED_R_TOKEN_NOT_YET_VALID, "token_not_yet_valid") /* nbf or iat in the future */     \
    X(ACRED_R_BAD_SIGNATURE, "bad_signature")             /* signature does not verify */    \
    X(ACRED_R_BAD_ALGORITHM, "bad_algorithm")             /* alg other than RS256/ES256 */   \
    X(ACRED_R_UNKNOWN_KEY, "unknown_key")                 /* no JWKS key for kid/alg */      \
    X(ACRED_R_BAD_ISSUER, "bad_issuer")                                                      \
    X(ACRED_R_BAD_AUDIENCE, "bad_audience")                                                  \
    X(ACRED_R_MISSING_SCOPE, "missing_scope")                                                \
    X(ACRED_R_USER_MISMATCH, "user_mismatch")             /* username_claim is not PAM_USER */ \
    X(ACRED_R_MALFORMED_TOKEN, "malformed_token")                                            \
    X(ACRED_R_TOKEN_TOO_OLD, "token_too_old")             /* iat older than max_token_age */ \
    X(ACRED_R_NO_ROLE, "no_role")                                                            \
    X(ACRED_R_IDP_DENIED, "idp_denied")                   /* the IdP answered 4xx */         \
    X(ACRED_R_IDP_UNAVAILABLE, "idp_unavailable")         /* refused, unreachable, 5xx */    \
    X(ACRED_R_IDP_BAD_RESPONSE, "idp_bad_response")       /* an answer we cannot parse */    \
    X(ACRED_R_TLS_ERROR, "tls_error")                     /* certificate or TLS failure */   \
    X(ACRED_R_TIMEOUT, "timeout")                                                            \
    X(ACRED_R_DEVICE_DENIED, "device_denied")                                                \
    X(ACRED_R_DEVICE_EXPIRED, "device_expired")                                              \
    X(ACRED_R_CONFIG_ERROR, "config_error")                                                  \
    X(ACRED_R_UNKNOWN_USER, "unknown_user")                                                  \
    X(ACRED_R_UID_REFUSED, "uid_refused")                                                    \
    X(ACRED_R_CONV_ERROR, "conv_error")                   /* the conversation failed */      \
    X(ACRED_R_CREDENTIALS_EXPIRED, "credentials_expired") /* cached ones, past their time */ \
    X(ACRED_R_RATE_LIMITED, "rate_limited")               /* too many device-code logins */  \
    X(ACRED_R_HELPER_ERROR, "helper_error")               /* internal failure */         \
    X(ACRED_R_EDAS_ERROR, "edas_error")      /* [edas] required = yes, GetSecureToken failed */ \
    X(ACRED_R_DSW_ERROR, "dsw_error")        /* [dsw] required = yes, GetToken failed */

#define ACRED_REASON_ENUM(name, word) name,
enum acred_reason { ACRED_REASONS(ACRED_REASON_ENUM) ACRED_REASON_COUNT };
#undef ACRED_REASON_ENUM

/* the audit word of r */
const char *acred_reason_word(enum acred_reason r);

#endif
