"""The dashboard upload against moto's S3 (and CloudFront for the cache invalidation)."""
from __future__ import annotations

import json

import boto3

from deploy import dashboard
from deploy.project import ROOT


def test_every_shipped_file_gets_a_real_content_type():
    for key in dashboard.files(ROOT / "dashboard_static"):
        assert dashboard.content_type(key) != "application/octet-stream", key
    assert dashboard.content_type("js/main.js").startswith("text/javascript")  # ES modules need it
    assert dashboard.content_type("vendor/uplot/uPlot.min.css").startswith("text/css")
    assert dashboard.content_type("img/logo.svg") == "image/svg+xml"
    assert dashboard.content_type("vendor/uplot/LICENSE").startswith("text/plain")


def test_upload_sets_types_cache_headers_config_and_removes_stale_files(aws, tmp_path):
    source = tmp_path / "site"
    (source / "js").mkdir(parents=True)
    (source / "index.html").write_text("<!doctype html>")
    (source / "js" / "main.js").write_text("export {}")
    (source / "config.json").write_text(json.dumps({"api_url": "http://127.0.0.1:8000", "product": "kept"}))
    (source / ".DS_Store").write_text("never shipped")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="dash")
    s3.put_object(Bucket="dash", Key="old.js", Body=b"stale")
    cloudfront = boto3.client("cloudfront")
    dist = cloudfront.create_distribution(DistributionConfig={
        "CallerReference": "t", "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": "dash.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}},
    })["Distribution"]["Id"]

    uploaded = dashboard.upload(boto3.Session(), "dash", "https://abc.execute-api.us-east-1.amazonaws.com/api/",
                                source=source, distribution_id=dist, log=lambda *_: None)

    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="dash")["Contents"]}
    assert keys == {"index.html", "js/main.js", "config.json"} == set(uploaded)
    head = s3.head_object(Bucket="dash", Key="js/main.js")
    assert head["ContentType"] == "text/javascript; charset=utf-8" and head["CacheControl"] == "public, max-age=300"
    assert s3.head_object(Bucket="dash", Key="index.html")["CacheControl"] == "no-cache"
    config = json.loads(s3.get_object(Bucket="dash", Key="config.json")["Body"].read())
    assert config == {"api_url": "https://abc.execute-api.us-east-1.amazonaws.com/api", "product": "kept"}
    invalidations = cloudfront.list_invalidations(DistributionId=dist)["InvalidationList"]
    assert invalidations["Quantity"] == 1


def test_a_missing_config_file_is_written(aws, tmp_path):
    (tmp_path / "index.html").write_text("x")
    boto3.client("s3").create_bucket(Bucket="dash")
    uploaded = dashboard.upload(boto3.Session(), "dash", "https://api.example/api", source=tmp_path,
                                log=lambda *_: None)
    assert uploaded["config.json"] == {"ContentType": "application/json", "CacheControl": "no-cache"}
