"""Uploads: one photo per search, a body over the limit refused before it is read, and the
pixel limit on every way an image is decoded."""

import io
import socket
import time

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.conftest import dataset_photos

pytestmark = pytest.mark.django_db

PHOTO_SEARCH = "/api/v1/search/photo/"


def photo(name="photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, dataset_photos(1)[0].read_bytes(), "image/jpeg")


def test_photo_search_takes_one_file_part(client):
    two = client.post(PHOTO_SEARCH, {"image": [photo(), photo("b.jpg")]})
    misnamed = client.post(PHOTO_SEARCH, {"picture": photo()})

    assert two.status_code == 400 and two.json()["error"]["code"] == "one_image_only"
    assert misnamed.status_code == 400 and misnamed.json()["error"]["code"] == "no_image"


def test_more_file_parts_than_the_setting_allows_is_a_coded_400(client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    response = client.post(PHOTO_SEARCH, {"image": [photo(), photo("b.jpg"), photo("c.jpg")]})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_files"


def test_an_oversized_body_is_refused_from_its_length_before_it_arrives(live_server, settings):
    """Over real HTTP: the server answers 413 while the client has sent only the headers."""
    host, port = live_server.thread.host, live_server.thread.port
    declared = settings.FIDELIS_MAX_REQUEST_BYTES + 1
    head = (
        f"POST {PHOTO_SEARCH} HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(head.encode())  # and not one byte of the body
        answer = b""
        while b"file_too_large" not in answer and time.monotonic() - started < 10:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk

    assert answer.startswith(b"HTTP/1.1 413") and b'"code": "file_too_large"' in answer
    assert time.monotonic() - started < 10


def test_a_bad_content_length_is_a_400(client):
    response = client.generic("POST", PHOTO_SEARCH, b"", CONTENT_LENGTH="lots")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_content_length"


def test_pillows_own_limit_applies_to_every_decode(settings):
    assert Image.MAX_IMAGE_PIXELS * 2 == settings.FIDELIS_MAX_IMAGE_PIXELS
    side = int(settings.FIDELIS_MAX_IMAGE_PIXELS**0.5) + 100  # just over the limit
    buffer = io.BytesIO()
    Image.new("L", (side, side)).save(buffer, "PNG")  # a few kB that decode to 40+ MP

    field = forms.ImageField()  # what every admin and form upload runs through
    with pytest.raises(forms.ValidationError):
        field.clean(SimpleUploadedFile("bomb.png", buffer.getvalue(), "image/png"))
