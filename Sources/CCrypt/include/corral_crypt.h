#ifndef CORRAL_CRYPT_H
#define CORRAL_CRYPT_H

/// Checks `password` against a crypt(3) hash (bcrypt $2a$/$2b$/$2y$,
/// sha-512 $6$, ...), thread-safely (crypt_r with its own state), comparing
/// in constant time. Returns 1 on a match, 0 on a mismatch, -1 when the
/// hash's method is unknown or the hash is malformed.
int corral_crypt_check(const char *password, const char *hash);

/// Hashes `password` with bcrypt ($2b$, cost `rounds`, a random salt from
/// the kernel) into `out` (at least 128 bytes). Returns 0, or -1 on failure.
int corral_crypt_bcrypt(const char *password, unsigned long rounds, char *out, int outlen);

#endif
