"""Suite-wide set-up shared by every test area.

The execution identity is read by ``alibabacloud_credentials`` once, at import time, from
the environment, so the obviously fake values are put in place here, before any test
module imports the SDK. Nothing in the suite may reach a real metadata service or the
internet: the ECS metadata and CLI-profile providers are switched off.
"""

from __future__ import annotations

import os

FAKE_EXECUTION_KEY_ID = "LOCAL-EXEC-KEY-ID-FAKE"
FAKE_EXECUTION_KEY_SECRET = "local-exec-secret-fake-0000"
FAKE_EXECUTION_TOKEN = "local-exec-token-fake-0000"

os.environ.update(
    {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": FAKE_EXECUTION_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": FAKE_EXECUTION_KEY_SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": FAKE_EXECUTION_TOKEN,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
    }
)
