#!/bin/sh
# The HTTP API with curl, against a running `snail-images serve --ready-file READY`: store a PNG
# under its file name, read its catalog record, then list the catalog (one JSON answer per line).
# Usage: examples/local/http-api-with-curl.sh READY IMAGE.png   (a plain file name: letters, digits, . _ -)
set -eu
ready=$1
image=$2
name=$(basename "$image")
api=$(jq -r .api_url "$ready")
key=$(jq -r .api_key "$ready")
digest=$(sha256sum "$image" | cut -d' ' -f1)
curl -sS --fail-with-body -X PUT --data-binary @"$image" -H "x-api-key: $key" -H "Content-Type: image/png" \
     -H "filename: $name" -H "x-content-sha256: $digest" "$api/images/$name"
echo
curl -sS --fail-with-body -H "x-api-key: $key" "$api/images/$name"
echo
curl -sS --fail-with-body -H "x-api-key: $key" "$api/images"
echo
