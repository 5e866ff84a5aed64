/*
 * text.c: edit distance and "did you mean" (see ms_text.h).
 */
#include "base/ms_text.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int ms_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 40 || lb > 40)
        return 99;
    int d[41][41];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) !=
                                       tolower((unsigned char)b[j - 1]));
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

void ms_suggest(char *buf, size_t size, const char *got,
                const char *const *names, int n)
{
    int best = 99;
    const char *pick = NULL;
    for (int i = 0; i < n; i++) {
        int d = ms_edit_distance(got, names[i]);
        if (d < best) {
            best = d;
            pick = names[i];
        }
    }
    if (pick && best <= 2 + (int)strlen(got) / 6 && best < (int)strlen(got))
        snprintf(buf, size, "; did you mean '%s'?", pick);
    else
        buf[0] = '\0';
}
