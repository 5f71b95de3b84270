"""Deploy as code: vendoring and packaging per instance model, the page publisher
(``python -m deploy.publish_page``, also imported by the local cloud), and the offline
checks of s.yaml/template.yml (schema, references, names, policies, environment).

Owns nothing the function imports at run time and never imports the function. The
standard library plus ``packaging`` (vendoring) and ``alibabacloud-oss-v2`` (publishing,
imported when used); the tests add PyYAML and jsonschema around the parsed files.
"""
