/*
 * acred-mint: print a signed JWT (compact JWS) on stdout, for the pam_acred tests.
 *
 *   acred-mint --key PEM --kid KID [--alg ALG] --claims JSON [--header JSON] [--pad N]
 *              [--raw-header TEXT] [--raw-claims TEXT]
 *
 * ALG: RS256 RS384 RS512 PS256 ES256 ES384 HS256 HS384 HS512 none. Without --alg it follows
 * the key: RSA -> RS256, EC P-256 -> ES256 (P-384 -> ES384).
 *   - RS*, PS*: --key is an RSA private key (PEM); ES*: an EC private key, and the signature is
 *     JOSE's raw r||s (each zero-padded to the curve size), not DER.
 *   - HS*: HMAC with the raw bytes of the --key file as the secret (any file: the classic
 *     "RSA public key used as an HMAC secret" attack is `--alg HS256 --key rsa_pub.pem`).
 *   - none: no signature (the third part is empty); --key is not needed.
 * The header is {"alg":ALG,"typ":"JWT","kid":KID} (no kid when --kid is absent), then the
 * members of --header are merged over it; a member whose value is null is removed instead.
 * --claims is a JSON object; for "exp", "nbf" and "iat" a string "+N" or "-N" becomes the
 * number now+N / now-N (any other value is copied as is). --pad N adds "pad": N times 'x'.
 * --raw-header / --raw-claims give the exact bytes of that part (then encoded as is; JSON
 * processing and --pad do not apply to it), to craft malformed tokens.
 * JSON and TEXT arguments may be @FILE to read them from FILE.
 *
 * Exit status: 0 printed a token, 1 runtime error (unreadable key, OpenSSL failure),
 * 2 bad usage (unknown option, bad JSON, key that does not fit the algorithm...).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#define EXIT_USAGE 2
#define MAX_FILE (4 * 1024 * 1024)
#define MAX_PAD (16 * 1024 * 1024)

enum kind { K_NONE, K_RSA, K_PSS, K_EC, K_HMAC };

struct alg {
    const char *name;
    enum kind kind;
    const char *md; /* digest name */
};

static const struct alg algs[] = {
    { "RS256", K_RSA, "SHA256" },  { "RS384", K_RSA, "SHA384" },  { "RS512", K_RSA, "SHA512" },
    { "PS256", K_PSS, "SHA256" },  { "ES256", K_EC, "SHA256" },   { "ES384", K_EC, "SHA384" },
    { "HS256", K_HMAC, "SHA256" }, { "HS384", K_HMAC, "SHA384" }, { "HS512", K_HMAC, "SHA512" },
    { "none", K_NONE, NULL },
};

struct opts {
    const char *key;
    const char *kid;
    const char *alg;
    const char *claims;
    const char *header;
    const char *raw_header;
    const char *raw_claims;
    long pad;
};

struct buf {
    unsigned char *p;
    size_t n;
};

static const char *progname = "acred-mint";

/* everything main allocates, freed at exit whatever the path (also after die_usage) */
static struct {
    EVP_PKEY *pkey;
    json_object *header, *claims;
    char *h64, *p64, *input, *s64;
    struct buf sig;
} res;

static void free_resources(void)
{
    EVP_PKEY_free(res.pkey);
    json_object_put(res.header);
    json_object_put(res.claims);
    free(res.h64);
    free(res.p64);
    free(res.input);
    free(res.s64);
    free(res.sig.p);
    memset(&res, 0, sizeof res);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s --key PEM --kid KID [--alg RS256|ES256|PS256|RS384|RS512|ES384|"
            "HS256|HS384|HS512|none]\n"
            "       --claims JSON [--header JSON] [--pad N] [--raw-header TEXT] "
            "[--raw-claims TEXT]\n"
            "  JSON/TEXT may be @FILE. In --claims, \"exp\"/\"nbf\"/\"iat\": \"+N\"/\"-N\" mean "
            "now+N/now-N.\n"
            "  --header members are merged over {\"alg\",\"typ\":\"JWT\",\"kid\"}; null "
            "removes one.\n"
            "  HS*: the raw bytes of the --key file are the HMAC secret. none: no signature.\n",
            progname);
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    usage(stderr);
    exit(EXIT_USAGE);
}

static void warn_ssl(const char *what)
{
    unsigned long e;

    fprintf(stderr, "%s: %s failed\n", progname, what);
    while ((e = ERR_get_error()) != 0) {
        char b[256];

        ERR_error_string_n(e, b, sizeof b);
        fprintf(stderr, "  %s\n", b);
    }
}

