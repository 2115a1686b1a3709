#!/usr/bin/env bash
# Builds the starting corpus of each fuzz target from the repository's own samples: the
# fixture forwards (after a kind byte: even = MO, odd = DLR), the shipped mapping files and
# the signature headers of the test vectors.
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../tests/fixtures/strex

for target in forward_parse plan_forward mapping_source signature_header; do
    mkdir -p "corpus/$target"
done
for file in "$fixtures"/mo-*.json "$fixtures"/dlr-*.json; do
    name=$(basename "$file" .json)
    case "$name" in mo-*) kind='\x00' ;; *) kind='\x01' ;; esac
    for target in forward_parse plan_forward; do
        { printf "$kind"; cat "$file"; } > "corpus/$target/$name"
    done
done
cp ../mappings/*.yaml corpus/mapping_source/
python3 - <<'PY'
import json, pathlib
vectors = json.loads(pathlib.Path("../tests/fixtures/strex/signatures/vectors.json").read_text())
for vector in vectors["vectors"]:
    header = vector.get("x_ecdsa_signature")
    if header is not None:
        pathlib.Path("corpus/signature_header", vector["id"]).write_text(header)
PY
