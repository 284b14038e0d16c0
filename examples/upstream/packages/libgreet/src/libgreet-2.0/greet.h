/* libgreet: format short greetings.  SPDX-License-Identifier: MIT */
#ifndef GREET_H
#define GREET_H

#include <stddef.h>

#define GREET_VERSION_STRING "2.0"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the library actually loaded at run time. */
const char *greet_version(void);

/*
 * Write "Hello, NAME!" into BUF (at most SIZE bytes, always terminated).
 * Returns the length written, or -1 when BUF is too small.
 */
int greet_format(char *buf, size_t size, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* GREET_H */
