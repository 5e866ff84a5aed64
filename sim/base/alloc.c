/*
 * alloc.c: counting allocator with failure injection (see ms_alloc.h).
 *
 * Each block carries a 16-byte header holding its size, so frees can be
 * counted and the alignment malloc guarantees is kept.
 */
#include "marketsim/ms_alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR 16

/* Counters are atomic: a sweep builds worlds on several threads at once.
 * The failure hook is for single-threaded tests. */
static _Atomic size_t live_bytes, peak_bytes;
static _Atomic unsigned long n_allocs;
static unsigned long fail_at;  /* 0: off; else the allocation number to fail */
static int fail_sticky;

static void add_live(size_t n)
{
    size_t now = atomic_fetch_add_explicit(&live_bytes, n,
                                           memory_order_relaxed) + n;
    size_t peak = atomic_load_explicit(&peak_bytes, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&peak_bytes, &peak, now,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static int should_fail(void)
{
    unsigned long k = atomic_fetch_add_explicit(&n_allocs, 1,
                                                memory_order_relaxed) + 1;
    if (fail_at == 0)
        return 0;
    if (k == fail_at)
        return 1;
    return fail_sticky && k > fail_at;
}

void *ms_malloc(size_t n)
{
    if (should_fail() || n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = malloc(n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    add_live(n);
    return p + HDR;
}

void *ms_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = ms_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *ms_realloc(void *p, size_t n)
{
    if (!p)
        return ms_malloc(n);
    if (should_fail() || n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *base = (unsigned char *)p - HDR;
    size_t old;
    memcpy(&old, base, sizeof old);
    unsigned char *q = realloc(base, n + HDR);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof n);
    atomic_fetch_sub_explicit(&live_bytes, old, memory_order_relaxed);
    add_live(n);
    return q + HDR;
}

void ms_free(void *p)
{
    if (!p)
        return;
    unsigned char *base = (unsigned char *)p - HDR;
    size_t n;
    memcpy(&n, base, sizeof n);
    atomic_fetch_sub_explicit(&live_bytes, n, memory_order_relaxed);
    free(base);
}

char *ms_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = ms_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

char *ms_strdup(const char *s) { return ms_strndup(s, strlen(s)); }

size_t ms_alloc_live_bytes(void) { return atomic_load(&live_bytes); }
size_t ms_alloc_peak_bytes(void) { return atomic_load(&peak_bytes); }
unsigned long ms_alloc_count(void) { return atomic_load(&n_allocs); }
void ms_alloc_reset_peak(void) { atomic_store(&peak_bytes, atomic_load(&live_bytes)); }

void ms_alloc_fail_at(unsigned long n, int sticky)
{
    fail_at = n ? atomic_load(&n_allocs) + n : 0;
    fail_sticky = sticky;
}

void ms_alloc_init_from_env(void)
{
    const char *s = getenv("MARKETSIM_FAIL_ALLOC");
    if (s && *s) {
        char *end;
        unsigned long n = strtoul(s, &end, 10);
        if (*end == '\0')
            ms_alloc_fail_at(n, 0);
    }
}
