/* gb_password.h - password hashes with libcrypt (yescrypt).
 *
 * Hashes are made with yescrypt ("$y$") at libcrypt's default cost.
 * Verification also accepts the other strong methods libcrypt knows
 * (gost-yescrypt, scrypt, bcrypt, sha512crypt, sha256crypt) so that
 * imported hashes keep working; DES, MD5 and other legacy hashes never
 * match.  All functions are thread-safe; the large struct crypt_data lives
 * on the heap and is wiped after each use.
 */
#ifndef GB_PASSWORD_H
#define GB_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "gb_err.h"

/* Longest password accepted, in bytes: libxcrypt refuses passphrases of
 * CRYPT_MAX_PASSPHRASE_SIZE (512) bytes or more.  Check new passwords
 * against it before hashing, to answer with a clear message. */
#define GB_PASSWORD_MAX 511
/* Room a hash needs, with its NUL (CRYPT_OUTPUT_SIZE). */
#define GB_PASSWORD_HASH_SIZE 384

/* Writes the yescrypt hash of password, with a new salt from libcrypt's own
 * entropy, and a NUL into out[0..outlen).  Returns GB_EINVAL when password
 * or out is NULL or password is empty or longer than GB_PASSWORD_MAX bytes;
 * GB_ERANGE when the hash does not fit; GB_ENOMEM; GB_ESYS when libcrypt
 * fails (errno says why).  out is unchanged on error. */
enum gb_err gb_password_hash(const char *password, char *out, size_t outlen);

/* True only when hash (as made by gb_password_hash, or another accepted
 * method) is the hash of password; the whole result is compared in constant
 * time.  False on any error, for NULL, an empty or too long password, and
 * for a hash of a method not accepted or locked (starting with '*' or
 * '!').  A locked or unusable hash costs the same time as a real one. */
bool gb_password_verify(const char *password, const char *hash);

/* Does the work of one gb_password_verify against a fixed dummy hash (made
 * once per process) and discards the result: called for unknown users so
 * that a login takes about the same time whether the user exists or not.
 * password may be NULL. */
void gb_password_burn(const char *password);

#endif
