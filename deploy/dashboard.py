"""Uploads dashboard_static/ to the stage's bucket: right content types, cache headers, the stage's config.json.

- Content types are set per extension (ES modules are refused by browsers unless served as
  JavaScript), never guessed by S3.
- The entry points (index.html, config.json, branding.json) are `no-cache`: a deploy or a
  rebranding shows on the next load. Other files are not fingerprinted, so they get a short
  max-age; after the upload the CloudFront cache is invalidated.
- config.json is dashboard_static/config.json with `api_url` set to the stage's API.
- Objects in the bucket that are no longer in dashboard_static/ are deleted (a sync).
"""
from __future__ import annotations

import json
import mimetypes
import time
from pathlib import Path

from deploy.project import ROOT

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE, NOTICE
}
NO_CACHE = "no-cache"
SHORT = "public, max-age=300"
ENTRY_POINTS = {"index.html", "config.json", "branding.json"}


def content_type(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    return NO_CACHE if key in ENTRY_POINTS else SHORT


def stage_config(source: Path, api_url: str) -> bytes:
    """dashboard_static/config.json with the stage's API URL (other keys kept)."""
    path = source / "config.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    config["api_url"] = api_url.rstrip("/")
    return (json.dumps(config, indent=2) + "\n").encode()


def files(source: Path) -> dict[str, Path]:
    return {p.relative_to(source).as_posix(): p for p in sorted(source.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(source).parts)}


def upload(session, bucket: str, api_url: str, source: Path | None = None, distribution_id: str = "",
           log=print) -> dict[str, dict]:
    """Returns key -> {"ContentType", "CacheControl"} of what was uploaded."""
    source = source or ROOT / "dashboard_static"
    s3 = session.client("s3")
    uploaded = {}
    for key, path in files(source).items():
        body = stage_config(source, api_url) if key == "config.json" else path.read_bytes()
        meta = {"ContentType": content_type(key), "CacheControl": cache_control(key)}
        s3.put_object(Bucket=bucket, Key=key, Body=body, **meta)
        uploaded[key] = meta
    if "config.json" not in uploaded:
        meta = {"ContentType": CONTENT_TYPES[".json"], "CacheControl": NO_CACHE}
        s3.put_object(Bucket=bucket, Key="config.json", Body=stage_config(source, api_url), **meta)
        uploaded["config.json"] = meta
    stale = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
             for obj in page.get("Contents", []) if obj["Key"] not in uploaded]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[start:start + 1000]]})
    if distribution_id:
        session.client("cloudfront").create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": str(time.time())})
    log(f"dashboard: {len(uploaded)} files to s3://{bucket}"
        + (f", {len(stale)} stale removed" if stale else "") + (", CDN cache invalidated" if distribution_id else ""))
    return uploaded


def empty_bucket(session, bucket: str) -> int:
    """Every object version and delete marker, so that CloudFormation can delete the bucket."""
    s3 = session.client("s3")
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})
            removed += len(keys)
    return removed
