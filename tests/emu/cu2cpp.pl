#!/usr/bin/perl
# tests/emu/cu2cpp.pl IN.cu OUT.cpp: a kernels/cuda source as C++ for the CPU
# emulator (tests/emu/emu_cuda.h, docs/cuda.md). Line numbers are kept.
#   k<<<grid, block[, smem[, stream]]>>>(args)  -> emu::launch(k, "k", grid, ...)(args)
#   extern __shared__ T name[];                -> T *name = (T *)emu::smem_dyn();
#   __shared__ T a[N][M], b;                   -> references into the block's
#                                                 shared arena (emu::smem_static)
# Anything else with <<< or __shared__ left is an error.
use strict;
use warnings;

my ($in, $out) = @ARGV;
die "usage: cu2cpp.pl IN OUT\n" unless defined $out;
open my $f, '<', $in or die "cu2cpp: $in: $!\n";
my $s = do { local $/; <$f> };
close $f;

sub shared_decls {
    my ($body) = @_;
    my ($type, $first) = $body =~ /^\s*((?:[A-Za-z_][\w:]*\s+)*?[A-Za-z_][\w:]*)\s+([A-Za-z_]\w*\s*(?:\[.*)?)$/s
        or die "cu2cpp: $in: cannot read __shared__ $body\n";
    my @decl = ($first);
    # later declarators of a list: split at commas outside brackets
    my @parts = ('');
    my $depth = 0;
    for my $ch (split //, $first) {
        $depth++ if $ch eq '[';
        $depth-- if $ch eq ']';
        if ($ch eq ',' && $depth == 0) { push @parts, ''; next; }
        $parts[-1] .= $ch;
    }
    my $outs = '';
    for my $d (@parts) {
        my ($name, $dims) = $d =~ /^\s*([A-Za-z_]\w*)\s*((?:\[[^\]]+\]\s*)*)$/
            or die "cu2cpp: $in: cannot read __shared__ declarator '$d'\n";
        $dims =~ s/\s+$//;
        my $key = "emu_smem_key_$name";
        if ($dims eq '') {
            $outs .= "static char $key; $type &$name = *($type *)emu::smem_static(&$key, sizeof($type)); ";
        } else {
            $outs .= "static char $key; $type(&$name)$dims = *($type(*)$dims)emu::smem_static(&$key, sizeof($type$dims)); ";
        }
    }
    $outs =~ s/ $//;
    return $outs;
}

my $n = 0;
$n += $s =~ s{\b([A-Za-z_]\w*(?:<[^<>;()]*>)?)\s*<<<(.*?)>>>}{emu::launch($1, "$1", $2)}gs;
$s =~ s{\bextern\s+__shared__\s+([A-Za-z_][\w\s]*?)\s+([A-Za-z_]\w*)\s*\[\s*\]\s*;}{$1 *$2 = ($1 *)emu::smem_dyn();}g;
$s =~ s{\b__shared__\s+([^;]+);}{shared_decls($1)}ge;
for my $bad ('<<<', '>>>', '__shared__') {
    die "cu2cpp: $in: '$bad' left that cu2cpp.pl does not understand\n" if index($s, $bad) >= 0;
}
open my $o, '>', "$out.tmp" or die "cu2cpp: $out.tmp: $!\n";
print $o "#line 1 \"$in\"\n", $s;
close $o or die "cu2cpp: $out.tmp: $!\n";
rename "$out.tmp", $out or die "cu2cpp: $out: $!\n";
