#ifndef CMODELSYNC_CRYPTO_SHIM_H
#define CMODELSYNC_CRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#endif
