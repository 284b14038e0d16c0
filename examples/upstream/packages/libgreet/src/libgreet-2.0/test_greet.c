/* Tests for libgreet.  SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "greet.h"

static int failures;

static void expect(const char *name, const char *want)
{
	char buf[64];
	int n = greet_format(buf, sizeof buf, name);

	if (n < 0 || strcmp(buf, want) != 0) {
		fprintf(stderr, "FAIL: greet_format(%s) gave '%s', want '%s'\n",
			name ? name : "NULL", n < 0 ? "(error)" : buf, want);
		failures++;
	}
}

int main(void)
{
	char tiny[4];

	expect("world", "Hello, world!");
	expect("Example", "Hello, Example!");
	if (greet_format(tiny, sizeof tiny, "world") != -1) {
		fprintf(stderr, "FAIL: a too small buffer was not reported\n");
		failures++;
	}
	if (strcmp(greet_version(), GREET_VERSION_STRING) != 0) {
		fprintf(stderr, "FAIL: header and library versions differ\n");
		failures++;
	}
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures != 0;
}