/* the whole file (NUL-terminated too, not counted in n); -1 on error with errno */
static int read_file(const char *path, struct buf *out)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p = NULL;
    size_t n = 0, cap = 0;

    out->p = NULL;
    out->n = 0;
    if (f == NULL)
        return -1;
    for (;;) {
        size_t r;

        if (cap - n < 4096) {
            unsigned char *q;

            if (cap >= MAX_FILE) {
                free(p);
                fclose(f);
                errno = EFBIG;
                return -1;
            }
            cap = cap ? cap * 2 : 8192;
            q = realloc(p, cap + 1);
            if (q == NULL) {
                free(p);
                fclose(f);
                errno = ENOMEM;
                return -1;
            }
            p = q;
        }
        r = fread(p + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(p);
        fclose(f);
        errno = EIO;
        return -1;
    }
    fclose(f);
    p[n] = '\0';
    out->p = p;
    out->n = n;
    return 0;
}

/* an argument, or the contents of @FILE (malloc'd) */
static char *arg_text(const char *arg, const char *opt, size_t *len)
{
    if (arg[0] == '@') {
        struct buf b;

        if (read_file(arg + 1, &b) != 0)
            die_usage("%s: cannot read %s: %s", opt, arg + 1, strerror(errno));
        *len = b.n;
        return (char *)b.p;
    }
    *len = strlen(arg);
    {
        char *s = strdup(arg);

        if (s == NULL) {
            fprintf(stderr, "%s: out of memory\n", progname);
            exit(1);
        }
        return s;
    }
}

/* parse a JSON object from an argument; exits on error */
static json_object *arg_object(const char *arg, const char *opt)
{
    size_t len;
    char *text = arg_text(arg, opt, &len);
    json_tokener *tok = json_tokener_new();
    json_object *o;
    enum json_tokener_error jerr;

    if (tok == NULL || len > INT_MAX) {
        json_tokener_free(tok);
        free(text);
        die_usage("%s: too long, or out of memory", opt);
    }
    o = json_tokener_parse_ex(tok, text, (int)len);
    jerr = json_tokener_get_error(tok);
    if (o == NULL || jerr != json_tokener_success) {
        json_tokener_free(tok);
        free(text);
        json_object_put(o);
        die_usage("%s: not valid JSON (%s)", opt,
                  jerr == json_tokener_continue ? "unexpected end"
                                                : json_tokener_error_desc(jerr));
    }
    /* only white space may follow the value */
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (strchr(" \t\r\n", text[i]) == NULL) {
            json_tokener_free(tok);
            free(text);
            json_object_put(o);
            die_usage("%s: text after the JSON value", opt);
        }
    }
    json_tokener_free(tok);
    free(text);
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        die_usage("%s: must be a JSON object", opt);
    }
    return o;
}

static const struct alg *find_alg(const char *name)
{
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (strcmp(algs[i].name, name) == 0)
            return &algs[i];
    return NULL;
}

/* base64url without padding; malloc'd, NUL-terminated */
static char *b64url(const unsigned char *in, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(n / 3 * 4 + 5), *o;
    size_t i;

    if (out == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        exit(1);
    }
    o = out;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = tab[v >> 6 & 63];
        *o++ = tab[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)in[i] << 16;

        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;

        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = tab[v >> 6 & 63];
    }
    *o = '\0';
    return out;
}

static char *b64url_json(json_object *o)
{
    const char *s = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

    return b64url((const unsigned char *)s, strlen(s));
}

/* "+N" / "-N" (N decimal digits) -> now +/- N in *out */
static int relative_time(const char *s, time_t now, int64_t *out)
{
    char *end;
    long long v;

    if ((s[0] != '+' && s[0] != '-') || s[1] < '0' || s[1] > '9')
        return -1;
    errno = 0;
    v = strtoll(s + 1, &end, 10);
    if (errno != 0 || *end != '\0' || v > (long long)INT32_MAX * 64)
        return -1;
    *out = s[0] == '+' ? (int64_t)now + v : (int64_t)now - v;
    return 0;
}

static json_object *make_claims(const struct opts *o)
{
    static const char *const times[] = { "exp", "nbf", "iat" };
    json_object *claims = res.claims = arg_object(o->claims, "--claims");
    time_t now = time(NULL);

    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        json_object *v;
        int64_t t;

        if (json_object_object_get_ex(claims, times[i], &v) &&
            json_object_is_type(v, json_type_string) &&
            relative_time(json_object_get_string(v), now, &t) == 0)
            json_object_object_add(claims, times[i], json_object_new_int64(t));
    }
    if (o->pad > 0) {
        char *p = malloc((size_t)o->pad + 1);

        if (p == NULL) {
            fprintf(stderr, "%s: out of memory\n", progname);
            exit(1);
        }
        memset(p, 'x', (size_t)o->pad);
        p[o->pad] = '\0';
        json_object_object_add(claims, "pad", json_object_new_string_len(p, (int)o->pad));
        free(p);
    }
    return claims;
}

