"""STORAGE=s3 against a local S3-protocol server: multipart resumable uploads, object metadata, pre-signed
serving, and clip processing that reads from and writes to the bucket."""

from __future__ import annotations

import io

import httpx
import pytest
from django.urls import reverse
from PIL import Image

from apps.branding.models import BrandAsset
from apps.library.models import MediaClip, UploadSession
from apps.library.tasks import process_clip
from apps.recordings.models import Recording
from tests.factories import BrandKitFactory, StreamFactory
from tests.support.library import make_clip
from tests.support.s3 import BUCKET

MiB = 1024 * 1024


def patch(api, upload_id, offset, data, **extra):
    return api.generic(
        "PATCH",
        reverse("api-upload-detail", args=[upload_id]),
        data=data,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **extra,
    )


def test_multipart_upload_resumes_and_assembles_in_the_bucket(user_api, user, s3, settings):
    settings.UPLOAD_CHUNK_BYTES = 64 * 1024  # raised to S3's 5 MiB part minimum
    header = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    data = header + bytes(range(256)) * ((11 * MiB) // 256)
    created = user_api.post(reverse("api-upload-list"), {"purpose": "clip", "size": len(data)}, format="json").json()
    chunk = created["chunk_size"]
    assert chunk == 5 * MiB
    upload_id = created["id"]

    assert patch(user_api, upload_id, 0, data[:chunk]).status_code == 200
    # A retried first part after a drop: the server says where it stands.
    stale = patch(user_api, upload_id, 0, data[:chunk])
    assert (stale.status_code, stale["Upload-Offset"]) == (409, str(chunk))
    assert not s3.list_objects_v2(Bucket=BUCKET).get("Contents")  # parts only, nothing assembled yet
    offset = chunk
    while offset < len(data):
        response = patch(user_api, upload_id, offset, data[offset : offset + chunk])
        assert response.status_code == 200, response.content
        offset = response.json()["offset"]

    session = UploadSession.objects.get(pk=upload_id)
    clip = MediaClip.objects.get(pk=session.clip_id)
    obj = s3.get_object(Bucket=BUCKET, Key=clip.original.name)
    assert obj["Body"].read() == data
    assert obj["ContentDisposition"] == "attachment"
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")


def test_refused_upload_aborts_the_multipart_upload(user_api, s3):
    upload_id = user_api.post(reverse("api-upload-list"), {"purpose": "clip", "size": 100}, format="json").json()["id"]
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    response = patch(user_api, upload_id, 0, b"#EXTM3U\n" + b"#" * 92)
    assert response.status_code == 415
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads")
    assert not s3.list_objects_v2(Bucket=BUCKET).get("Contents")


def test_brand_asset_object_has_our_type_and_disposition(user_api, user, s3):
    kit = BrandKitFactory(owner=user)
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(png, "PNG")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = user_api.post(
        reverse("api-brand-asset-upload", args=[kit.pk]),
        {"kind": "logo", "file": SimpleUploadedFile("x.html", png.getvalue(), "text/html")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    asset = BrandAsset.objects.get(pk=response.json()["id"])
    head = s3.head_object(Bucket=BUCKET, Key=asset.file.name)
    assert (head["ContentType"], head["ContentDisposition"]) == ("image/png", "attachment")


def test_recording_is_served_by_a_presigned_url_with_inline_disposition(user_client, user, s3):
    stream = StreamFactory(owner=user)
    s3.put_object(Bucket=BUCKET, Key="recordings/show.webm", Body=b"webm-bytes", ContentType="video/webm")
    recording = Recording.objects.create(stream=stream, title="Show", size_bytes=10, format="webm")
    Recording.objects.filter(pk=recording.pk).update(file="recordings/show.webm")

    response = user_client.get(reverse("recordings:file", args=[recording.pk]))

    assert response.status_code == 302
    fetched = httpx.get(response["Location"])
    assert fetched.status_code == 200
    assert fetched.content == b"webm-bytes"
    assert fetched.headers["content-type"] == "video/webm"
    assert fetched.headers["content-disposition"].startswith("inline")
    download = httpx.get(user_client.get(reverse("recordings:file", args=[recording.pk]) + "?download=1")["Location"])
    assert download.headers["content-disposition"].startswith("attachment")


@pytest.mark.media
def test_clip_processing_reads_and_writes_the_bucket(user, s3, tmp_path):
    source = make_clip(tmp_path / "c.mp4", seconds=1)
    s3.put_object(Bucket=BUCKET, Key="library/c/source.bin", Body=source.read_bytes())
    clip = MediaClip.objects.create(owner=user, title="Cloud", size_bytes=source.stat().st_size)
    MediaClip.objects.filter(pk=clip.pk).update(original="library/c/source.bin")

    process_clip(clip.pk)

    clip.refresh_from_db()
    assert clip.status == MediaClip.Status.READY, clip.error
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {clip.mezzanine.name, clip.thumbnail.name}  # the original is gone from the bucket
    head = s3.head_object(Bucket=BUCKET, Key=clip.mezzanine.name)
    assert (head["ContentType"], head["ContentLength"]) == ("video/mp4", clip.mezzanine.size)
