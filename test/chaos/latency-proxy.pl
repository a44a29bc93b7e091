#!/usr/bin/perl
# test/chaos/latency-proxy.pl: a TCP forwarder on 127.0.0.1 that makes every
# request slow.  The chaos suite puts it in place of a node's socat
# forwarders to etcd for a while ("slow_etcd").
#
#   latency-proxy.pl --listen PORT --target PORT --min-ms A --max-ms B [--seed S]
#
# Each chunk of bytes the client sends (an HTTP request, on the keeper's
# keep-alive connections) is held for a random A..B ms before it goes on to
# the target; the answers come back at once, so a request/answer round trip
# costs A..B ms more, and a watch stream is not slowed.  Chunks of one
# connection keep their order.  Core Perl only (IO::Select, Time::HiRes), no
# threads: one select loop.  Ends on SIGTERM or SIGINT; connections to the
# target are made to 127.0.0.1 only.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Getopt::Long;
use Time::HiRes qw(time);
use POSIX qw(:errno_h);

my ($listen, $target, $min_ms, $max_ms, $seed) = (0, 0, 300, 1500, 1);
GetOptions(
	'listen=i' => \$listen,
	'target=i' => \$target,
	'min-ms=i' => \$min_ms,
	'max-ms=i' => \$max_ms,
	'seed=i'   => \$seed,
) or die "usage: $0 --listen PORT --target PORT --min-ms A --max-ms B [--seed S]\n";
die "latency-proxy: --listen and --target are required\n" unless $listen && $target;
$max_ms = $min_ms if $max_ms < $min_ms;
srand($seed);
$SIG{PIPE} = 'IGNORE';
my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };

my $server = IO::Socket::INET->new(
	LocalAddr => '127.0.0.1',
	LocalPort => $listen,
	Proto     => 'tcp',
	Listen    => 64,
	ReuseAddr => 1,
) or die "latency-proxy: cannot listen on 127.0.0.1:$listen: $!\n";
$server->blocking(0);

# A pipe is one direction of one connection: bytes read from {from} wait in
# {queue} ([due time, bytes] in order) until they are written to {to}.
# {eof}: {from} is at its end; once the queue is empty, {to} gets a
# half-close.  Two pipes form a connection; when both are done, or on any
# error, both sockets are closed.
my %pipes;		# fileno of the reading socket -> pipe
my $sel = IO::Select->new($server);

sub close_conn
{
	my ($p) = @_;
	for my $q ($p, $p->{peer})
	{
		next unless $q && !$q->{closed};
		$q->{closed} = 1;
		$sel->remove($q->{from});
		delete $pipes{ fileno($q->{from}) } if defined fileno($q->{from});
	}
	close($p->{from});
	close($p->{to});
}

sub accept_one
{
	my $client = $server->accept or return;
	my $up = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $target,
		Proto    => 'tcp',
		Timeout  => 2,
	);
	unless ($up)
	{
		close($client);		# the target is down: refuse, as socat does
		return;
	}
	$client->blocking(0);
	$up->blocking(0);
	my $req = { from => $client, to => $up, queue => [], eof => 0, delay => 1, last_due => 0 };
	my $ans = { from => $up, to => $client, queue => [], eof => 0, delay => 0, last_due => 0 };
	$req->{peer} = $ans;
	$ans->{peer} = $req;
	$pipes{ fileno($client) } = $req;
	$pipes{ fileno($up) } = $ans;
	$sel->add($client, $up);
}

sub read_from
{
	my ($p) = @_;
	my $buf;
	my $n = sysread($p->{from}, $buf, 65536);
	if (!defined $n)
	{
		return if $! == EAGAIN || $! == EINTR;
		close_conn($p);
		return;
	}
	if ($n == 0)
	{
		$p->{eof} = 1;
		$sel->remove($p->{from});
		return;
	}
	my $due = time();
	$due += ($min_ms + rand($max_ms - $min_ms + 1)) / 1000 if $p->{delay};
	$due = $p->{last_due} if $due < $p->{last_due};
	$p->{last_due} = $due;
	push @{ $p->{queue} }, [ $due, $buf ];
}

# write what is due; returns the time of the next due chunk, or undef
sub flush_pipe
{
	my ($p, $now) = @_;
	while (@{ $p->{queue} } && $p->{queue}[0][0] <= $now)
	{
		my $chunk = $p->{queue}[0];
		my $n = syswrite($p->{to}, $chunk->[1]);
		if (!defined $n)
		{
			return $now + 0.01 if $! == EAGAIN || $! == EINTR;
			close_conn($p);
			return undef;
		}
		if ($n < length($chunk->[1]))
		{
			substr($chunk->[1], 0, $n) = '';
			return $now + 0.01;
		}
		shift @{ $p->{queue} };
	}
	if ($p->{eof} && !@{ $p->{queue} } && !$p->{halfclosed})
	{
		$p->{halfclosed} = 1;
		shutdown($p->{to}, 1);
		close_conn($p) if $p->{peer}{halfclosed};
	}
	return @{ $p->{queue} } ? $p->{queue}[0][0] : undef;
}

while (!$stop)
{
	my $now = time();
	my $next = $now + 0.2;
	my %seen;
	for my $p (values %pipes)
	{
		next if $p->{closed} || $seen{$p}++;
		my $due = flush_pipe($p, $now);
		$next = $due if defined $due && $due < $next;
	}
	my $wait = $next - time();
	$wait = 0 if $wait < 0;
	for my $fh ($sel->can_read($wait))
	{
		if ($fh == $server)
		{
			accept_one();
			next;
		}
		my $p = $pipes{ fileno($fh) // -1 } or next;
		read_from($p) unless $p->{closed};
	}
}
exit 0;