static json_object *make_header(const struct opts *o, const char *alg)
{
    json_object *h = res.header = json_object_new_object();

    json_object_object_add(h, "alg", json_object_new_string(alg));
    json_object_object_add(h, "typ", json_object_new_string("JWT"));
    if (o->kid != NULL)
        json_object_object_add(h, "kid", json_object_new_string(o->kid));
    if (o->header != NULL) {
        json_object *extra = arg_object(o->header, "--header");

        json_object_object_foreach(extra, k, v)
        {
            if (v == NULL)
                json_object_object_del(h, k);
            else
                json_object_object_add(h, k, json_object_get(v));
        }
        json_object_put(extra);
    }
    return h;
}

static EVP_PKEY *load_key(const char *path)
{
    struct buf b;
    BIO *bio;
    EVP_PKEY *pkey;

    if (read_file(path, &b) != 0) {
        fprintf(stderr, "%s: cannot read %s: %s\n", progname, path, strerror(errno));
        exit(1);
    }
    bio = BIO_new_mem_buf(b.p, (int)b.n);
    pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(b.p, b.n);
    free(b.p);
    if (pkey == NULL) {
        warn_ssl("reading a PEM private key");
        fprintf(stderr, "%s: %s: not a PEM private key\n", progname, path);
        exit(1);
    }
    return pkey;
}

/* the default alg for a key */
static const char *alg_for_key(EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return "RS256";
    if (EVP_PKEY_is_a(pkey, "EC"))
        return EVP_PKEY_get_bits(pkey) == 384 ? "ES384" : "ES256";
    return NULL;
}

/* DER ECDSA-Sig-Value -> JOSE r||s, each coordinate `size` bytes */
static int der_to_jose(const unsigned char *der, size_t derlen, size_t size, struct buf *out)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    const BIGNUM *r, *s;
    int ok = 0;

    if (sig == NULL)
        return -1;
    ECDSA_SIG_get0(sig, &r, &s);
    out->n = 2 * size;
    out->p = malloc(out->n);
    if (out->p != NULL && BN_bn2binpad(r, out->p, (int)size) == (int)size &&
        BN_bn2binpad(s, out->p + size, (int)size) == (int)size)
        ok = 1;
    ECDSA_SIG_free(sig);
    if (!ok) {
        free(out->p);
        out->p = NULL;
        return -1;
    }
    return 0;
}

static int sign_pkey(const struct alg *a, EVP_PKEY *pkey, const char *input, struct buf *sig)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    size_t len = 0;
    int rc = -1;

    sig->p = NULL;
    sig->n = 0;
    if (ctx == NULL || EVP_DigestSignInit_ex(ctx, &pctx, a->md, NULL, NULL, pkey, NULL) != 1)
        goto out;
    if (a->kind == K_PSS &&
        (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
        goto out;
    if (EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)input, strlen(input)) != 1)
        goto out;
    der = malloc(len);
    if (der == NULL ||
        EVP_DigestSign(ctx, der, &len, (const unsigned char *)input, strlen(input)) != 1)
        goto out;
    if (a->kind == K_EC) {
        size_t size = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;

        if (der_to_jose(der, len, size, sig) != 0)
            goto out;
        free(der);
    } else {
        sig->p = der;
        sig->n = len;
    }
    der = NULL;
    rc = 0;
out:
    if (rc != 0)
        warn_ssl("signing");
    free(der);
    EVP_MD_CTX_free(ctx);
    return rc;
}

