#!/usr/bin/env bash
# Seed each fuzz target's corpus (fuzz/corpus/<target>/, not committed) from the repository's
# fixtures: archives as they are, and files taken out of the healthy fixture's node snapshot.
set -euo pipefail
cd "$(dirname "$0")"
root=..
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p corpus/{archive,pki,host_parsers,yaml_objects,runbook}
for f in "$root"/bundles/fixtures/*/*.tgz "$root"/bundles/demo/*.zip; do
    cp "$f" "corpus/archive/$(basename "$(dirname "$f")")-$(basename "$f")"
done
tar xzf "$root/bundles/fixtures/healthy/s1.tgz" -C "$tmp"
find "$tmp" \( -name '*.crt' -o -name '*.key' -o -name '*.kubeconfig' -o -name 'token' \) -type f | head -60 |
    while read -r f; do cp "$f" "corpus/pki/$(echo "$f" | tr / _)"; done
find "$tmp" \( -path '*commands*' -o -name 'passwd' -o -name 'group' -o -name '*.conf' -o -name 'config.yaml*' \) -type f |
    while read -r f; do cp "$f" "corpus/host_parsers/$(echo "$f" | tr / _)"; done
unzip -o -q "$root"/bundles/demo/supportbundle_*.zip -d "$tmp/b"
find "$tmp/b" -name '*.yaml' -type f -size -200k | head -80 | while read -r f; do cp "$f" "corpus/yaml_objects/$(echo "$f" | tr / _)"; done
for k in leaf-certs service-account-key; do
    (cd "$root" && cargo run -q --release -- plan "$k" bundles/fixtures/healthy/*.tgz --at 2026-11-20T10:00:00Z 2>/dev/null) > "corpus/runbook/$k.yaml" || true
done
echo "seeded: $(for d in corpus/*; do printf '%s=%s ' "$(basename "$d")" "$(ls "$d" | wc -l)"; done)"
