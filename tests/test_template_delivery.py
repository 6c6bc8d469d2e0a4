"""The delivery's CloudFront resources read from the template (moto's CloudFormation has none of them):
only the distribution's Origin Access Control reads the bucket, and only the four stored kinds;
images/incoming/ is not routable; HTTPS only, HTTP/2 and 3, no compression, the managed caching
policy for objects and a short one for by-path redirects; the optional custom domain; and the
functions get the distribution's URL."""

from __future__ import annotations

import fnmatch
import re

import pytest

from snail_backend.delivery import MISSING_MAX_AGE, PATH_MAX_AGE
from test_template_static import TEMPLATE, Stack, as_list, statements

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # AWS's managed policy ID (documented, fixed)
KINDS = ("raw", "sg", "md", "lg")
CLOUDFRONT_TYPES = {"AWS::CloudFront::Distribution", "AWS::CloudFront::OriginAccessControl",
                    "AWS::CloudFront::Function", "AWS::CloudFront::CachePolicy"}
DOMAIN = {"DeliveryDomainName": "images.example.com",
          "DeliveryCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/"
                                    "0a1b2c3d-4e5f-6789-abcd-ef0123456789"}


def config(stack: Stack) -> dict:
    return stack.props("DeliveryDistribution")["DistributionConfig"]


def behaviours(stack: Stack) -> list[dict]:
    cfg = config(stack)
    return [cfg["DefaultCacheBehavior"], *cfg["CacheBehaviors"]]


def routed(stack: Stack, path: str) -> dict:
    """The behaviour CloudFront picks for a path: the first pattern in order that matches, else the default."""
    for b in config(stack)["CacheBehaviors"]:
        if fnmatch.fnmatchcase(path, b["PathPattern"]):
            return b
    return config(stack)["DefaultCacheBehavior"]


def test_delivery_is_on_by_default_and_off_leaves_no_cloudfront_and_no_url():
    assert TEMPLATE["Parameters"]["Delivery"]["Default"] == "true"
    on, off = Stack(), Stack(Delivery="false")
    assert {r["Type"] for r in on.resources.values()} >= CLOUDFRONT_TYPES
    assert not {r["Type"] for r in off.resources.values()} & CLOUDFRONT_TYPES
    for name in ("InsertFunction", "DeleteFunction", "IncomingFunction"):
        assert on.props(name)["Environment"]["Variables"]["DELIVERY_URL"] == {
            "Fn::Sub": "https://${DeliveryDistribution.DomainName}"}
        assert off.props(name)["Environment"]["Variables"]["DELIVERY_URL"] == ""
    allows = [s for s in statements(off.props("ImageBucketPolicy")["PolicyDocument"]) if s.get("Effect") == "Allow"]
    assert allows == []


def test_the_bucket_policy_allows_only_the_distributions_oac_to_get_the_four_stored_kinds():
    stack = Stack()
    allows = [s for s in statements(stack.props("ImageBucketPolicy")["PolicyDocument"]) if s.get("Effect") == "Allow"]
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert as_list(allow["Action"]) == ["s3:GetObject"]
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": (
        "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${DeliveryDistribution}")}}}
    resources = [r["Fn::Sub"] for r in as_list(allow["Resource"])]
    assert resources == [f"${{ImageBucket.Arn}}/images/{k}/*" for k in KINDS]
    assert not any(fnmatch.fnmatchcase("${ImageBucket.Arn}/images/incoming/x.png", r) for r in resources)
    # The bucket stays private: public access blocked, and the origin signs with OAC (no legacy OAI).
    assert all(stack.props("ImageBucket")["PublicAccessBlockConfiguration"].values())
    oac = stack.props("DeliveryOriginAccessControl")["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == (
        "s3", "always", "sigv4")
    (bucket_origin,) = [o for o in config(stack)["Origins"] if "S3OriginConfig" in o]
    assert bucket_origin["OriginAccessControlId"] == {"Fn::GetAtt": ["DeliveryOriginAccessControl", "Id"]}
    assert bucket_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert bucket_origin["DomainName"]["Fn::Sub"].startswith("${BucketNamePrefix}-${AWS::AccountId}-${AWS::Region}.s3.")


@pytest.mark.parametrize("path", ["images/incoming/0123abcd.png", "images/incoming/", "images/incoming",
                                  "incoming/x.png", "images/other/x.png", "images", "index.html", ""])
def test_incoming_and_every_other_path_reach_only_the_404_function(path):
    stack = Stack()
    behaviour = routed(stack, path)
    assert behaviour is config(stack)["DefaultCacheBehavior"]
    (assoc,) = behaviour["FunctionAssociations"]
    assert assoc["EventType"] == "viewer-request"
    assert assoc["FunctionARN"] == {"Fn::GetAtt": ["DeliveryNotFoundFunction", "FunctionMetadata.FunctionARN"]}


