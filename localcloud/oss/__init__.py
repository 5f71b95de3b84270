"""A local OSS emulator: PostObject V4/V1 verification, the object API, CORS, website hosting, callbacks."""
