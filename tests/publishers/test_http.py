"""The shared HTTP helpers: the streamed multipart body (resent whole on a retry), redaction."""

from __future__ import annotations

import requests

from publishers.base import redact
from publishers.http import MultipartFile


def test_multipart_stream_reads_the_same_in_any_chunk_size(clip_files):
    body = MultipartFile([("key", "a/b.mp4"), ("policy", 'x"y')], "file", clip_files["video"], "ad.mp4", "video/mp4")
    whole = body.read()
    assert len(whole) == len(body)
    for size in (1, 7, 4096):
        body.seek(0)
        chunks = []
        while chunk := body.read(size):
            chunks.append(chunk)
        assert b"".join(chunks) == whole
    assert whole.endswith(clip_files["video"].read_bytes() + f"\r\n--{body.boundary}--\r\n".encode())
    assert whole.index(b'name="key"') < whole.index(b'name="policy"') < whole.index(b'name="file"; filename="ad.mp4"')


def test_requests_sends_it_with_a_content_length(clip_files):
    body = MultipartFile([("key", "v")], "file", clip_files["video"], "ad.mp4", "video/mp4")
    prepared = requests.Request("POST", "http://127.0.0.1:9/x", data=body, headers={"Content-Type": body.content_type}).prepare()
    assert prepared.headers["Content-Length"] == str(len(body))
    assert prepared.body is body


def test_a_retried_upload_sends_the_whole_body_again(clip_files, httpserver):
    from werkzeug import Response

    from productreel import http

    bodies: list[bytes] = []

    def handler(request):
        bodies.append(request.get_data())
        return Response("", status=503, headers={"Retry-After": "0"}) if len(bodies) == 1 else Response("ok")

    httpserver.expect_request("/upload", method="POST").respond_with_handler(handler)
    body = MultipartFile([("key", "v")], "file", clip_files["video"], "ad.mp4", "video/mp4")
    whole = body.read()
    body.seek(0)
    upload = http.session(idempotent_post=True, sleep=lambda _: None)
    response = upload.post(httpserver.url_for("/upload"), data=body, headers={"Content-Type": body.content_type})
    assert response.status_code == 200 and bodies == [whole, whole]


def test_redact_hides_secrets_and_credential_shapes():
    text = redact("token shpat_abc123 failed; Authorization: Basic dXNlcjpwYXNz; url ?consumer_secret=cs_1&x=2", ["shpat_abc123"])
    assert "shpat_abc123" not in text and "dXNlcjpwYXNz" not in text and "cs_1" not in text
