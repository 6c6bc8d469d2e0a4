#!/bin/sh
# Build the Pillow layer, upload the code and deploy the stack with both an API key and GitHub OIDC
# (`make deploy` runs `make package`, which runs `make layer`). Run it from the repository root, with
# the AWS CLI, credentials for the target account and an S3 bucket of yours in REGION for the code.
# Usage: examples/deploy/deploy.sh ARTIFACT_BUCKET REGION GITHUB_ORG GITHUB_REPO
# (MAKE="make -n" prints every command instead of running it.)
set -eu
${MAKE:-make} deploy ARTIFACT_BUCKET="$1" REGION="$2" STACK_NAME=snail-images \
    AUTH_MODE=BOTH GITHUB_ORG="$3" GITHUB_REPO="$4"
