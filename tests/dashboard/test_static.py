"""What ships in dashboard_static/: strict-CSP friendly, text-only rendering, theme-only colors, pinned vendor."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "dashboard_static"
APP_JS = sorted((STATIC / "js").rglob("*.js"))
CHOOVIO = {"primary": "#2C5282", "secondary": "#ED8936", "accent": "#805AD5"}


def _code(line: str) -> str:
    """A line without its // comment (and without doc-comment lines)."""
    if line.lstrip().startswith(("*", "/*")):
        return ""
    return re.sub(r"(^|\s)//.*$", "", line)


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict] = []
        self.inline_code: list[str] = []
        self.styles = 0
        self.style_attrs = 0
        self.event_attrs: list[str] = []
        self.csp = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a)
            self._in_script = True
        if tag == "style":
            self.styles += 1
        if "style" in a:
            self.style_attrs += 1
        self.event_attrs += [k for k in a if k.startswith("on")]
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = a.get("content", "")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_code.append(data)


def test_index_has_no_inline_code_and_a_strict_csp():
    scan = _Scan()
    scan.feed((STATIC / "index.html").read_text())
    assert scan.scripts == [{"type": "module", "src": "js/main.js"}]
    assert not scan.inline_code and not scan.styles and not scan.style_attrs and not scan.event_attrs
    directives = dict(d.strip().split(" ", 1) for d in scan.csp.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in scan.csp and "unsafe-eval" not in scan.csp


def test_no_html_parsing_of_data_anywhere_in_the_app():
    # Text goes through textContent / createTextNode only (js/dom.js); these sinks parse HTML or code.
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|"
                       r"setAttribute\(\s*['\"](style|on\w+)['\"]")
    offenders = [f"{p.relative_to(STATIC)}:{n}" for p in APP_JS
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if sinks.search(_code(line)) and "is not allowed" not in line and "'innerHTML'" not in line]
    assert offenders == []


def test_colors_live_only_in_the_theme():
    color = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(")
    for path in [STATIC / "css" / "app.css", *APP_JS]:
        text = "\n".join(_code(line) for line in re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S).splitlines())
        hits = [m.group(0) for m in color.finditer(text)]
        assert hits == [], f"{path.relative_to(STATIC)} hard-codes colors {hits}; use css/theme.css variables"


def test_default_branding_is_the_choovio_preset():
    branding = json.loads((STATIC / "branding.json").read_text())
    assert branding["colors"] == CHOOVIO
    theme = (STATIC / "css" / "theme.css").read_text()
    for key, value in CHOOVIO.items():
        assert f"--brand-{key}: {value};" in theme
    for key in ("product_name", "logo", "favicon", "support"):
        assert key in branding
    assert (STATIC / branding["logo"]).is_file() and (STATIC / branding["favicon"]).is_file()


def test_chart_library_is_pinned_vendored_and_licensed():
    readme = (STATIC / "vendor" / "README.md").read_text()
    version = re.search(r"\| \[uPlot\]\([^)]*\) \| (\d+\.\d+\.\d+) \| MIT", readme).group(1)
    bundle = (STATIC / "vendor" / "uplot" / "uPlot.esm.js").read_text()
    assert f"v{version}" in bundle[:400]
    assert "MIT" in (STATIC / "vendor" / "uplot" / "LICENSE").read_text()
    assert "sha512-" in readme


def test_no_secrets_in_shipped_files():
    patterns = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.|AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY|"
                          r"a-long-password|admin@example\.com|\"(password|secret|token)\"\s*:\s*\"[^\"]+\"", re.I)
    for path in STATIC.rglob("*"):
        if path.is_file() and path.suffix in (".js", ".json", ".html", ".css", ".md", ".svg"):
            assert not patterns.search(path.read_text(errors="replace")), path
    config = json.loads((STATIC / "config.json").read_text())
    assert set(config) <= {"api_url", "mqtt"}


def test_access_token_never_reaches_storage():
    api = (STATIC / "js" / "api.js").read_text()
    assert "localStorage" not in api
    stores = re.findall(r"sessionStorage\.setItem\(([^,]+),", api)
    assert stores == ["REFRESH_KEY"]
    assert not any("localStorage.setItem" in p.read_text() and "token" in p.read_text().lower()
                   for p in APP_JS if p.name != "main.js")
