#ifndef CMODELSYNC_CRYPTO_SHIM_H
#define CMODELSYNC_CRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/bio.h>

/// BIO_get_mem_data is a macro over the variadic-free BIO_ctrl; Swift cannot import it.
static inline long cmodelsync_bio_mem_data(BIO *bio, char **data) {
    return BIO_ctrl(bio, BIO_CTRL_INFO, 0, (void *)data);
}
#endif
