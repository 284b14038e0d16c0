/* greetings: greet each name given, one per line, with libgreet. */
#include <stdio.h>
#include <greet.h>

int main(int argc, char **argv)
{
    char buffer[256];
    if (argc < 2) {
        greet_format(buffer, sizeof buffer, NULL);
        puts(buffer);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        greet_format(buffer, sizeof buffer, argv[i]);
        puts(buffer);
    }
    return 0;
}
