package Greet;
# Greetings for Perl programs: the formatting rules of libgreet, in Perl.
use strict;
use warnings;

our $VERSION = '1.0';

sub hello {
    my ($name) = @_;
    $name = 'world' unless defined $name && length $name;
    return "Hello, $name!";
}

1;
