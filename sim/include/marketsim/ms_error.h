/*
 * ms_error.h: the one status type of marketsim and the macros that raise and
 * propagate it.
 *
 * Every fallible function returns an ms_status. MS_ERROR records a message
 * with the file and line where the problem was found; MS_CALL returns early
 * on failure and adds a frame, so a failure deep in the engine arrives at the
 * command line with its message and the path it took (PETSc's PetscCall and
 * GSL's GSL_ERROR work the same way). Library code never exits: only the CLI
 * turns a status into an exit code (ms_status_exit_code).
 *
 * The error record is per thread (runs of a sweep go on threads of their
 * own); the hot loops inside a run cannot fail.
 */
#ifndef MS_ERROR_H
#define MS_ERROR_H

#include <stdarg.h>

typedef enum ms_status {
    MS_OK = 0,
    MS_EINPUT,      /* bad scenario, sweep or result file given by the user */
    MS_EUSAGE,      /* bad command line */
    MS_ENOMEM,      /* out of memory (real or injected) */
    MS_EIO,         /* reading or writing a file failed */
    MS_ECHECK,      /* an invariant of the model failed (--check) */
    MS_EINTERRUPT,  /* stopped by SIGINT or SIGTERM; results kept */
    MS_ENUMERIC,    /* a computation produced NaN or overflowed */
    MS_EINTERNAL    /* a bug: please report it */
} ms_status;

/* Record an error and return its code. Use as: return MS_ERROR(MS_EIO, "..."). */
#define MS_ERROR(code, ...) \
    ms_error_raise((code), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Evaluate a status expression; on failure add a frame and return it. */
#define MS_CALL(expr)                                                    \
    do {                                                                 \
        ms_status ms_call_s_ = (expr);                                   \
        if (ms_call_s_ != MS_OK) {                                       \
            ms_error_frame(__FILE__, __LINE__, __func__);                \
            return ms_call_s_;                                           \
        }                                                                \
    } while (0)

ms_status ms_error_raise(ms_status code, const char *file, int line,
                         const char *func, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
ms_status ms_error_vraise(ms_status code, const char *file, int line,
                          const char *func, const char *fmt, va_list ap);
void ms_error_frame(const char *file, int line, const char *func);

/* The message of the last error ("" if none). Borrowed; valid until the next
 * raise or clear. */
const char *ms_error_message(void);
/* The frames ("file:line (func)" lines, innermost first) of the last error. */
const char *ms_error_trace(void);
ms_status ms_error_code(void);
void ms_error_clear(void);

/* Exit status for a status: 0 ok, 2 bad input or usage, 1 everything else. */
int ms_status_exit_code(ms_status s);
const char *ms_status_name(ms_status s);

/* Route GSL errors into MS errors instead of GSL's default abort(). Called
 * once by every entry point that may use GSL (idempotent). */
void ms_error_install_gsl_handler(void);

#endif
