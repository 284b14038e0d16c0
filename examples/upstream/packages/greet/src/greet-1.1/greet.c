/* greet: print a greeting with libgreet.  SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <greet.h>

#define GREET_PROGRAM_VERSION "1.1"

static void usage(FILE *out)
{
	fputs("usage: greet [--name NAME] [--version] [--help]\n", out);
}

int main(int argc, char **argv)
{
	const char *name = getenv("GREET_NAME");
	char line[256];
	int i;

	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--name") == 0 || strcmp(argv[i], "-n") == 0)
		    && i + 1 < argc) {
			name = argv[++i];
		} else if (strncmp(argv[i], "--name=", 7) == 0) {
			name = argv[i] + 7;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("greet %s (libgreet %s)\n",
			       GREET_PROGRAM_VERSION, greet_version());
			return 0;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (name == NULL || name[0] == '\0')
		name = "world";
	if (greet_format(line, sizeof line, name) < 0) {
		fputs("greet: name too long\n", stderr);
		return 1;
	}
	puts(line);
	return 0;
}
