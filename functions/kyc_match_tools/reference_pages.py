"""The API's reference, as `kyc-match serve` shows it (#28 item 2): no API key, as `/health`.

- `GET /openapi.yaml`: openapi/kyc-match-aggregator.yaml, the committed document, byte for byte (a
  generator's input: `openapi-python-client generate --url http://127.0.0.1:8080/openapi.yaml`);
- `GET /docs`: Swagger UI rendering it, from the files of the `swagger-ui-bundle` package (installed
  by `scripts/bootstrap` and `scripts/bootstrap local`): no CDN, nothing fetched from elsewhere.

Local only: the deployed API Gateway serves neither (the document is in the repository).
"""

import html
import json
from functools import cache
from pathlib import Path

from kyc_match_tools.openapi_bundle import API_ROOT_DEFAULT, OUTPUT, ROOT

OPENAPI_PATH = "/openapi.yaml"
DOCS_PATH = "/docs"
TITLE = "KYC Match aggregator: API reference"
# The package's files the page loads, and their types. Nothing else of the package is served.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

Page = tuple[str, bytes]  # content type, body


def page(path: str) -> Page | None:
    """What `GET path` answers, or None when the path is not one of the reference's."""
    if path == OPENAPI_PATH:
        document = ROOT / OUTPUT
        return ("application/yaml; charset=utf-8", document.read_bytes()) if document.exists() else None
    if path in {DOCS_PATH, DOCS_PATH + "/"}:
        return "text/html; charset=utf-8", _html()
    name = path.removeprefix(DOCS_PATH + "/")
    if name in ASSETS and path != name:
        folder = swagger_ui_folder()
        return (ASSETS[name], (folder / name).read_bytes()) if folder is not None else None
    return None


def swagger_ui_folder() -> Path | None:
    """Swagger UI's distribution, as the `swagger-ui-bundle` package ships it (None: not installed)."""
    try:
        from swagger_ui_bundle import (  # type: ignore[import-untyped]  # noqa: PLC0415 - optional
            swagger_ui_path,
        )
    except ImportError:
        return None
    return Path(str(swagger_ui_path))


@cache
def _html() -> bytes:
    if swagger_ui_folder() is None:
        body = (
            f"<h1>{html.escape(TITLE)}</h1><p>The page needs the <code>swagger-ui-bundle</code> package: "
            "run <code>scripts/bootstrap local</code>. The document itself is at "
            f'<a href="{OPENAPI_PATH}">{OPENAPI_PATH}</a>.</p>'
        )
        return _document(body).encode("utf-8")
    # No online validator (Swagger UI sends the document to one by default). "Try it out" calls the
    # server this page came from: the document's default apiRoot is serve's default address, and a
    # page on another port would otherwise call across origins (a preflight the API answers 405).
    options = {"url": OPENAPI_PATH, "dom_id": "#swagger-ui", "deepLinking": True, "validatorUrl": None}
    script = (
        f"const options = {json.dumps(options)};\n"
        f"const apiRoot = {json.dumps(API_ROOT_DEFAULT)};\n"
        "options.presets = [SwaggerUIBundle.presets.apis];\n"
        'options.layout = "BaseLayout";\n'
        "options.requestInterceptor = (request) => {\n"
        '  if (request.url.startsWith(apiRoot + "/")) {\n'
        "    request.url = window.location.origin + request.url.slice(apiRoot.length);\n"
        "  }\n"
        "  return request;\n"
        "};\n"
        "window.ui = SwaggerUIBundle(options);\n"
    )
    body = f'<div id="swagger-ui"></div>\n<script src="{DOCS_PATH}/swagger-ui-bundle.js"></script>\n'
    body += f"<script>\n{script}</script>\n"
    head = f'<link rel="stylesheet" href="{DOCS_PATH}/swagger-ui.css">\n'
    head += f'<link rel="icon" type="image/png" href="{DOCS_PATH}/favicon-32x32.png">\n'
    return _document(body, head).encode("utf-8")


def _document(body: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(TITLE)}</title>\n{head}</head>\n<body>\n{body}</body>\n</html>\n"
    )
