/* secret.h: zeroing and freeing what may hold a secret */
#ifndef ACRED_SECRET_H
#define ACRED_SECRET_H

#include <stddef.h>

/* zero the string and free it; NULL is fine */
void acred_secret_free(char *s);
/* strdup that returns NULL for NULL */
char *acred_strdup(const char *s);
/* hex of n (at most 64) random bytes from the kernel CSPRNG into out (2n+1 bytes); 0 or -1 */
int acred_random_hex(char *out, size_t n);

#endif
