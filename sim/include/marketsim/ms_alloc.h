/*
 * ms_alloc.h: the one allocation wrapper of marketsim.
 *
 * All engine memory comes through here (SQLite's test_malloc.c is the model):
 * it counts live and peak bytes, which `make bench` reports, and a test hook
 * fails the N-th allocation so tests can prove that running out of memory
 * gives an error and not a crash. Set the hook with ms_alloc_fail_at() or the
 * environment variable MARKETSIM_FAIL_ALLOC=N (read by ms_alloc_init_from_env).
 *
 * The counters are atomic (a sweep builds worlds on several threads); the
 * failure hook counts allocations of all threads. The engine allocates
 * only during setup, never inside the step loop.
 */
#ifndef MS_ALLOC_H
#define MS_ALLOC_H

#include <stddef.h>

void *ms_malloc(size_t n);          /* NULL on failure (real or injected) */
void *ms_calloc(size_t count, size_t size);
void *ms_realloc(void *p, size_t n);
char *ms_strdup(const char *s);
char *ms_strndup(const char *s, size_t n);
void ms_free(void *p);              /* accepts NULL */

size_t ms_alloc_live_bytes(void);
size_t ms_alloc_peak_bytes(void);
unsigned long ms_alloc_count(void);  /* allocations made so far */
void ms_alloc_reset_peak(void);

/* Fail the n-th allocation from now (1 = the next one), and every later one
 * if `sticky`; n = 0 turns the hook off. */
void ms_alloc_fail_at(unsigned long n, int sticky);
void ms_alloc_init_from_env(void);

#endif
