"""Shared fixtures: a whole local cloud (emulator, STS stub, signing function) on port 0.

Other test areas may import these (``from tests.e2e.conftest import ...``) or request the
fixtures by name from a conftest that re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest

from localcloud import webupload
from localcloud.stack import LocalCloud


def admin_client(cloud: LocalCloud) -> oss.Client:
    """Return an SDK client for the stack's admin identity (the independent reader).

    No retries: a refused or failed read shows as the test's failure, not as a retry.
    """
    return webupload.admin_client(cloud, retry_max_attempts=1)


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A running stack shared by a module's tests; stopped even on failure."""
    state: Path = tmp_path_factory.mktemp("localcloud")
    # The round trips cover both grant routes; the sample route is off unless switched on.
    with LocalCloud.start(state, function_env_overrides={"UPLOAD_SAMPLE_ROUTE": "on"}) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def oss_admin(local_cloud: LocalCloud) -> oss.Client:
    """An SDK client reading the stack's buckets (uploads and page) as admin."""
    return admin_client(local_cloud)
