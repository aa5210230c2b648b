#include "corral_crypt.h"
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

int corral_crypt_check(const char *password, const char *hash) {
    // struct crypt_data is ~32 KiB: on the heap, not a Swift task's stack.
    struct crypt_data *data = calloc(1, sizeof(struct crypt_data));
    if (data == NULL) return -1;
    const char *out = crypt_r(password, hash, data);
    int result = -1;
    // libxcrypt returns NULL or a string starting with '*' on failure.
    if (out != NULL && out[0] != '*') {
        size_t a = strlen(out), b = strlen(hash);
        unsigned char diff = (unsigned char)(a != b);
        size_t n = a < b ? a : b;
        for (size_t i = 0; i < n; i++) diff |= (unsigned char)(out[i] ^ hash[i]);
        result = diff == 0 ? 1 : 0;
    }
    explicit_bzero(data, sizeof(struct crypt_data));
    free(data);
    return result;
}

int corral_crypt_bcrypt(const char *password, unsigned long rounds, char *out, int outlen) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    // NULL random bytes: libxcrypt draws the salt from the kernel.
    if (crypt_gensalt_rn("$2b$", rounds, NULL, 0, salt, sizeof salt) == NULL) return -1;
    struct crypt_data *data = calloc(1, sizeof(struct crypt_data));
    if (data == NULL) return -1;
    const char *h = crypt_r(password, salt, data);
    int result = -1;
    if (h != NULL && h[0] != '*' && strlen(h) < (size_t)outlen) {
        strcpy(out, h);
        result = 0;
    }
    explicit_bzero(data, sizeof(struct crypt_data));
    free(data);
    return result;
}
