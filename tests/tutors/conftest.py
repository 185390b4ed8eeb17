import io
import zipfile

import pytest

from tests.factories import TutorProfileFactory, UserFactory

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + b"0" * 200 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("secret.txt", "not a pdf")
    return buffer.getvalue()


def upload(client, headers, kind="id_card", data=PDF, filename="passport.pdf"):
    payload = {"kind": kind, "file": (io.BytesIO(data), filename)} if data is not None else {"kind": kind}
    return client.post("/api/v1/tutors/me/documents", data=payload, headers=headers,
                       content_type="multipart/form-data")


@pytest.fixture
def tutor(app):
    return UserFactory(roles=["tutor"], full_name="Tina Tutor")


@pytest.fixture
def tutor_with_profile(app):
    return TutorProfileFactory(user=UserFactory(roles=["tutor"], full_name="Paula Profile")).user


@pytest.fixture
def admin(app):
    return UserFactory(roles=["admin"], full_name="Ada Admin")


@pytest.fixture
def student(app):
    return UserFactory(roles=["student"], full_name="Stu Dent")
