"""A local S3-protocol server (moto) and settings that point default storage at it.

def test_x(s3):   # s3 is a boto3 client for the bucket BUCKET; STORAGES now use it
"""

from __future__ import annotations

import socket

import boto3
import pytest
from boto3.s3.transfer import TransferConfig

BUCKET = "streamus-test"
MiB = 1024 * 1024
# Small enough that any test file goes through the multipart API, as large recordings do.
MULTIPART_TEST_CONFIG = TransferConfig(multipart_threshold=64 * 1024, multipart_chunksize=5 * MiB)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(settings, s3_server):
    client = boto3.client(
        "s3", endpoint_url=s3_server, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGE = "s3"
    settings.STORAGES = {
        "default": {
            "BACKEND": "apps.library.storage.UserFileS3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "access_key": "test",
                "secret_key": "test",
                "region_name": "us-east-1",
                "default_acl": None,
                "querystring_auth": True,
                "transfer_config": MULTIPART_TEST_CONFIG,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    for upload in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        client.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    client.delete_bucket(Bucket=BUCKET)