static int sign_hmac(const struct alg *a, const char *keyfile, const char *input, struct buf *sig)
{
    struct buf key;
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    unsigned char *r;

    sig->p = NULL;
    sig->n = 0;
    if (read_file(keyfile, &key) != 0) {
        fprintf(stderr, "%s: cannot read %s: %s\n", progname, keyfile, strerror(errno));
        return -1;
    }
    r = EVP_Q_mac(NULL, "HMAC", NULL, a->md, NULL, key.n ? key.p : (unsigned char *)"",
                  key.n, (const unsigned char *)input, strlen(input), mac, sizeof mac,
                  &maclen);
    OPENSSL_cleanse(key.p, key.n);
    free(key.p);
    if (r == NULL) {
        warn_ssl("HMAC");
        return -1;
    }
    sig->p = malloc(maclen);
    if (sig->p == NULL)
        return -1;
    memcpy(sig->p, mac, maclen);
    sig->n = maclen;
    return 0;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    enum { O_RAW_HEADER = 256, O_RAW_CLAIMS };
    static const struct option lo[] = {
        { "key", required_argument, NULL, 'k' },
        { "kid", required_argument, NULL, 'i' },
        { "alg", required_argument, NULL, 'a' },
        { "claims", required_argument, NULL, 'c' },
        { "header", required_argument, NULL, 'H' },
        { "pad", required_argument, NULL, 'p' },
        { "raw-header", required_argument, NULL, O_RAW_HEADER },
        { "raw-claims", required_argument, NULL, O_RAW_CLAIMS },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(o, 0, sizeof *o);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
        switch (c) {
        case 'k': o->key = optarg; break;
        case 'i': o->kid = optarg; break;
        case 'a': o->alg = optarg; break;
        case 'c': o->claims = optarg; break;
        case 'H': o->header = optarg; break;
        case O_RAW_HEADER: o->raw_header = optarg; break;
        case O_RAW_CLAIMS: o->raw_claims = optarg; break;
        case 'p': {
            char *end;

            errno = 0;
            o->pad = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || o->pad < 0 || o->pad > MAX_PAD)
                die_usage("--pad: want an integer 0..%d, not '%s'", MAX_PAD, optarg);
            break;
        }
        case 'h': usage(stdout); exit(0);
        case ':': die_usage("%s needs an argument", argv[optind - 1]);
        default: die_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (o->claims == NULL && o->raw_claims == NULL)
        die_usage("--claims is required");
    if (o->claims != NULL && o->raw_claims != NULL)
        die_usage("--claims and --raw-claims exclude each other");
    if (o->raw_header != NULL && (o->header != NULL || o->kid != NULL))
        die_usage("--raw-header excludes --header and --kid");
    if (o->pad > 0 && o->raw_claims != NULL)
        die_usage("--pad does not apply to --raw-claims");
}

/* base64url of an argument taken verbatim */
static char *b64url_arg(const char *arg, const char *opt)
{
    size_t len;
    char *text = arg_text(arg, opt, &len);
    char *r = b64url((const unsigned char *)text, len);

    free(text);
    return r;
}

int main(int argc, char **argv)
{
    struct opts o;
    const struct alg *a;
    int rc = 0;

    /* OpenSSL's own atexit clean-up must run after ours: initialise it first */
    OPENSSL_init_crypto(0, NULL);
    atexit(free_resources);

    parse_args(argc, argv, &o);
    if (o.alg != NULL) {
        a = find_alg(o.alg);
        if (a == NULL)
            die_usage("--alg: unknown algorithm '%s'", o.alg);
    } else {
        const char *name;

        if (o.key == NULL)
            die_usage("--key is required (or --alg none)");
        res.pkey = load_key(o.key);
        name = alg_for_key(res.pkey);
        if (name == NULL)
            die_usage("%s: neither an RSA nor an EC key; give --alg", o.key);
        a = find_alg(name);
    }
    if (a->kind != K_NONE && o.key == NULL)
        die_usage("--alg %s needs --key", a->name);
    if (res.pkey == NULL && (a->kind == K_RSA || a->kind == K_PSS || a->kind == K_EC))
        res.pkey = load_key(o.key);
    if (res.pkey != NULL &&
        (((a->kind == K_RSA || a->kind == K_PSS) && !EVP_PKEY_is_a(res.pkey, "RSA")) ||
         (a->kind == K_EC && !EVP_PKEY_is_a(res.pkey, "EC"))))
        die_usage("--alg %s does not fit the key in %s", a->name, o.key);

    if (o.raw_header != NULL)
        res.h64 = b64url_arg(o.raw_header, "--raw-header");
    else
        res.h64 = b64url_json(make_header(&o, a->name));
    if (o.raw_claims != NULL)
        res.p64 = b64url_arg(o.raw_claims, "--raw-claims");
    else
        res.p64 = b64url_json(make_claims(&o));

    res.input = malloc(strlen(res.h64) + strlen(res.p64) + 2);
    if (res.input == NULL) {
        fprintf(stderr, "%s: out of memory\n", progname);
        return 1;
    }
    sprintf(res.input, "%s.%s", res.h64, res.p64);

    switch (a->kind) {
    case K_NONE: break;
    case K_HMAC: rc = sign_hmac(a, o.key, res.input, &res.sig); break;
    default: rc = sign_pkey(a, res.pkey, res.input, &res.sig); break;
    }
    if (rc == 0) {
        res.s64 = b64url(res.sig.p, res.sig.n);
        if (printf("%s.%s\n", res.input, res.s64) < 0 || fflush(stdout) != 0) {
            fprintf(stderr, "%s: cannot write the token: %s\n", progname, strerror(errno));
            rc = -1;
        }
    }
    return rc == 0 ? 0 : 1;
}
