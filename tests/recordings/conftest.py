from tests.library.helpers import logged_ffprobe, upload_spool  # noqa: F401 - fixtures
