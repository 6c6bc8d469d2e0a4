# Packaging and launch of the AWS side (included by the Makefile; uses its $(BIN) and $(STAMP)).
#   make layer                                   build build/pillow-layer.zip (Pillow, python3.12, x86_64)
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
	@echo "==> layer: Pillow (the requirements.lock pin) for python3.12 x86_64 from manylinux wheels -> $@"
	$(BIN)/python cloudformation/build_layer.py --out $@

# The function zip holds only the backend package; boto3 comes with the runtime, Pillow with the layer.
function-code:
	@echo "==> function code: lambda/snail_backend -> $(FUNCTION_DIR)/snail_backend"
	rm -rf $(FUNCTION_DIR)
	mkdir -p $(FUNCTION_DIR)
	cp -R lambda/snail_backend $(FUNCTION_DIR)/snail_backend
	find $(FUNCTION_DIR) -name __pycache__ -prune -exec rm -rf {} +

artifact-bucket:
	@test -n "$(ARTIFACT_BUCKET)" || { echo "make package: set ARTIFACT_BUCKET=<an S3 bucket of yours in $(REGION)> for the code, layer and packaged template" >&2; exit 2; }

package: artifact-bucket layer function-code
	@echo "==> package: upload $(FUNCTION_DIR) and $(LAYER_ZIP) to s3://$(ARTIFACT_BUCKET)/$(ARTIFACT_PREFIX)/, write $(PACKAGED_TEMPLATE)"
	$(AWS) cloudformation package --region $(REGION) --template-file $(CFN_TEMPLATE) \
		--s3-bucket $(ARTIFACT_BUCKET) --s3-prefix $(ARTIFACT_PREFIX) --output-template-file $(PACKAGED_TEMPLATE)
	@echo "==> package: upload $(PACKAGED_TEMPLATE) for the console's Launch stack link"
	$(AWS) s3 cp --region $(REGION) $(PACKAGED_TEMPLATE) s3://$(ARTIFACT_BUCKET)/$(ARTIFACT_PREFIX)/packaged.yaml
	@echo "Launch stack: https://console.aws.amazon.com/cloudformation/home?region=$(REGION)#/stacks/create/review?templateURL=$(TEMPLATE_URL)&stackName=$(STACK_NAME)"

deploy: package
	@echo "==> deploy: stack $(STACK_NAME) in $(REGION) with $(if $(CFN_PARAMETERS),$(CFN_PARAMETERS),the template's default parameters)"
	$(AWS) cloudformation deploy --region $(REGION) --stack-name $(STACK_NAME) --template-file $(PACKAGED_TEMPLATE) \
		--capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
		$(if $(CFN_PARAMETERS),--parameter-overrides $(CFN_PARAMETERS))
	@echo "==> deploy: redeploy the API to its stage (CloudFormation does not when only methods changed, e.g. AUTH_MODE)"
	api=$$($(AWS) cloudformation describe-stack-resource --region $(REGION) --stack-name $(STACK_NAME) \
		--logical-resource-id Api --query StackResourceDetail.PhysicalResourceId --output text) && \
	stage=$$($(AWS) cloudformation describe-stack-resource --region $(REGION) --stack-name $(STACK_NAME) \
		--logical-resource-id ApiStage --query StackResourceDetail.PhysicalResourceId --output text) && \
	$(AWS) apigateway create-deployment --region $(REGION) --rest-api-id "$$api" --stage-name "$$stage" \
		--description "make deploy" --query id --output text
	@echo "==> deploy: outputs of $(STACK_NAME)"
	$(AWS) cloudformation describe-stacks --region $(REGION) --stack-name $(STACK_NAME) \
		--query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table
