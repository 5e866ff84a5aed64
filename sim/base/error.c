/*
 * error.c: the error record behind MS_ERROR and MS_CALL.
 *
 * One message and a short stack of frames. The message is what users see;
 * the frames are printed with --verbose or MARKETSIM_TRACE=1 and help a
 * developer see the path of a failure without a debugger.
 */
#include "marketsim/ms_error.h"

#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <string.h>

#define MS_ERR_MSG_MAX 8192
#define MS_ERR_TRACE_MAX 4096

/* One record per thread: runs of a sweep fail independently. */
static _Thread_local char err_msg[MS_ERR_MSG_MAX];
static _Thread_local char err_trace[MS_ERR_TRACE_MAX];
static _Thread_local ms_status err_code = MS_OK;

static void trace_add(const char *file, int line, const char *func)
{
    size_t len = strlen(err_trace);
    if (len + 1 >= sizeof err_trace)
        return;
    snprintf(err_trace + len, sizeof err_trace - len, "  %s:%d (%s)\n", file,
             line, func);
}

ms_status ms_error_vraise(ms_status code, const char *file, int line,
                          const char *func, const char *fmt, va_list ap)
{
    err_code = code;
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    err_trace[0] = '\0';
    trace_add(file, line, func);
    return code;
}

ms_status ms_error_raise(ms_status code, const char *file, int line,
                         const char *func, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_error_vraise(code, file, line, func, fmt, ap);
    va_end(ap);
    return code;
}

void ms_error_frame(const char *file, int line, const char *func)
{
    trace_add(file, line, func);
}

const char *ms_error_message(void) { return err_msg; }
const char *ms_error_trace(void) { return err_trace; }
ms_status ms_error_code(void) { return err_code; }

void ms_error_clear(void)
{
    err_code = MS_OK;
    err_msg[0] = '\0';
    err_trace[0] = '\0';
}

int ms_status_exit_code(ms_status s)
{
    switch (s) {
    case MS_OK: return 0;
    case MS_EINPUT:
    case MS_EUSAGE: return 2;
    default: return 1;
    }
}

const char *ms_status_name(ms_status s)
{
    switch (s) {
    case MS_OK: return "ok";
    case MS_EINPUT: return "bad input";
    case MS_EUSAGE: return "bad usage";
    case MS_ENOMEM: return "out of memory";
    case MS_EIO: return "I/O error";
    case MS_ECHECK: return "invariant violated";
    case MS_EINTERRUPT: return "interrupted";
    case MS_ENUMERIC: return "numerical error";
    case MS_EINTERNAL: return "internal error";
    }
    return "unknown";
}

/* GSL calls this instead of aborting; the next MS_CALL up the stack sees the
 * recorded error through the status the GSL function returned. */
static void gsl_to_ms(const char *reason, const char *file, int line,
                      int gsl_errno)
{
    ms_error_raise(gsl_errno == GSL_ENOMEM ? MS_ENOMEM : MS_ENUMERIC, file,
                   line, "gsl", "GSL: %s (%s)", reason,
                   gsl_strerror(gsl_errno));
}

void ms_error_install_gsl_handler(void) { gsl_set_error_handler(&gsl_to_ms); }
