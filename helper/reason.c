#include "reason.h"

const char *acred_reason_word(enum acred_reason r)
{
#define ACRED_REASON_WORD(name, word) word,
    static const char *const words[] = {ACRED_REASONS(ACRED_REASON_WORD)};
#undef ACRED_REASON_WORD
    if ((unsigned)r >= ACRED_REASON_COUNT)
        return "helper_error";
    return words[r];
}
