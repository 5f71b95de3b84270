"""A local STS stub: AssumeRole over HTTP, with caller signature checks and role policies."""
