"""Local fakes of the storefront APIs, following shared/reference/storefront-apis.md strictly."""

from __future__ import annotations

import base64 as _base64
import json as _json
import re as _re
import threading as _threading
import time as _time
from urllib.parse import unquote as _unquote

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

# --- Shopify Admin GraphQL ------------------------------------------------------------------------

SHOP_TOKEN = "shpat_test_secret_token_123"


class Crash(BaseException):
    """A kill -9 stand-in: not an Exception, so nothing in the code under test catches it."""


def parse_multipart(request: Request) -> list[tuple[str, bytes]]:
    """The (field name, raw value) pairs of a multipart body, in the order they were sent."""
    ctype = request.headers.get("Content-Type", "")
    found = _re.search(r'boundary="?([^";]+)"?', ctype)
    if not ctype.startswith("multipart/form-data") or not found:
        return []
    boundary = found.group(1).encode()
    parts = []
    for chunk in request.get_data().split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, body = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        name = _re.search(rb'name="([^"]*)"', head)
        parts.append((name.group(1).decode() if name else "", body[:-2] if body.endswith(b"\r\n") else body))
    return parts


class FakeShopify:
    """Products with media, staged targets on a local bucket route, media that process over polls, faults on demand.

    Files model (2024-07+): fileCreate makes a file in the store's Files (not on any product), its
    fileStatus moves UPLOADED -> PROCESSING -> READY|FAILED over polls, fileUpdate referencesToAdd
    (READY files only, else NON_READY_STATE) puts it in the product's media, fileDelete removes it
    everywhere. ``video_limit`` is the plan cap on hosted videos (NON_IMAGE_MEDIA_PER_SHOP_LIMIT_EXCEEDED).
    A version older than every served one falls forward to the oldest served (HTTP 200, no error);
    every answer names the version served in X-Shopify-API-Version.
    """

    versions = {"2024-04", "2024-07", "2024-10", "2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-04",
                "2026-07", "2026-10"}

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.lock = _threading.Lock()
        self.products: dict[str, dict] = {}
        self.files: dict[str, dict] = {}  # every file in the store (Content > Files), attached or not
        self.video_limit = 1000  # the plan's cap on hosted videos (and 3D models)
        self.served: list[str] = []  # the version each GraphQL answer was served with
        self.staged: dict[int, dict] = {}
        self.media_seq = 5000
        self.staged_seq = 0
        self.faults: list[tuple[str | None, str]] = []  # (operation or None for any, fault)
        self.upload_faults: list[str] = []
        self.polls_to_ready = 2  # UPLOADED -> PROCESSING -> READY
        self.fail_processing: str | None = None  # a MediaErrorCode to fail with
        self.delay = 0.8
        self.ops: list[str] = []
        self.uploads = 0
        self.available = 990.0  # the leaky bucket's currentlyAvailable in every answer
        self.add_product("gid://shopify/Product/1001", "mug")
        server.expect_request(_re.compile(r"^/admin/api/[^/]+/graphql\.json$"), method="POST").respond_with_handler(self.graphql)
        server.expect_request(_re.compile(r"^/staged/\d+$"), method="POST").respond_with_handler(self.staged_upload)

    @property
    def store_url(self) -> str:
        """The base URL standing in for https://<shop>.myshopify.com."""
        return self.server.url_for("/").rstrip("/")

    @property
    def writes(self) -> list[str]:
        """The mutations received (every write call on the store)."""
        return [op for op in self.ops if op in {"ProductUpdate", "ProductCreateMedia", "ProductDeleteMedia", "StagedUploadsCreate",
                                                 "FileCreate", "FileUpdate", "FileDelete"}]

    def add_product(self, gid: str, handle: str) -> dict:
        """A product with one merchant photo and one merchant video that productreel must never touch."""
        product = {"id": gid, "handle": handle, "media": [
            {"id": "gid://shopify/MediaImage/1", "alt": "merchant photo", "mediaContentType": "IMAGE", "status": "READY", "polls": 0},
            {"id": "gid://shopify/Video/2", "alt": "merchant video", "mediaContentType": "VIDEO", "status": "READY", "polls": 0},
        ]}
        self.products[gid] = product
        for node in product["media"]:
            self.files[node["id"]] = node
        return product

    def ours(self, gid: str = "gid://shopify/Product/1001") -> list[dict]:
        """The product's productreel videos."""
        return [m for m in self.products[gid]["media"] if "[productreel " in (m.get("alt") or "")]

    def all_ours(self) -> list[dict]:
        """Every productreel video file in the store, attached to a product or not (each counts against the plan)."""
        return [f for f in self.files.values() if "[productreel " in (f.get("alt") or "")]

    def add_video(self, alt: str, gid: str | None = "gid://shopify/Product/1001", status: str = "READY",
                  filename: str | None = None) -> str:
        """Put a video in the store's files, and on the product unless gid is None (an earlier run, or the merchant)."""
        self.media_seq += 1
        mid = f"gid://shopify/Video/{self.media_seq}"
        node = {"id": mid, "alt": alt, "mediaContentType": "VIDEO", "status": status, "polls": 0, "source": None,
                "filename": filename or f"video-{self.media_seq}.mp4"}
        if gid is not None:
            self.products[gid]["media"].append(node)
        self.files[mid] = node
        return mid

    # --- GraphQL -----------------------------------------------------------
    def _cost(self, available: float = 990.0) -> dict:
        return {"cost": {"requestedQueryCost": 12, "actualQueryCost": 12,
                         "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": 50.0}}}

    def _reply(self, data=None, errors=None, status=200, available=None) -> Response:
        body: dict = {"extensions": self._cost(self.available if available is None else available)}
        if data is not None:
            body["data"] = data
        if errors is not None:
            body["errors"] = errors
        return Response(_json.dumps(body), status=status, content_type="application/json")

    def _take_fault(self, op: str) -> str | None:
        with self.lock:
            for i, (want, fault) in enumerate(self.faults):
                if want is None or want == op:
                    del self.faults[i]
                    return fault
        return None

    def graphql(self, request: Request) -> Response:
        asked = request.path.split("/")[3]
        version = self._serve(asked)
        if request.headers.get("X-Shopify-Access-Token") != SHOP_TOKEN:
            return Response(_json.dumps({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
                            status=401, content_type="application/json")
        if version is None:
            return Response("Not Found", status=404)
        reply = self._graphql(request, version)
        reply.headers["X-Shopify-API-Version"] = version
        self.served.append(version)
        return reply

    def _serve(self, asked: str) -> str | None:
        """The version that answers: the one asked for, the oldest served for an older one, None (404) otherwise."""
        if asked in self.versions:
            return asked
        if _re.fullmatch(r"\d{4}-\d{2}", asked) and asked < min(self.versions):
            return min(self.versions)
        return None

    def _graphql(self, request: Request, version: str) -> Response:
        body = _json.loads(request.get_data())
        op = body.get("operationName") or ""
        variables = body.get("variables") or {}
        assert op and op in body["query"], "operationName must name the operation in the query"
        fault = self._take_fault(op)
        if fault == "429":
            return Response(_json.dumps({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}),
                            status=429, headers={"Retry-After": "2.0"}, content_type="application/json")
        if fault == "throttled":
            return self._reply(errors=[{"message": "Throttled", "extensions": {"code": "THROTTLED",
                               "documentation": "https://shopify.dev/api/usage/rate-limits"}}], available=2.0)
        if fault == "502":
            return Response("<html>502 Bad Gateway</html>", status=502)
        if fault == "media-limit" and op == "ProductUpdate":
            self.ops.append(op)
            return self._reply({"productUpdate": {"product": None, "userErrors": [
                {"field": ["media", "0"], "message": "Product has reached the maximum number of media (250)"}]}})
        if fault == "media-limit" and op == "FileUpdate":
            self.ops.append(op)
            return self._reply({"fileUpdate": {"files": None, "userErrors": [
                {"code": "PRODUCT_MEDIA_LIMIT_EXCEEDED", "field": ["files", "0", "referencesToAdd"],
                 "message": "Product has reached the maximum number of media (250)"}]}})
        if fault == "media-limit" and op == "ProductCreateMedia":
            self.ops.append(op)
            return self._reply({"productCreateMedia": {"media": [], "mediaUserErrors": [
                {"code": "PRODUCT_MEDIA_LIMIT_EXCEEDED", "field": ["media"], "message": "Product media limit exceeded"}]}})
        self.ops.append(op)
        handler = getattr(self, "op_" + op, None)
        if handler is None:
            return self._reply(errors=[{"message": f"unknown operation {op}", "extensions": {"code": "undefinedField"}}])
        with self.lock:
            reply = handler(variables, version)
        if fault == "502-after":  # did the work, then the gateway failed: an ambiguous answer
            return Response("<html>502 Bad Gateway</html>", status=502)
        if fault == "timeout":  # did the work, answered too late
            _time.sleep(self.delay)
        return reply

    def op_StagedUploadsCreate(self, v, version):
        targets, errors = [], []
        for item in v["input"]:
            if item.get("resource") != "VIDEO":
                errors.append({"field": ["input", "resource"], "message": "only VIDEO in this fake"})
                continue
            if not isinstance(item.get("fileSize"), str) or not item["fileSize"].isdigit():
                errors.append({"field": ["input", "fileSize"], "message": "File size is required for VIDEO"})
                continue
            if item.get("mimeType") != "video/mp4" or not item.get("filename"):
                errors.append({"field": ["input", "mimeType"], "message": "mimeType and filename are required"})
                continue
            self.staged_seq += 1
            n = self.staged_seq
            params = [{"name": "GoogleAccessId", "value": "video-production@shopify"},
                      {"name": "key", "value": f"dev/o/v/{n}.mp4"},
                      {"name": "policy", "value": f"policy-{n}"},
                      {"name": "signature", "value": f"sig-{n}"}]
            resource = f"{self.store_url}/staged/{n}?external_video_id={n}"
            self.staged[n] = {"params": params, "size": int(item["fileSize"]), "resource_url": resource, "bytes": None}
            targets.append({"url": self.server.url_for(f"/staged/{n}"), "resourceUrl": resource, "parameters": params})
        return self._reply({"stagedUploadsCreate": {"stagedTargets": targets, "userErrors": errors}})

    def _create_media(self, gid, media):
        created = []
        for m in media:
            if m.get("mediaContentType") != "VIDEO":
                return None, [{"code": "INVALID", "field": ["media", "mediaContentType"], "message": "expected VIDEO"}]
            found = _re.search(r"/staged/(\d+)\?external_video_id=", m.get("originalSource") or "")
            staged = self.staged.get(int(found.group(1))) if found else None
            self.media_seq += 1
            node = {"id": f"gid://shopify/Video/{self.media_seq}", "alt": m.get("alt", ""), "mediaContentType": "VIDEO",
                    "status": "UPLOADED", "polls": 0, "source": staged and staged["bytes"], "filename": f"video-{self.media_seq}.mp4"}
            self.products[gid]["media"].append(node)
            self.files[node["id"]] = node
            created.append(node)
        return created, []

    def _public(self, node):
        return {k: node[k] for k in ("id", "alt", "mediaContentType", "status")}

    def op_ProductUpdate(self, v, version):
        if version < "2024-10":
            return self._reply(errors=[{"message": "Field 'product' doesn't accept argument 'product'",
                                        "extensions": {"code": "argumentNotAccepted"}}])
        gid = v["product"]["id"]
        if gid not in self.products:
            return self._reply({"productUpdate": {"product": None, "userErrors": [{"field": ["id"], "message": "Product does not exist"}]}})
        created, errors = self._create_media(gid, v.get("media") or [])
        if errors:
            return self._reply({"productUpdate": {"product": None, "userErrors": errors}})
        nodes = [self._public(n) for n in self.products[gid]["media"]]
        return self._reply({"productUpdate": {"product": {"id": gid, "media": {"nodes": nodes}}, "userErrors": []}})

    def op_ProductCreateMedia(self, v, version):
        gid = v["productId"]
        if gid not in self.products:
            return self._reply({"productCreateMedia": {"media": [], "mediaUserErrors": [
                {"code": "PRODUCT_DOES_NOT_EXIST", "field": ["productId"], "message": "Product does not exist"}]}})
        created, errors = self._create_media(gid, v.get("media") or [])
        return self._reply({"productCreateMedia": {"media": [self._public(n) for n in created or []], "mediaUserErrors": errors}})

    def op_ProductMedia(self, v, version):
        product = self.products.get(v["id"])
        if product is None:
            return self._reply({"product": None})
        return self._reply({"product": {"id": product["id"], "media": {"nodes": [self._public(n) for n in product["media"]]}}})

    def op_ProductByHandle(self, v, version):
        found = _re.fullmatch(r"handle:'(.*)'", v["query"])
        nodes = [{"id": p["id"], "handle": p["handle"]} for p in self.products.values() if found and p["handle"] == found.group(1)]
        return self._reply({"products": {"nodes": nodes[:1]}})

    def op_MediaNode(self, v, version):
        node = self.files.get(v["id"])
        return self._reply({"node": self._advance(node) if node is not None else None})

    # --- the files model ------------------------------------------------------
    def op_FileCreate(self, v, version):
        files, errors = [], []
        for i, item in enumerate(v["files"]):
            found = _re.search(r"/staged/(\d+)\?external_video_id=", item.get("originalSource") or "")
            staged = self.staged.get(int(found.group(1))) if found else None
            if item.get("contentType") != "VIDEO" or staged is None:
                # External URLs work for images only; a video needs a staged upload's resourceUrl.
                errors.append({"code": "INVALID", "field": ["files", str(i), "originalSource"],
                               "message": "Video and 3D model files require a staged upload URL"})
                continue
            videos = sum(1 for f in self.files.values() if f["mediaContentType"] == "VIDEO")
            if videos >= self.video_limit:
                errors.append({"code": "NON_IMAGE_MEDIA_PER_SHOP_LIMIT_EXCEEDED", "field": ["files", str(i)],
                               "message": f"The shop has reached its limit of {self.video_limit} videos and 3D models"})
                continue
            name = item.get("filename") or f"{found.group(1)}.mp4"
            if any(f.get("filename") == name for f in self.files.values()):  # duplicateResolutionMode APPEND_UUID
                stem, dot, ext = name.rpartition(".")
                name = f"{stem}_{self.media_seq:08x}-uuid.{ext}"
            self.media_seq += 1
            node = {"id": f"gid://shopify/Video/{self.media_seq}", "alt": item.get("alt", ""), "mediaContentType": "VIDEO",
                    "status": "UPLOADED", "polls": 0, "source": staged["bytes"], "filename": name}
            self.files[node["id"]] = node
            files.append({"id": node["id"], "alt": node["alt"], "fileStatus": "UPLOADED"})
        return self._reply({"fileCreate": {"files": files, "userErrors": errors}})

    def op_Files(self, v, version):
        terms = dict(t.split(":", 1) for t in v["query"].split() if ":" in t)
        nodes = []
        for f in self.files.values():
            if terms.get("media_type") and f["mediaContentType"] != terms["media_type"]:
                continue
            want = terms.get("filename", "")
            name = f.get("filename", "")
            if want and not (name.startswith(want[:-1]) if want.endswith("*") else name == want):
                continue
            nodes.append({"id": f["id"], "alt": f["alt"], "fileStatus": f["status"], "filename": name})
        return self._reply({"files": {"nodes": nodes[:50]}})

    def op_FileUpdate(self, v, version):
        if version < "2024-07":
            return self._reply(errors=[{"message": "InputObject 'FileUpdateInput' doesn't accept argument 'referencesToAdd'",
                                        "extensions": {"code": "argumentNotAccepted"}}])
        files, errors = [], []
        for i, item in enumerate(v["files"]):
            node = self.files.get(item["id"])
            if node is None:
                errors.append({"code": "FILE_DOES_NOT_EXIST", "field": ["files", str(i), "id"], "message": "File does not exist"})
                continue
            if node["status"] != "READY":
                errors.append({"code": "NON_READY_STATE", "field": ["files", str(i), "id"],
                               "message": "Files must be in a ready state before they can be updated"})
                continue
            for gid in item.get("referencesToAdd") or []:
                product = self.products.get(gid)
                if product is None:
                    errors.append({"code": "REFERENCE_TARGET_DOES_NOT_EXIST", "field": ["files", str(i), "referencesToAdd"],
                                   "message": "The reference target does not exist"})
                elif all(m["id"] != node["id"] for m in product["media"]):
                    product["media"].append(node)
            files.append({"id": node["id"], "fileStatus": node["status"]})
        return self._reply({"fileUpdate": {"files": files, "userErrors": errors}})

    def op_FileDelete(self, v, version):
        deleted, errors = [], []
        for fid in v["fileIds"]:
            node = self.files.pop(fid, None)
            if node is None:
                errors.append({"code": "FILE_DOES_NOT_EXIST", "field": ["fileIds"], "message": f"File id {fid} does not exist"})
                continue
            for product in self.products.values():
                product["media"] = [m for m in product["media"] if m["id"] != fid]
            deleted.append(fid)
        return self._reply({"fileDelete": {"deletedFileIds": deleted, "userErrors": errors}})

    def _advance(self, node):
        if node["status"] in {"UPLOADED", "PROCESSING"}:
            node["polls"] += 1
            if node["polls"] >= self.polls_to_ready:
                if self.fail_processing or node.get("source") is None and node["id"] != "gid://shopify/Video/2":
                    node["status"] = "FAILED"
                    node["error"] = self.fail_processing or "VIDEO_METADATA_READ_ERROR"
                else:
                    node["status"] = "READY"
            else:
                node["status"] = "PROCESSING"
        out = self._public(node)
        out["fileStatus"] = node["status"]
        out["mediaErrors"] = ([{"code": node["error"], "details": "the video is too short", "message": "Processing failed"}]
                              if node["status"] == "FAILED" else [])
        out["fileErrors"] = out["mediaErrors"]
        out["sources"] = ([{"url": f"https://cdn.example.com/videos/{node['id'].rsplit('/', 1)[1]}.mp4", "mimeType": "video/mp4",
                            "format": "mp4", "height": 112, "width": 64}] if node["status"] == "READY" else [])
        return out

    def op_ProductDeleteMedia(self, v, version):
        product = self.products.get(v["productId"])
        deleted, errors = [], []
        for mid in v["mediaIds"]:
            node = next((n for n in product["media"] if n["id"] == mid), None)
            if node is None:
                errors.append({"code": "MEDIA_DOES_NOT_EXIST", "field": ["mediaIds"], "message": f"Media id {mid} does not exist"})
            else:
                product["media"].remove(node)
                self.files.pop(mid, None)
                deleted.append(mid)
        return self._reply({"productDeleteMedia": {"deletedMediaIds": deleted, "mediaUserErrors": errors}})

    # --- the staged upload target (a storage bucket) ------------------------
    def staged_upload(self, request: Request) -> Response:
        n = int(request.path.rsplit("/", 1)[1])
        staged = self.staged.get(n)
        if staged is None:
            return Response("<Error><Code>NoSuchUpload</Code></Error>", status=404)
        if "X-Shopify-Access-Token" in request.headers:
            return Response("<Error><Code>InvalidArgument</Code><Message>unexpected credential</Message></Error>", status=400)
        with self.lock:
            fault = self.upload_faults.pop(0) if self.upload_faults else None
        if fault == "502":
            return Response("Bad Gateway", status=502)
        parts = parse_multipart(request)
        names = [name for name, _ in parts]
        expected = [p["name"] for p in staged["params"]] + ["file"]
        if names != expected:
            return Response(f"<Error><Code>InvalidPolicyDocument</Code><Message>fields {names}, expected {expected}</Message></Error>",
                            status=400)
        for (name, value), param in zip(parts, staged["params"]):
            if value.decode() != param["value"]:
                return Response("<Error><Code>SignatureDoesNotMatch</Code></Error>", status=403)
        data = parts[-1][1]
        if len(data) != staged["size"]:
            return Response("<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message></Error>",
                            status=400)
        staged["bytes"] = data
        self.uploads += 1
        return Response("", status=204)


# --- WordPress media library + WooCommerce REST v3 ------------------------------------------------


WP_USER = "shopkeeper"
WP_APP_PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"
WC_KEY = "ck_test_key"
WC_SECRET = "cs_test_secret_456"


class FakeWoo:
    """A WordPress + WooCommerce site: Application Password auth, /wp/v2/media both modes, products with meta_data."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.lock = _threading.Lock()
        self.products: dict[int, dict] = {794: {"id": 794, "slug": "mug", "name": "Blue Mug", "images": [], "meta_data": []}}
        self.media: dict[int, dict] = {792: {"id": 792, "post": 794, "title": {"raw": "merchant demo video [not ours]"},
                                             "source_url": "https://shop.example.com/wp-content/uploads/demo.mp4",
                                             "media_type": "file", "mime_type": "video/mp4"}}
        self.seq = 900
        self.meta_seq = 1
        self.faults: list[tuple[str, str]] = []  # (route kind, fault)
        self.requests: list[tuple[str, str]] = []
        self.delay = 0.8
        base = "/wp-json"
        server.expect_request(_re.compile(rf"^{base}/wp/v2/media$"), method="POST").respond_with_handler(self.media_create)
        server.expect_request(_re.compile(rf"^{base}/wp/v2/media$"), method="GET").respond_with_handler(self.media_list)
        server.expect_request(_re.compile(rf"^{base}/wp/v2/media/\d+$"), method="DELETE").respond_with_handler(self.media_delete)
        server.expect_request(_re.compile(rf"^{base}/wc/v3/products$"), method="GET").respond_with_handler(self.product_list)
        server.expect_request(_re.compile(rf"^{base}/wc/v3/products/\d+$"), method="PUT").respond_with_handler(self.product_update)
        server.expect_request(_re.compile(rf"^{base}/wc/v3/products/\d+$"), method="GET").respond_with_handler(self.product_get)

    @property
    def site_url(self) -> str:
        """The WordPress site base URL."""
        return self.server.url_for("/").rstrip("/")

    @property
    def writes(self) -> list[tuple[str, str]]:
        """Every write request received."""
        return [r for r in self.requests if r[0] in {"POST", "PUT", "DELETE"}]

    def ours(self) -> list[dict]:
        """productreel uploads in the media library."""
        return [m for m in self.media.values() if "[productreel " in m["title"]["raw"]]

    @staticmethod
    def _error(code: str, message: str, status: int) -> Response:
        return Response(_json.dumps({"code": code, "message": message, "data": {"status": status}}), status=status,
                        content_type="application/json")

    def _auth(self, request: Request, wc: bool) -> Response | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            if wc:
                return self._error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
            return self._error("rest_cannot_create", "Sorry, you are not allowed to create posts as this user.", 401)
        user, _, password = _base64.b64decode(header[6:]).decode().partition(":")
        if user == WP_USER and password.replace(" ", "") == WP_APP_PASSWORD.replace(" ", ""):
            return None
        if wc and user == WC_KEY and password == WC_SECRET:
            return None
        return self._error("incorrect_password", "The provided password is an invalid application password.", 401)

    def _fault(self, kind: str) -> str | None:
        with self.lock:
            for i, (want, fault) in enumerate(self.faults):
                if want == kind:
                    del self.faults[i]
                    return fault
        return None

    def _json(self, body, status=200, headers=None) -> Response:
        return Response(_json.dumps(body), status=status, headers=headers or {}, content_type="application/json")

    def media_create(self, request: Request) -> Response:
        self.requests.append(("POST", request.path))
        if (denied := self._auth(request, wc=False)) is not None:
            return denied
        fault = self._fault("upload")
        if fault == "502":
            return Response("Bad Gateway", status=502)
        ctype = request.headers.get("Content-Type", "")
        params = dict(request.args)
        if ctype.startswith("multipart/form-data"):
            parts = dict(parse_multipart(request))
            if "file" not in parts:
                return self._error("rest_upload_no_data", "No data supplied.", 400)
            data = parts.pop("file")
            params.update({k: v.decode() for k, v in parts.items()})
            filename = "upload.mp4"
        else:
            data = request.get_data()
            if not data:
                return self._error("rest_upload_no_data", "No data supplied.", 400)
            if not ctype:
                return self._error("rest_upload_no_content_type", "No Content-Type supplied.", 400)
            disposition = request.headers.get("Content-Disposition", "")
            if not disposition:
                return self._error("rest_upload_no_content_disposition", "No Content-Disposition supplied.", 400)
            found = _re.search(r'filename="?([^";]+)"?', disposition)
            if not found:
                return self._error("rest_upload_invalid_disposition", "Invalid Content-Disposition supplied.", 400)
            filename = _unquote(found.group(1))
            if ctype != "video/mp4":
                return self._error("rest_upload_sideload_error", "Sorry, you are not allowed to upload this file type.", 500)
        with self.lock:
            self.seq += 1
            mid = self.seq
            post = int(params.get("post", 0))
            self.media[mid] = {"id": mid, "post": post, "title": {"raw": params.get("title", filename)},
                               "alt_text": params.get("alt_text", ""), "bytes": data,
                               "source_url": f"https://shop.example.com/wp-content/uploads/2026/11/{filename}",
                               "media_type": "file", "mime_type": "video/mp4"}
            body = {k: v for k, v in self.media[mid].items() if k != "bytes"}
        if fault == "timeout":
            _time.sleep(self.delay)
        return self._json(body, 201, {"Location": f"{self.site_url}/wp-json/wp/v2/media/{mid}"})

    def media_list(self, request: Request) -> Response:
        self.requests.append(("GET", request.path))
        if (denied := self._auth(request, wc=False)) is not None:
            return denied
        parent = request.args.get("parent")
        search = (request.args.get("search") or "").lower()
        per_page = int(request.args.get("per_page", 10))
        page = int(request.args.get("page", 1))
        if not 1 <= per_page <= 100:
            return self._error("rest_invalid_param", "Invalid parameter(s): per_page", 400)
        items = [{k: v for k, v in m.items() if k != "bytes"} for m in sorted(self.media.values(), key=lambda m: m["id"])
                 if (parent is None or str(m["post"]) == parent) and search in m["title"]["raw"].lower()]
        chunk = items[(page - 1) * per_page: page * per_page]
        return self._json(chunk, headers={"X-WP-Total": str(len(items)),
                                          "X-WP-TotalPages": str(max(1, -(-len(items) // per_page)))})

    def media_delete(self, request: Request) -> Response:
        self.requests.append(("DELETE", request.path))
        if (denied := self._auth(request, wc=False)) is not None:
            return denied
        mid = int(request.path.rsplit("/", 1)[1])
        if request.args.get("force") != "true":
            return self._error("rest_trash_not_supported", "The post does not support trashing. Set 'force=true' to delete.", 501)
        with self.lock:
            previous = self.media.pop(mid, None)
        if previous is None:
            return self._error("rest_post_invalid_id", "Invalid post ID.", 404)
        return self._json({"deleted": True, "previous": {k: v for k, v in previous.items() if k != "bytes"}})

    def product_list(self, request: Request) -> Response:
        self.requests.append(("GET", request.path))
        if (denied := self._auth(request, wc=True)) is not None:
            return denied
        slug = request.args.get("slug")
        items = [p for p in self.products.values() if slug is None or p["slug"] == slug]
        return self._json(items, headers={"X-WP-Total": str(len(items)), "X-WP-TotalPages": "1"})

    def product_get(self, request: Request) -> Response:
        self.requests.append(("GET", request.path))
        if (denied := self._auth(request, wc=True)) is not None:
            return denied
        pid = int(request.path.rsplit("/", 1)[1])
        if pid not in self.products:
            return self._error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return self._json(self.products[pid])

    def product_update(self, request: Request) -> Response:
        self.requests.append(("PUT", request.path))
        if (denied := self._auth(request, wc=True)) is not None:
            return denied
        pid = int(request.path.rsplit("/", 1)[1])
        product = self.products.get(pid)
        if product is None:
            return self._error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        body = _json.loads(request.get_data() or b"{}")
        for image in body.get("images") or []:
            media = self.media.get(int(image.get("id", 0)))
            if media is None or media["mime_type"].split("/")[0] != "image":
                return self._error("woocommerce_product_invalid_image_id", f"#{image.get('id')} is an invalid image ID.", 400)
        with self.lock:
            for meta in body.get("meta_data") or []:
                existing = next((m for m in product["meta_data"] if m["key"] == meta["key"]), None)
                if existing:
                    existing["value"] = meta["value"]
                else:
                    self.meta_seq += 1
                    product["meta_data"].append({"id": self.meta_seq, "key": meta["key"], "value": meta["value"]})
        return self._json(product)


# --- Google OAuth + YouTube Data API v3 resumable uploads -------------------------------------------

YT_CLIENT_ID = "1234-test.apps.googleusercontent.com"
YT_CLIENT_SECRET = "GOCSPX-test_client_secret_789"
YT_REFRESH_TOKEN = "1//test_refresh_token_abc"
YT_ACCESS_TOKEN = "ya29.test_access_token_xyz"


class FakeYouTube:
    """The token endpoint and videos.insert's resumable upload, as developers.google.com documents them.

    A video exists only once its last byte arrived. Faults: ``quota`` (403 quotaExceeded on the next
    session start), ``cut`` (the next data PUT keeps only the first half of its bytes, then answers 503,
    as a dropped connection would leave it), ``expire`` (every open session is forgotten: 404).
    """

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.lock = _threading.Lock()
        self.sessions: dict[str, dict] = {}
        self.videos: dict[str, dict] = {}
        self.faults: list[str] = []
        self.requests: list[tuple[str, str]] = []  # (what, Content-Range or "")
        self.seq = 0
        server.expect_request("/token", method="POST").respond_with_handler(self.token)
        server.expect_request("/upload/youtube/v3/videos", method="POST").respond_with_handler(self.start)
        server.expect_request("/upload/youtube/v3/videos", method="PUT").respond_with_handler(self.put)
        server.expect_request("/youtube/v3/videos", method="DELETE").respond_with_handler(self.delete)
        self.scopes = {"https://www.googleapis.com/auth/youtube.upload"}  # what the refresh token was granted

    @property
    def base_url(self) -> str:
        """Stands in for https://www.googleapis.com."""
        return self.server.url_for("/").rstrip("/")

    @property
    def token_url(self) -> str:
        """Stands in for https://oauth2.googleapis.com/token."""
        return self.server.url_for("/token")

    def _fault(self, name: str) -> bool:
        with self.lock:
            if name in self.faults:
                self.faults.remove(name)
                return True
        return False

    @staticmethod
    def _error(status: int, reason: str, message: str, domain: str = "youtube.video") -> Response:
        return Response(_json.dumps({"error": {"code": status, "message": message,
                                               "errors": [{"message": message, "domain": domain, "reason": reason}]}}),
                        status=status, content_type="application/json")

    def token(self, request: Request) -> Response:
        self.requests.append(("token", ""))
        form = request.form
        if (form.get("grant_type") != "refresh_token" or form.get("client_id") != YT_CLIENT_ID
                or form.get("client_secret") != YT_CLIENT_SECRET):
            return Response(_json.dumps({"error": "invalid_client", "error_description": "The OAuth client was not found."}),
                            status=401, content_type="application/json")
        if form.get("refresh_token") != YT_REFRESH_TOKEN:
            return Response(_json.dumps({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
                            status=400, content_type="application/json")
        return Response(_json.dumps({"access_token": YT_ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer",
                                     "scope": "https://www.googleapis.com/auth/youtube.upload"}), content_type="application/json")

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {YT_ACCESS_TOKEN}"

    def start(self, request: Request) -> Response:
        self.requests.append(("start", ""))
        if not self._authorized(request):
            return self._error(401, "authError", "Invalid Credentials", "global")
        if request.args.get("uploadType") != "resumable" or set(request.args.get("part", "").split(",")) != {"snippet", "status"}:
            return self._error(400, "invalidParameter", "uploadType=resumable and part=snippet,status expected", "global")
        if self._fault("quota"):
            return self._error(403, "quotaExceeded", "The request cannot be completed because you have exceeded your "
                                                     '<a href="/youtube/v3/getting-started#quota">quota</a>.', "youtube.quota")
        size = request.headers.get("X-Upload-Content-Length", "")
        if not size.isdigit() or request.headers.get("X-Upload-Content-Type") != "video/mp4":
            return self._error(400, "invalidParameter", "X-Upload-Content-Length and X-Upload-Content-Type are required")
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return self._error(400, "parseError", "the video resource must be JSON", "global")
        resource = _json.loads(request.get_data() or b"{}")
        snippet, status = resource.get("snippet") or {}, resource.get("status") or {}
        if not snippet.get("title") or len(snippet["title"]) > 100 or "<" in snippet["title"]:
            return self._error(400, "invalidTitle", "The request metadata specifies an invalid video title.")
        if len(snippet.get("description", "").encode()) > 5000:
            return self._error(400, "invalidDescription", "The request metadata specifies an invalid video description.")
        if status.get("privacyStatus") not in {"public", "unlisted", "private"}:
            return self._error(400, "invalidVideoMetadata", "privacyStatus is invalid")
        with self.lock:
            self.seq += 1
            upload_id = f"AUjUPl{self.seq:06d}xyz"
            self.sessions[upload_id] = {"size": int(size), "bytes": b"", "resource": resource, "video": None}
        location = self.server.url_for(f"/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}")
        return Response("", status=200, headers={"Location": location})

    def put(self, request: Request) -> Response:
        upload_id = request.args.get("upload_id", "")
        content_range = request.headers.get("Content-Range", "")
        self.requests.append(("put", content_range))
        if not self._authorized(request):
            return self._error(401, "authError", "Invalid Credentials", "global")
        if self._fault("expire"):
            self.sessions.clear()
        session = self.sessions.get(upload_id)
        if session is None:
            return Response("Not Found", status=404)
        total = session["size"]
        if session["video"] is not None:  # finished: any PUT, a status query included, answers with the video
            return Response(_json.dumps(self.videos[session["video"]]["resource"]), status=200, content_type="application/json")
        data = request.get_data()
        if content_range == f"bytes */{total}" and not data:
            received = len(session["bytes"])
            headers = {"Range": f"bytes=0-{received - 1}"} if received else {}
            return Response("", status=308, headers=headers)
        found = _re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range)
        if not found or int(found.group(3)) != total or int(found.group(1)) != len(session["bytes"]) \
                or int(found.group(2)) - int(found.group(1)) + 1 != len(data):
            return self._error(400, "badContent", f"Content-Range {content_range!r} does not continue the upload "
                                                  f"({len(session['bytes'])} of {total} bytes received)", "global")
        if self._fault("cut"):
            session["bytes"] += data[: len(data) // 2]
            return Response("Service Unavailable", status=503)
        session["bytes"] += data
        if len(session["bytes"]) < total:
            return Response("", status=308, headers={"Range": f"bytes=0-{len(session['bytes']) - 1}"})
        with self.lock:
            video_id = f"vid{len(self.videos) + 1:08d}"
            resource = dict(session["resource"], kind="youtube#video", id=video_id)
            resource["status"] = dict(resource.get("status") or {}, uploadStatus="uploaded")
            self.videos[video_id] = {"resource": resource, "bytes": session["bytes"]}
            session["video"] = video_id
        return Response(_json.dumps(resource), status=201, content_type="application/json")

    def delete(self, request: Request) -> Response:
        self.requests.append(("delete", request.args.get("id", "")))
        if not self._authorized(request):
            return self._error(401, "authError", "Invalid Credentials", "global")
        if not self.scopes & {"https://www.googleapis.com/auth/youtube", "https://www.googleapis.com/auth/youtube.force-ssl"}:
            return self._error(403, "insufficientPermissions", "Request had insufficient authentication scopes.", "global")
        if self.videos.pop(request.args.get("id", ""), None) is None:
            return self._error(404, "videoNotFound", "The video that you are trying to delete cannot be found.")
        return Response("", status=204)
