/*
 * ms_export.h: a result file as tidy CSV tables (`marketsim export`).
 */
#ifndef MS_EXPORT_H
#define MS_EXPORT_H

#include "marketsim/ms_error.h"

#include <stdio.h>

/* Write the tables of `path` (run or sweep file) into folder `dir`
 * (created if missing; tables there are replaced), naming each written
 * file on `log` (or nothing when NULL). MS_EINPUT if `path` is not a
 * marketsim result. */
ms_status ms_export_csv(const char *path, const char *dir, FILE *log);

#endif
