# Packaging and launch of the AWS side (included by the Makefile; uses its $(BIN) and $(STAMP)).
#   make layer                                   build build/pillow-layer.zip (Pillow + decoders, python3.12, x86_64)
#   make package ARTIFACT_BUCKET=my-bucket       stage the code, upload code + layer, write build/packaged.yaml
#   make deploy  ARTIFACT_BUCKET=my-bucket [AUTH_MODE=BOTH GITHUB_ORG=me GITHUB_REPO=images ...]
# Every variable below can be set on the command line; empty ones leave the template's default.
.PHONY: layer package deploy function-code artifact-bucket

AWS ?= aws
REGION ?= $(or $(AWS_REGION),$(AWS_DEFAULT_REGION),us-east-1)
STACK_NAME ?= snail-images
ARTIFACT_BUCKET ?=
ARTIFACT_PREFIX ?= snail-images

# Template parameters (see the parameter table in docs/deploying.md).
AUTH_MODE ?=
STAGE_NAME ?=
THROTTLE_RATE_LIMIT ?=
THROTTLE_BURST_LIMIT ?=
GITHUB_ORG ?=
GITHUB_REPO ?=
GITHUB_BRANCH ?=
GITHUB_OWNER_ID ?=
GITHUB_REPOSITORY_ID ?=
CREATE_OIDC_PROVIDER ?=
VARIANT_SIZES ?=
KEY_SCHEME ?=
MAX_IMAGE_PIXELS ?=
UPLOAD_URL_EXPIRES ?=
INCOMING_EXPIRATION_DAYS ?=
BUCKET_NAME_PREFIX ?=
TABLE_NAME ?=
INSERT_FUNCTION_NAME ?=
DELETE_FUNCTION_NAME ?=
INCOMING_FUNCTION_NAME ?=
PILLOW_LAYER_ARN ?=
LOG_RETENTION_DAYS ?=
DELIVERY ?=
DELIVERY_DOMAIN_NAME ?=
DELIVERY_CERTIFICATE_ARN ?=

CFN_TEMPLATE := cloudformation/template.yaml
# The template with the API's Deployment named after the API's definition (api_deployment.py).
BUILD_TEMPLATE := build/template.yaml
API_DEPLOYMENT_PARAMS := $(if $(AUTH_MODE),--param 'AuthMode=$(AUTH_MODE)') \
	$(if $(INSERT_FUNCTION_NAME),--param 'InsertFunctionName=$(INSERT_FUNCTION_NAME)') \
	$(if $(DELETE_FUNCTION_NAME),--param 'DeleteFunctionName=$(DELETE_FUNCTION_NAME)')
LAYER_ZIP := build/pillow-layer.zip
FUNCTION_DIR := build/function
PACKAGED_TEMPLATE := build/packaged.yaml

# make variable -> template parameter; only the non-empty ones are passed.
CFN_PARAMETER_MAP := \
	AUTH_MODE:AuthMode STAGE_NAME:StageName THROTTLE_RATE_LIMIT:ThrottleRateLimit \
	THROTTLE_BURST_LIMIT:ThrottleBurstLimit GITHUB_ORG:GitHubOrg GITHUB_REPO:GitHubRepo \
	GITHUB_BRANCH:GitHubBranch GITHUB_OWNER_ID:GitHubOwnerId GITHUB_REPOSITORY_ID:GitHubRepositoryId \
	CREATE_OIDC_PROVIDER:CreateGitHubOidcProvider VARIANT_SIZES:VariantSizes KEY_SCHEME:KeyScheme \
	MAX_IMAGE_PIXELS:MaxImagePixels UPLOAD_URL_EXPIRES:UploadUrlExpires \
	INCOMING_EXPIRATION_DAYS:IncomingExpirationDays BUCKET_NAME_PREFIX:BucketNamePrefix \
	TABLE_NAME:TableName INSERT_FUNCTION_NAME:InsertFunctionName DELETE_FUNCTION_NAME:DeleteFunctionName \
	INCOMING_FUNCTION_NAME:IncomingFunctionName PILLOW_LAYER_ARN:PillowLayerArn \
	LOG_RETENTION_DAYS:LogRetentionDays DELIVERY:Delivery DELIVERY_DOMAIN_NAME:DeliveryDomainName \
	DELIVERY_CERTIFICATE_ARN:DeliveryCertificateArn
CFN_PARAMETERS := $(strip $(foreach pair,$(CFN_PARAMETER_MAP),$(if $($(word 1,$(subst :, ,$(pair)))),\
	'$(word 2,$(subst :, ,$(pair)))=$($(word 1,$(subst :, ,$(pair))))')))

