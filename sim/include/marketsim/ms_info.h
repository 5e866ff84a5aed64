/*
 * ms_info.h: summarize a result file (`marketsim info`).
 */
#ifndef MS_INFO_H
#define MS_INFO_H

#include "marketsim/ms_error.h"

#include <stdio.h>

/* Print what `path` holds and its key figures (with `brief`, only the
 * figures). MS_EINPUT if it is not a readable marketsim file. */
ms_status ms_info_print(const char *path, FILE *out, int brief);

#endif
