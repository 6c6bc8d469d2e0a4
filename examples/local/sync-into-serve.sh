#!/bin/sh
# Sync every image of a git repository into a running `snail-images serve --ready-file READY`.
# Usage: examples/local/sync-into-serve.sh READY REPOSITORY
set -eu
ready=$1
repo=$2
api=$(jq -r .api_url "$ready")
# The key goes through the environment: a command line is visible to other processes.
SNAIL_API_KEY=$(jq -r .api_key "$ready") snail-images sync --path "$repo" --api-url "$api" --all