TEMPLATE_URL = https://$(ARTIFACT_BUCKET).s3.$(REGION).amazonaws.com/$(ARTIFACT_PREFIX)/packaged.yaml

layer: $(LAYER_ZIP)
	@echo "layer: $(LAYER_ZIP) is ready"

$(LAYER_ZIP): cloudformation/build_layer.py requirements.lock | $(STAMP)
	@echo "==> layer: Pillow, pi-heif, resvg-py, defusedxml (the requirements.lock pins) for python3.12 x86_64 -> $@"
	$(BIN)/python cloudformation/build_layer.py --out $@

# The function zip holds the backend package and the boto3/botocore that requirements.lock pins (the
# tests ran them; the runtime's own copy changes without notice, and /var/task comes first on the
# function's sys.path); Pillow comes with the layer.
BOTO_PACKAGES := boto3 botocore s3transfer jmespath python-dateutil six urllib3

function-code: | $(STAMP)
	@echo "==> function code: lambda/snail_backend and the locked $(BOTO_PACKAGES) -> $(FUNCTION_DIR)"
	rm -rf $(FUNCTION_DIR)
	mkdir -p $(FUNCTION_DIR)
	cp -R lambda/snail_backend $(FUNCTION_DIR)/snail_backend
	$(BIN)/python -m pip install --quiet --no-deps --no-compile --only-binary=:all: --python-version 3.12 \
		--implementation py --target $(FUNCTION_DIR) -c requirements.lock $(BOTO_PACKAGES)
	rm -rf $(FUNCTION_DIR)/bin
	find $(FUNCTION_DIR) -name __pycache__ -prune -exec rm -rf {} +

artifact-bucket:
	@test -n "$(ARTIFACT_BUCKET)" || { echo "make package: set ARTIFACT_BUCKET=<an S3 bucket of yours in $(REGION)> for the code, layer and packaged template" >&2; exit 2; }

package: artifact-bucket layer function-code
	@echo "==> package: name the API's deployment after its definition, so a stack update publishes API changes"
	$(BIN)/python cloudformation/api_deployment.py --template $(CFN_TEMPLATE) --out $(BUILD_TEMPLATE) $(strip $(API_DEPLOYMENT_PARAMS))
	@echo "==> package: upload $(FUNCTION_DIR) and $(LAYER_ZIP) to s3://$(ARTIFACT_BUCKET)/$(ARTIFACT_PREFIX)/, write $(PACKAGED_TEMPLATE)"
	$(AWS) cloudformation package --region $(REGION) --template-file $(BUILD_TEMPLATE) \
		--s3-bucket $(ARTIFACT_BUCKET) --s3-prefix $(ARTIFACT_PREFIX) --output-template-file $(PACKAGED_TEMPLATE)
	@echo "==> package: upload $(PACKAGED_TEMPLATE) for the console's Launch stack link"
	$(AWS) s3 cp --region $(REGION) $(PACKAGED_TEMPLATE) s3://$(ARTIFACT_BUCKET)/$(ARTIFACT_PREFIX)/packaged.yaml
	@echo "Launch stack: https://console.aws.amazon.com/cloudformation/home?region=$(REGION)#/stacks/create/review?templateURL=$(TEMPLATE_URL)&stackName=$(STACK_NAME)"

deploy: package
	@echo "==> deploy: stack $(STACK_NAME) in $(REGION) with $(if $(CFN_PARAMETERS),$(CFN_PARAMETERS),the template's default parameters)"
	$(AWS) cloudformation deploy --region $(REGION) --stack-name $(STACK_NAME) --template-file $(PACKAGED_TEMPLATE) \
		--capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
		$(if $(CFN_PARAMETERS),--parameter-overrides $(CFN_PARAMETERS))
	@echo "==> deploy: outputs of $(STACK_NAME)"
	$(AWS) cloudformation describe-stacks --region $(REGION) --stack-name $(STACK_NAME) \
		--query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table

# After every deploy: a small and a large image through the deployed stack, then an audit.
#   make smoke API_URL=https://....execute-api.REGION.amazonaws.com/prod API_KEY=... [STACK_NAME=...]
.PHONY: smoke
API_URL ?=
API_KEY ?=
SMOKE_AUDIT ?= --stack $(STACK_NAME) --region $(REGION)
SMOKE_ARGS ?=
export API_URL API_KEY SMOKE_AUDIT
smoke: | $(STAMP)
	@$(BIN)/python cloudformation/smoke.py $(SMOKE_ARGS)
