/* libgreet: format short greetings.  SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "greet.h"

const char *greet_version(void)
{
	return GREET_VERSION_STRING;
}

int greet_format(char *buf, size_t size, const char *name)
{
	int n;

	if (buf == NULL || size == 0)
		return -1;
	n = snprintf(buf, size, "Hello, %s!", name);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}
