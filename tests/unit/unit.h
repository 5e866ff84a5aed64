/*
 * unit.h: the small frame every CUnit test file uses.
 *
 * A test file defines its tests and one table, then MS_UNIT_MAIN(table).
 * The runner returns the number of failed assertions (not CU_get_error(),
 * which stays 0 when assertions fail), so ctest sees every failure.
 */
#ifndef MS_UNIT_H
#define MS_UNIT_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>

typedef struct ms_unit_test {
    const char *name;
    void (*fn)(void);
} ms_unit_test;

/* |a - b| <= tol, with both values printed when it fails. */
#define MS_ASSERT_NEAR(a, b, tol)                                          \
    do {                                                                   \
        double ms_a_ = (a), ms_b_ = (b), ms_t_ = (tol);                    \
        if (!(fabs(ms_a_ - ms_b_) <= ms_t_))                               \
            printf("\n    %s:%d: %s = %.10g, %s = %.10g, tolerance %.3g\n",\
                   __FILE__, __LINE__, #a, ms_a_, #b, ms_b_, ms_t_);       \
        CU_ASSERT(fabs(ms_a_ - ms_b_) <= ms_t_);                           \
    } while (0)

static inline int ms_unit_run(const char *suite, const ms_unit_test *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    for (int i = 0; s && tests[i].name; i++)
        CU_add_test(s, tests[i].name, tests[i].fn);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int failed = (int)CU_get_number_of_failures();
    if (CU_get_error() != CUE_SUCCESS)
        failed++;
    CU_cleanup_registry();
    return failed > 255 ? 255 : failed;
}

#define MS_UNIT_MAIN(suite, table)                                         \
    int main(void) { return ms_unit_run(suite, table); }

#endif
