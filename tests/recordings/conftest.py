from tests.library.helpers import logged_ffprobe, page, upload_spool  # noqa: F401 - fixtures
