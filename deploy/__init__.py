"""Deploy as code: vendoring and packaging per instance model, the page publisher
(``python -m deploy.publish_page``, also imported by the local cloud), the upload bucket's
set-up on the s.yaml path (``python -m deploy.upload_bucket``: lifecycle rule merged in,
CORS checked), and the offline checks of s.yaml/template.yml (schema, references, names,
policies, environment).

Owns nothing the function imports at run time and never imports the function. The
standard library plus ``packaging`` (vendoring) and ``alibabacloud-oss-v2`` (publishing and
the bucket set-up, imported when used); the tests add PyYAML and jsonschema around the
parsed files.
"""
