#!/bin/sh
# Store the stack's API key as the image repository's Actions secret, without showing it.
# Usage: examples/deploy/store-api-key.sh STACK_NAME REGION OWNER/REPOSITORY   (the AWS CLI and gh, signed in)
set -eu
stack=$1
region=$2
repo=$3
key_id=$(aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='ApiKeyId'].OutputValue" --output text)
# The stack's output ApiKeyValueCommand is this command; its output goes straight into the secret.
aws apigateway get-api-key --api-key "$key_id" --include-value --query value --output text --region "$region" |
    gh secret set SNAIL_IMAGES_API_KEY --repo "$repo"
