"""A local STS stub: AssumeRole over HTTP, with caller signature checks and role policies."""

from __future__ import annotations

from localcloud.sts.faults import Fault, FaultMode, FaultPlan
from localcloud.sts.roles import Role, StsSettings
from localcloud.sts.server import RunningSts, StsStub

__all__ = ["Fault", "FaultMode", "FaultPlan", "Role", "RunningSts", "StsSettings", "StsStub"]
