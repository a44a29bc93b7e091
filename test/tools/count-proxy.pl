#!/usr/bin/perl
# test/tools/count-proxy.pl: a TCP forwarder on 127.0.0.1 that counts the
# etcd requests going through it, and can let only so many more through.
#
#   count-proxy.pl --listen PORT --target PORT --count-file F [--budget-file B [--pass RE]]
#
# Every "POST /v3/..." request line the client sends (libcurl reuses
# keep-alive connections, so requests, not connections, are counted) adds
# one to a per-path tally, rewritten to F after each request as lines
# "<path> <count>" and "total <count>".  While B exists and holds a number N,
# N more requests go through and every later one is held (not forwarded,
# as a frozen forwarder would), until B is removed; requests whose path
# matches RE (e.g. 'lease/grant') always pass.  Core Perl only, one
# select loop, no threads; ends on SIGTERM or SIGINT.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use Getopt::Long;
use POSIX qw(:errno_h);

my ($listen, $target, $count_file, $budget_file, $pass_re) = (0, 0, '', '', '');
GetOptions(
	'listen=i'      => \$listen,
	'target=i'      => \$target,
	'count-file=s'  => \$count_file,
	'budget-file=s' => \$budget_file,
	'pass=s'        => \$pass_re,
) or die "usage: $0 --listen PORT --target PORT --count-file F [--budget-file B]\n";
die "count-proxy: --listen, --target and --count-file are required\n"
  unless $listen && $target && $count_file;
$SIG{PIPE} = 'IGNORE';
my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };

my $server = IO::Socket::INET->new(
	LocalAddr => '127.0.0.1',
	LocalPort => $listen,
	Proto     => 'tcp',
	Listen    => 64,
	ReuseAddr => 1,
) or die "count-proxy: cannot listen on 127.0.0.1:$listen: $!\n";
$server->blocking(0);

my %count;
my $total = 0;
my $used = 0;			# requests let through since the budget file appeared
my %peer;				# fileno -> [from, to, is_request_direction, held bytes]
my $sel = IO::Select->new($server);

sub save_counts
{
	open(my $f, '>', "$count_file.tmp") or return;
	print $f "$_ $count{$_}\n" for sort keys %count;
	print $f "total $total\n";
	close($f);
	rename("$count_file.tmp", $count_file);
}
save_counts();

# how many more requests may pass; undef = no limit
sub budget_left
{
	return undef unless $budget_file && -e $budget_file;
	open(my $f, '<', $budget_file) or return undef;
	my $n = <$f>;
	close($f);
	$n = 0 unless defined $n && $n =~ /^\s*(\d+)/;
	$n = $1 // 0;
	return $n - $used;
}

sub close_pair
{
	my ($fh) = @_;
	my $p = $peer{ fileno($fh) // -1 } or return;
	for my $s ($p->[0], $p->[1])
	{
		next unless defined fileno($s);
		$sel->remove($s);
		delete $peer{ fileno($s) };
		close($s);
	}
}

# forward what may pass of $buf (client -> etcd); keep the rest held
sub pass_request_bytes
{
	my ($p) = @_;
	while (length $p->[3])
	{
		my $left = budget_left();
		if (defined $left && $left <= 0 &&
			!($pass_re && $p->[3] =~ /\APOST \/v3\/(\S+)/ && $1 =~ /$pass_re/))
		{
			return;
		}
		# up to the start of the next request line after the first
		my $cut = length $p->[3];
		if ($p->[3] =~ /\A(POST \/v3\/(\S+))/)
		{
			my $path = $2;
			$count{$path}++;
			$total++;
			$used++ if $budget_file && -e $budget_file;
			save_counts();
			my $next = index($p->[3], "POST /v3/", 1);
			$cut = $next if $next > 0;
		}
		else
		{
			my $next = index($p->[3], "POST /v3/");
			$cut = $next if $next > 0;
		}
		my $chunk = substr($p->[3], 0, $cut, '');
		while (length $chunk)
		{
			my $n = syswrite($p->[1], $chunk);
			if (!defined $n)
			{
				next if $! == EAGAIN || $! == EINTR;
				close_pair($p->[0]);
				return;
			}
			substr($chunk, 0, $n) = '';
		}
	}
}

$used = 0;
while (!$stop)
{
	$used = 0 unless $budget_file && -e $budget_file;
	for my $p (values %peer)
	{
		pass_request_bytes($p) if $p->[2] && length $p->[3];
	}
	for my $fh ($sel->can_read(0.05))
	{
		if ($fh == $server)
		{
			my $c = $server->accept or next;
			my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $target,
				Proto => 'tcp', Timeout => 2);
			unless ($u) { close($c); next; }
			$peer{ fileno($c) } = [ $c, $u, 1, '' ];
			$peer{ fileno($u) } = [ $u, $c, 0, '' ];
			$sel->add($c, $u);
			next;
		}
		my $p = $peer{ fileno($fh) // -1 } or next;
		my $buf;
		my $n = sysread($fh, $buf, 65536);
		if (!defined $n)
		{
			next if $! == EAGAIN || $! == EINTR;
			close_pair($fh);
			next;
		}
		if ($n == 0)
		{
			close_pair($fh);
			next;
		}
		if ($p->[2])
		{
			$p->[3] .= $buf;
			pass_request_bytes($p);
		}
		else
		{
			my $off = 0;
			while ($off < length $buf)
			{
				my $w = syswrite($p->[1], $buf, length($buf) - $off, $off);
				if (!defined $w)
				{
					next if $! == EAGAIN || $! == EINTR;
					close_pair($fh);
					last;
				}
				$off += $w;
			}
		}
	}
}
exit 0;
