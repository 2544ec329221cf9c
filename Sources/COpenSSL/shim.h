#ifndef LAB_COPENSSL_SHIM_H
#define LAB_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

// Swift cannot call OpenSSL's function-like macros; these wrappers make them callable.
static inline long lab_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline long lab_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long lab_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}
// Short digests (password scrambles, script SHAs) through the one-shot hash functions on a
// context held by the caller: EVP's digests allocate, initialise and cleanse a provider
// context per use, which costs more than hashing 20 bytes. OpenSSL 3 marks these functions
// deprecated but keeps them (Debian builds them in); only these wrappers call them.
enum { LAB_DIGEST_SHA1 = 1, LAB_DIGEST_SHA256 = 2, LAB_DIGEST_SHA512 = 3 };
typedef struct {
    int algorithm;
    union {
        SHA_CTX sha1;
        SHA256_CTX sha256;
        SHA512_CTX sha512;
    } state;
} lab_digest_ctx;

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static inline void lab_digest_init(lab_digest_ctx *ctx, int algorithm) {
    ctx->algorithm = algorithm;
    switch (algorithm) {
    case LAB_DIGEST_SHA1: SHA1_Init(&ctx->state.sha1); break;
    case LAB_DIGEST_SHA256: SHA256_Init(&ctx->state.sha256); break;
    default: SHA512_Init(&ctx->state.sha512); break;
    }
}
static inline void lab_digest_update(lab_digest_ctx *ctx, const void *data, size_t count) {
    switch (ctx->algorithm) {
    case LAB_DIGEST_SHA1: SHA1_Update(&ctx->state.sha1, data, count); break;
    case LAB_DIGEST_SHA256: SHA256_Update(&ctx->state.sha256, data, count); break;
    default: SHA512_Update(&ctx->state.sha512, data, count); break;
    }
}
/// Writes the digest to `out` (room for SHA512_DIGEST_LENGTH bytes), returns its length and
/// starts the context over.
static inline size_t lab_digest_final(lab_digest_ctx *ctx, unsigned char *out) {
    size_t length;
    switch (ctx->algorithm) {
    case LAB_DIGEST_SHA1: SHA1_Final(out, &ctx->state.sha1); length = SHA_DIGEST_LENGTH; break;
    case LAB_DIGEST_SHA256: SHA256_Final(out, &ctx->state.sha256); length = SHA256_DIGEST_LENGTH; break;
    default: SHA512_Final(out, &ctx->state.sha512); length = SHA512_DIGEST_LENGTH; break;
    }
    lab_digest_init(ctx, ctx->algorithm);
    return length;
}
#pragma clang diagnostic pop
#endif
