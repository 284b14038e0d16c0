use strict;
use warnings;
use Greet;

my @cases = ([undef, 'Hello, world!'], ['', 'Hello, world!'], ['Ana', 'Hello, Ana!']);
my $n = 0;
for my $case (@cases) {
    $n++;
    my $got = Greet::hello($case->[0]);
    print(($got eq $case->[1] ? "ok" : "not ok") . " $n\n");
    exit 1 unless $got eq $case->[1];
}
print "1..$n\n";