def test_the_404_function_answers_404_for_every_request_and_never_passes_it_on():
    code = Stack().props("DeliveryNotFoundFunction")["FunctionCode"]
    # A viewer-request function that returns a response object answers it; returning the request would forward it.
    assert re.fullmatch(r"\s*function handler\(event\) \{\s*return \{ statusCode: 404,.*\};\s*\}\s*", code, re.S)
    assert "event.request" not in code and "return event" not in code
    assert Stack().props("DeliveryNotFoundFunction")["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"


@pytest.mark.parametrize("kind", KINDS)
def test_objects_and_by_path_urls_route_to_their_origins(kind):
    stack = Stack()
    obj = routed(stack, f"images/{kind}/0123456789abcdef0123.png")
    assert obj["TargetOriginId"] == "images" and obj["CachePolicyId"] == CACHING_OPTIMIZED
    assert "FunctionAssociations" not in obj
    by_path = routed(stack, f"{kind}/photos/cat.jpg")
    assert by_path["TargetOriginId"] == "by-path"
    assert by_path["CachePolicyId"] == {"Ref": "DeliveryByPathCachePolicy"}


def test_by_path_urls_reach_the_apis_files_route_and_forward_nothing_but_the_path():
    stack = Stack()
    (api_origin,) = [o for o in config(stack)["Origins"] if o["Id"] == "by-path"]
    assert api_origin["DomainName"] == {"Fn::Sub": "${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert api_origin["OriginPath"] == {"Fn::Sub": "/${StageName}/files"}
    assert stack.props("FilesResource")["PathPart"] == "files"
    assert api_origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    policy = stack.props("DeliveryByPathCachePolicy")["CachePolicyConfig"]
    assert policy["DefaultTTL"] == PATH_MAX_AGE and policy["MinTTL"] == 0 and policy["MaxTTL"] >= PATH_MAX_AGE
    assert policy["MaxTTL"] <= 300 and MISSING_MAX_AGE <= PATH_MAX_AGE
    keyed = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    # A forwarded Host header would make API Gateway refuse the request (it routes by its own host name).
    assert keyed["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert keyed["CookiesConfig"] == {"CookieBehavior": "none"}
    assert keyed["QueryStringsConfig"] == {"QueryStringBehavior": "none"}


def test_https_only_http2_and_3_no_compression_read_only():
    stack = Stack()
    cfg = config(stack)
    assert cfg["HttpVersion"] == "http2and3" and cfg["Enabled"] is True
    for b in behaviours(stack):
        assert b["ViewerProtocolPolicy"] == "https-only"
        assert b["Compress"] is False
        assert b["AllowedMethods"] == ["GET", "HEAD"]
    assert cfg["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}
    assert "Aliases" not in cfg or cfg["Aliases"] == {"Ref": "AWS::NoValue"}


def test_a_custom_domain_gets_its_certificate_with_sni_and_modern_tls_and_becomes_the_url():
    stack = Stack(**DOMAIN)
    cfg = config(stack)
    assert cfg["Aliases"] == ["images.example.com"]
    assert cfg["ViewerCertificate"] == {"AcmCertificateArn": DOMAIN["DeliveryCertificateArn"],
                                        "SslSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"}
    assert stack.props("InsertFunction")["Environment"]["Variables"]["DELIVERY_URL"] == {
        "Fn::Sub": "https://${DeliveryDomainName}"}
    rule = TEMPLATE["Rules"]["DeliveryDomainNeedsCertificate"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DeliveryDomainName"}, ""]}]}
    asserted = [a["Assert"] for a in rule["Assertions"]]
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "DeliveryCertificateArn"}, ""]}]} in asserted
    pattern = TEMPLATE["Parameters"]["DeliveryCertificateArn"]["AllowedPattern"]
    assert re.fullmatch(pattern, DOMAIN["DeliveryCertificateArn"]) and re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, DOMAIN["DeliveryCertificateArn"].replace("us-east-1", "eu-west-1"))


def test_outputs_give_the_delivery_url_only_with_delivery():
    outputs = TEMPLATE["Outputs"]
    assert outputs["DeliveryUrl"]["Condition"] == "UseDelivery"
    assert outputs["DeliveryUrl"]["Value"] == {"Fn::If": ["UseDeliveryDomain", {"Fn::Sub": "https://${DeliveryDomainName}"},
                                                         {"Fn::Sub": "https://${DeliveryDistribution.DomainName}"}]}

