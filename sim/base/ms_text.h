/*
 * ms_text.h: small text helpers shared by the readers of scenario and
 * sweep files.
 */
#ifndef MS_TEXT_H
#define MS_TEXT_H

#include <stddef.h>

/* Levenshtein distance of a and b, ignoring case; 99 when either is
 * longer than 40 bytes (names, keys: nothing to suggest for longer). */
int ms_edit_distance(const char *a, const char *b);

/* "; did you mean 'x'?" for the closest of the n names to got, or ""
 * when none is close (not for a name with nothing in common: 'XX' is 2
 * edits from 'CN'). */
void ms_suggest(char *buf, size_t size, const char *got,
                const char *const *names, int n);

#endif
