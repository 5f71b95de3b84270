"""A local OSS emulator: PostObject V4/V1 checks, object API, CORS, website hosting, callbacks."""
