from tests.support.library import logged_ffprobe, page, upload_spool  # noqa: F401 - fixtures
