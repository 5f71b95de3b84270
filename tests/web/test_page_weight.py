"""What the upload page ships: at most 45,000 bytes, all of it the project's own.

The shipped files are what deploy/publish_page.py publishes from web/ (index.html, style.css,
js/*.js; web/README.md and the generated config.js excluded), measured uncompressed.
"""

from __future__ import annotations

import re

from deploy.publish_page import page_files
from tests.web.conftest import WEB_DIR

#: The page's budget (issue 13), uncompressed.
MAX_PAGE_BYTES = 45_000


def test_the_shipped_page_weighs_at_most_45000_bytes_uncompressed() -> None:
    shipped = {f.key: len(f.body) for f in page_files(WEB_DIR)}
    assert set(shipped) >= {"index.html", "style.css", "js/app.js"}
    names = r"index\.html|style\.css|js/[a-z]+\.js"
    assert all(re.fullmatch(names, key) for key in shipped), shipped
    assert sum(shipped.values()) <= MAX_PAGE_BYTES, shipped


def test_the_page_loads_no_third_party_code_and_has_no_inline_script() -> None:
    files = {f.key: f.body.decode("utf-8") for f in page_files(WEB_DIR)}
    html = files["index.html"]
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all(re.search(r'\bsrc="[\w./-]+"', attrs) and not body.strip()
                           for attrs, body in scripts), scripts
    assert not re.search(r"\bon[a-z]+=", html)  # no inline event handlers either
    for key, text in files.items():
        assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//|@import|url\(""", text), key
        for spec in re.findall(r"""\bfrom\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)""", text):
            assert any(s.startswith("./") for s in spec), (key, spec)
