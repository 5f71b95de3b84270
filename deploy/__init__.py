"""Deploy-as-code helpers: vendoring, packaging and the offline checks of s.yaml/template.yml.

Owns nothing the function imports at run time; depends on the standard library only
(tests add PyYAML and jsonschema around it).
"""
