# Packaging and launch targets (layer, package, deploy); owned by the CloudFormation work.
.PHONY: layer package deploy
layer package deploy:
	@echo "not yet built: $@" >&2; exit 2
