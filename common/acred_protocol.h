/*
 * acred_protocol.h: how pam_acred.so talks to acred-helper. This is the one place where the
 * protocol is written down; both sides include it.
 *
 * The module runs `acred-helper pam` with a clean environment (PATH only), umask 077, default
 * signal dispositions and an empty signal mask, stderr on /dev/null and no other descriptor
 * than one end of a socketpair on fd 0 and fd 1. (A socketpair, not pipes, so that the module
 * writes with MSG_NOSIGNAL and a dead helper can never SIGPIPE the host process.)
 *
 * Both directions carry records, one per line:
 *
 *     KEYWORD SP VALUE LF
 *
 * VALUE is escaped: every byte below 0x20, 0x7f and '%' is written as %XX (two upper-case
 * hex digits); every other byte stands for itself. A record is at most ACRED_PROTO_MAX_RECORD
 * bytes, LF included; a longer one, an unknown keyword or a bad escape is a protocol error
 * and ends the exchange (the module then kills the helper and denies).
 *
 * 1. The module sends the request: `hello ACRED_PROTO_VERSION` first, then these records in
 *    any order, each at most once, and `go` (empty value) last:
 *        conf     path of the configuration file (always)
 *        op       auth | session-open | session-close (always)
 *        user     PAM_USER as it stands (always; auth: the user to authenticate)
 *        service, rhost, tty, ruser: the PAM items (may be empty)
 *        debug    0 or 1
 *        owner    session ops: whose credentials these are (the user who authenticated; for a
 *                 session without authentication, such as sudo within its timestamp, PAM_RUSER)
 *        session  session ops: ACRED_SESSION of the PAM environment, empty when there is none
 *        pid      session ops: the host process, so the helper can track open sessions
 *    op auth: authenticate user (prompts, token, role, credentials).
 *    op session-open with a session: register it. Without one: the owner's cached credentials
 *    for this session, when valid and when user (the target) is the owner or root.
 *    op session-close: unregister the session; the owner's files go with their last session.
 *
 * 2. The helper answers with records until `result`:
 *        format   kv | json: how the audit lines are written ([audit] format); sent first, once
 *                 the configuration is read (until then, and without it, kv)
 *        bound    N: seconds of its own work it may still need from now (the module caps it
 *                 at ACRED_BOUND_MAX; until it comes, ACRED_BOUND_START applies). Time spent in
 *                 the PAM conversation does not count against the bound.
 *        prompt-off TEXT / prompt-on TEXT: ask the person (echo off / on); the module answers
 *                 `answer TEXT`, or `conv-error` when the conversation failed. An answer of
 *                 more than ACRED_ANSWER_MAX bytes is cut to that length (it fits a record
 *                 whatever it holds), and the helper refuses any answer over 16 KiB.
 *        info TEXT / error TEXT: show a message (PAM_TEXT_INFO / PAM_ERROR_MSG).
 *        env NAME=VALUE: a variable for the session. The module exports it only when NAME is
 *                 in its compiled-in list, VALUE has no control character, and the result is
 *                 success.
 *        audit KEY VALUE: a field of the audit line (KEY one of ACRED_AUDIT_HELPER_KEYS).
 *        log  LEVEL TEXT: a line for syslog, LEVEL one of err, warning, info, debug (debug only
 *                 reaches syslog with the `debug` argument). Never a secret.
 *        result success | failure | ignored: the outcome; the helper exits after it.
 *
 * A helper that exits, closes the socket or breaks the protocol before `result` is a failure
 * with reason `helper_error`; one that outlives its bound is killed and the reason is `timeout`.
 */
#ifndef ACRED_PROTOCOL_H
#define ACRED_PROTOCOL_H

#define ACRED_PROTO_VERSION "1"
#define ACRED_PROTO_MAX_RECORD 65536
/* bytes of one answer the module forwards: one more than a token may have (16 KiB) */
#define ACRED_ANSWER_MAX 16385

/* seconds the module grants before the helper has declared its bound */
#define ACRED_BOUND_START 15
/* the most any helper may ask for, compiled in */
#define ACRED_BOUND_MAX 300

/* the audit fields that the helper may set, in the order the audit line carries them */
#define ACRED_AUDIT_HELPER_KEYS \
    "method", "sub", "jti", "role", "access_key_id", "expiration", "reason", "idp_code", \
    "request_id", "edas_code", "dsw_code", "session"

#endif
