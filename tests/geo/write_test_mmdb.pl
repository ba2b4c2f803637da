#!/usr/bin/perl
# Writes a small GeoIP2-City-shaped MaxMind DB for the tests with MaxMind's own writer
# (Debian: libmaxmind-db-writer-perl), so that tailor's reader is checked against files it did
# not write. Usage: write_test_mmdb.pl OUT.mmdb
use strict;
use warnings;
use utf8;
use MaxMind::DB::Writer::Tree;

my $out = shift or die "usage: $0 OUT.mmdb\n";

my %types = (
    city               => 'map',
    country            => 'map',
    registered_country => 'map',
    subdivisions       => [ 'array', 'map' ],
    location           => 'map',
    names              => 'map',
    en                 => 'utf8_string',
    iso_code           => 'utf8_string',
    latitude           => 'double',
    longitude          => 'double',
    time_zone          => 'utf8_string',
    accuracy_radius    => 'uint16',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version            => 6,
    record_size           => 28,
    database_type         => 'tailor-Test-City',
    languages             => ['en'],
    description           => { en => 'tailor test GeoIP2 City database' },
    map_key_type_callback => sub { $types{ $_[0] } },
);

sub city {
    my ($iso, $region, $city, $lat, $lon, $tz, $radius) = @_;
    return {
        country      => { iso_code => $iso },
        subdivisions => [ { names => { en => $region } } ],
        city         => { names => { en => $city } },
        location     => { latitude => $lat, longitude => $lon, time_zone => $tz,
                          accuracy_radius => $radius },
    };
}

$tree->insert_network('81.2.69.0/24',
    city('GB', 'England', 'London', 51.5142, -0.0931, 'Europe/London', 10));
$tree->insert_network('2.136.0.0/16',
    city('ES', 'Madrid', 'Madrid', 40.4172, -3.684, 'Europe/Madrid', 50));
$tree->insert_network('89.160.20.0/24',
    city('SE', 'Östergötland County', 'Linköping', 58.4167, 15.6167, 'Europe/Stockholm', 100));
$tree->insert_network('2001:480::/32',
    city('US', 'California', 'San Diego', 32.7203, -117.1552, 'America/Los_Angeles', 20));
# Only the country where the network is registered (anycast ranges look like this).
$tree->insert_network('67.43.156.0/24', { registered_country => { iso_code => 'BT' } });

open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
