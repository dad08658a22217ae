"""The YouTube publisher: videos.insert over the resumable upload protocol (YouTube Data API v3), exactly once.

Steps (each recorded in the ledger's publish_steps, so a killed run resumes where it stopped):

1. an access token from the OAuth refresh token (``POST https://oauth2.googleapis.com/token``,
   grant_type=refresh_token; scope youtube.upload);
2. ``session``: ``POST {api}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` with the
   video resource (localized title, description and tags, privacy status, ``containsSyntheticMedia``)
   and ``X-Upload-Content-Length``; the session URI from ``Location`` is recorded before any byte is sent;
3. ``uploaded``: ``PUT {session URI}`` with the bytes; ``201`` returns the video, whose id is recorded.

A run that died mid-upload (or after the upload, before the ledger heard) asks the session where it
stands (``PUT`` with ``Content-Range: bytes */SIZE``): ``308`` with ``Range: bytes=0-N`` resumes from
byte N+1, ``200/201`` is the finished video, ``404`` is an expired session (a new one is started; no
video existed for it). YouTube creates the video only when its last byte arrives, so a session that
was opened and lost makes no video: a rerun never uploads a second one.

An interrupted upload is a TransientError (the next attempt resumes; the data PUT itself is never
resent whole); ``403 quotaExceeded`` is a PublishRejected that nothing retries today, and since no
receipt is recorded the next run publishes the clip.

Take-down (a product deleted from the catalog) is ``DELETE {api}/youtube/v3/videos?id=ID``, which
needs the ``youtube`` or ``youtube.force-ssl`` scope; with an upload-only token it says so.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import requests

from productreel import http
from productreel.errors import InputError, PublishRejected, TransientError
from productreel.ledger import Ledger
from productreel.models import Destination, Product, PublishReceipt, RenderedClip

from publishers.base import (
    already_published, clip_stem, live_clips, naming_clip, now, record_taken_down, redact, require_clip_file, setting,
    take_down_summary,
)
from publishers.http import rejected, send

log = logging.getLogger(__name__)

TOKEN_URL = "https://oauth2.googleapis.com/token"
API_BASE = "https://www.googleapis.com"
UPLOAD_PATH = "/upload/youtube/v3/videos"
PRIVACY_STATUSES = ("public", "unlisted", "private")
TITLE_MAX = 100  # characters
DESCRIPTION_MAX = 5000  # bytes
TAGS_MAX = 500  # characters, all tags together
# Reasons in a 403 that waiting minutes cannot fix: the daily quota, the channel's upload cap.
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "uploadLimitExceeded"}


@dataclass
class YouTubeSettings:
    """OAuth client and refresh token (environment or Secret blocks) and where the APIs are."""

    client_id: str
    client_secret: str
    refresh_token: str
    token_url: str = TOKEN_URL
    api_base: str = API_BASE

    @classmethod
    def resolve(
        cls, options: Mapping[str, Any] | None = None, secrets: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> "YouTubeSettings":
        """Settings from given secrets, then YOUTUBE_* environment variables or Secret blocks; URLs from options too."""
        options, secrets = options or {}, secrets or {}
        values = {
            "client_id": secrets.get("client_id") or setting("YOUTUBE_CLIENT_ID", env),
            "client_secret": secrets.get("client_secret") or setting("YOUTUBE_CLIENT_SECRET", env),
            "refresh_token": secrets.get("refresh_token") or setting("YOUTUBE_REFRESH_TOKEN", env),
        }
        missing = [f"YOUTUBE_{k.upper()}" for k, v in values.items() if not v]
        if missing:
            raise InputError(f"{', '.join(missing)} not set (an OAuth client and a refresh token with the "
                             "youtube.upload scope)", where="youtube")
        token_url = options.get("token_url") or setting("YOUTUBE_TOKEN_URL", env) or TOKEN_URL
        api_base = options.get("api_base") or setting("YOUTUBE_API_BASE", env) or API_BASE
        return cls(**values, token_url=token_url, api_base=api_base.rstrip("/"))

    @property
    def secrets(self) -> list[str]:
        """What must never be printed."""
        return [self.client_secret, self.refresh_token]

    def __repr__(self) -> str:  # the secret and the token must never reach a log line
        return f"YouTubeSettings(client_id={self.client_id!r}, api_base={self.api_base!r}, client_secret='***', refresh_token='***')"


class YouTubePublisher:
    """Uploads a clip to a YouTube channel as one video; idempotent by job key and resumable."""

    name = "youtube"

    def __init__(self, *, env: Mapping[str, str] | None = None, timeout: float = 30.0, upload_timeout: float = 600.0,
                 sleep: http.Sleep = time.sleep) -> None:
        self.env = env
        # Token, session start and status queries create no video, so the session may resend them.
        self.session = http.session(idempotent_post=True, timeout=timeout, sleep=sleep)
        # The data PUT is never resent whole: after an interruption the protocol asks where it stopped.
        self.upload_session = http.session(retries=0, timeout=upload_timeout, sleep=sleep)

    def publish(
        self, clip: RenderedClip, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path,
        secrets: Mapping[str, str] | None = None,
    ) -> PublishReceipt:
        """Upload the clip (or finish its upload); "unchanged" with no call at all when already live."""
        dest = destination.name or self.name
        options = destination.options
        privacy = str(options.get("privacy_status") or "unlisted")
        if privacy not in PRIVACY_STATUSES:
            raise InputError(f"privacy_status {privacy!r} is not one of {', '.join(PRIVACY_STATUSES)}", where="youtube")
        done = already_published(ledger, clip.job_key, dest)
        if done is not None:
            return done
        formats = options.get("formats")
        if formats and clip.format not in formats:
            return PublishReceipt(destination=dest, job_key=clip.job_key, status="skipped",
                                  detail=f"format {clip.format} is not in this destination's formats {formats}")
        settings = YouTubeSettings.resolve(options, secrets, self.env)
        resource = video_resource(clip, product, privacy=privacy, category_id=str(options.get("category_id") or "22"),
                                  made_for_kids=bool(options.get("made_for_kids", False)))
        if destination.dry_run:
            return PublishReceipt(destination=dest, job_key=clip.job_key, status="dry-run",
                                  detail=f"would upload {clip_stem(clip)}.mp4 as {privacy} "
                                         f"{resource['snippet']['title']!r} (containsSyntheticMedia="
                                         f"{str(resource['status']['containsSyntheticMedia']).lower()})")
        require_clip_file(clip, "youtube")
        with naming_clip(clip):
            return _Upload(self, settings, clip, dest, ledger, resource).go()

    def take_down(
        self, product: Product, destination: Destination, *, ledger: Ledger, out_dir: Path,
        secrets: Mapping[str, str] | None = None,
    ) -> PublishReceipt:
        """Delete the product's live videos (videos.delete); "unchanged" with no call when none is live.

        videos.delete needs the ``youtube`` (or ``youtube.force-ssl``) scope, more than uploading does;
        a token with youtube.upload only gets a clear PublishRejected and the videos stay.
        """
        dest = destination.name or self.name
        live = live_clips(ledger, product.handle, dest)
        if not live:
            return take_down_summary(dest, product, [], "no clip of it is live here")
        settings = YouTubeSettings.resolve(destination.options, secrets, self.env)
        token = access_token(self.session, settings)
        where = "youtube videos.delete"
        for _, receipt in live:
            response = send(self.session, "DELETE", f"{settings.api_base}/youtube/v3/videos", params={"id": receipt.remote_id},
                            headers={"Authorization": f"Bearer {token}"}, where=where, secrets=[*settings.secrets, token])
            if response.status_code == 403 and "insufficientPermissions" in response.text:
                raise PublishRejected("YouTube refused to delete (HTTP 403 insufficientPermissions): the refresh token "
                                      "needs the youtube or youtube.force-ssl scope; or delete the videos in YouTube Studio",
                                      where=where, product=product.handle)
            if response.status_code >= 400 and response.status_code != 404:  # 404: already gone
                raise rejected(response, "YouTube refused to delete the video", where=where, secrets=[*settings.secrets, token])
        detail = f"deleted {len(live)} YouTube video(s)"
        taken = [record_taken_down(ledger, receipt, detail) for _, receipt in live]
        return take_down_summary(dest, product, taken, detail)


class _Upload:
    """One upload of one clip, step by step."""

    def __init__(self, pub: YouTubePublisher, settings: YouTubeSettings, clip: RenderedClip, dest: str,
                 ledger: Ledger, resource: dict[str, Any]) -> None:
        self.pub, self.settings, self.clip, self.dest, self.ledger = pub, settings, clip, dest, ledger
        self.resource = resource
        self.key = clip.job_key
        self.path = Path(clip.video)
        self.size = self.path.stat().st_size
        self._token = ""

    def go(self) -> PublishReceipt:
        steps = self.ledger.publish_steps(self.key, self.dest)
        video = steps.get("uploaded") or {}
        video_id = video.get("video_id", "")
        if not video_id:
            session = steps.get("session") or {}
            uri = session.get("uri", "") if session.get("size") == self.size else ""
            found = self.resume(uri) if uri else None
            if found is None:
                uri = self.start()
                found = self.put_from(uri, 0)
            video_id = found["id"]
            self.ledger.record_step(self.key, self.dest, "uploaded", {"video_id": video_id})
        synthetic = self.resource["status"]["containsSyntheticMedia"]
        receipt = PublishReceipt(
            destination=self.dest, job_key=self.key, status="published", remote_id=video_id,
            url=f"https://www.youtube.com/watch?v={video_id}",
            detail=f"{self.resource['status']['privacyStatus']} on YouTube; containsSyntheticMedia="
                   f"{str(synthetic).lower()}; {self.resource['snippet'].get('defaultLanguage') or 'no language'}",
            published_at=now(),
        )
        self.ledger.record_receipt(receipt)
        return receipt

    # --- the protocol -------------------------------------------------------
    def token(self) -> str:
        """An access token from the refresh token (once per publish)."""
        if not self._token:
            self._token = access_token(self.pub.session, self.settings)
        return self._token

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    @property
    def _secrets(self) -> list[str]:
        return [*self.settings.secrets, self._token]

    def start(self) -> str:
        """Open a resumable session with the video resource; records and returns its URI."""
        where = "youtube videos.insert"
        url = f"{self.settings.api_base}{UPLOAD_PATH}?uploadType=resumable&part=snippet,status"
        headers = {**self._auth(), "Content-Type": "application/json; charset=UTF-8",
                   "X-Upload-Content-Length": str(self.size), "X-Upload-Content-Type": "video/mp4"}
        response = send(self.pub.session, "POST", url, where=where, secrets=self._secrets, headers=headers,
                        data=json.dumps(self.resource).encode("utf-8"))
        if response.status_code >= 400:
            raise self.refused(response, where)
        uri = response.headers.get("Location", "")
        if not uri:
            raise PublishRejected(f"YouTube opened no upload session (HTTP {response.status_code}, no Location)", where=where)
        self.ledger.record_step(self.key, self.dest, "session", {"uri": uri, "size": self.size})
        return uri

    def resume(self, uri: str) -> dict[str, Any] | None:
        """Finish a recorded session: the video when it completes, None when the session is gone."""
        where = "youtube upload status"
        headers = {**self._auth(), "Content-Length": "0", "Content-Range": f"bytes */{self.size}"}
        # 308 here is "Resume Incomplete", not a redirect.
        response = send(self.pub.session, "PUT", uri, where=where, secrets=self._secrets, headers=headers, data=b"",
                        allow_redirects=False)
        if response.status_code in (200, 201):
            return self.video(response, where)  # it had finished; the last run died before the ledger heard
        if response.status_code == 404:
            log.info("upload session for %s expired; starting a new one", self.key)
            return None
        if response.status_code != 308:
            raise self.refused(response, where)
        found = re.fullmatch(r"bytes=0-(\d+)", response.headers.get("Range", "").strip())
        offset = int(found.group(1)) + 1 if found else 0
        log.info("resuming the upload of %s at byte %d of %d", self.key, offset, self.size)
        return self.put_from(uri, offset)

    def put_from(self, uri: str, offset: int) -> dict[str, Any]:
        """Send the bytes from ``offset`` to the end; the finished video resource."""
        where = "youtube upload"
        headers = {**self._auth(), "Content-Type": "video/mp4", "Content-Length": str(self.size - offset),
                   "Content-Range": f"bytes {offset}-{self.size - 1}/{self.size}"}
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            try:
                response = send(self.pub.upload_session, "PUT", uri, where=where, secrets=self._secrets,
                                headers=headers, data=fh, allow_redirects=False)
            except TransientError as exc:
                raise TransientError(f"upload interrupted ({exc.message}); the next attempt resumes this session",
                                     retry_after=exc.retry_after, where=where) from exc
        if response.status_code in (200, 201):
            return self.video(response, where)
        if response.status_code == 308:
            raise TransientError(f"YouTube has {response.headers.get('Range', 'no bytes')} of {self.size}; "
                                 "the next attempt resumes this session", where=where)
        raise self.refused(response, where)

    def video(self, response: requests.Response, where: str) -> dict[str, Any]:
        body = _json(response)
        if not body.get("id"):
            raise PublishRejected(f"YouTube finished the upload but returned no video id (HTTP {response.status_code})",
                                  where=where)
        return body

    def refused(self, response: requests.Response, where: str) -> PublishRejected:
        """A clear error for a refusal: the quota (not retried; the next run publishes), the token, or the server's reason."""
        error = _json(response).get("error")
        reasons = {e.get("reason") for e in (error.get("errors") or []) if isinstance(e, dict)} if isinstance(error, dict) else set()
        if response.status_code == 403 and reasons & QUOTA_REASONS:
            reason = sorted(reasons & QUOTA_REASONS)[0]
            return PublishRejected(f"YouTube quota exhausted (HTTP 403 {reason}); it resets daily at midnight Pacific "
                                   "time, and the next run publishes this clip", where=where)
        if response.status_code == 401:
            return PublishRejected("YouTube refused the access token (HTTP 401); check the refresh token's "
                                   "youtube.upload scope", where=where)
        return rejected(response, "YouTube refused the upload", where=where, secrets=self._secrets)


def access_token(session: requests.Session, settings: YouTubeSettings) -> str:
    """An access token from the OAuth refresh token; PublishRejected (secrets redacted) when Google refuses it."""
    where = "youtube oauth"
    s = settings
    response = send(session, "POST", s.token_url, where=where, secrets=s.secrets, data={
        "grant_type": "refresh_token", "client_id": s.client_id, "client_secret": s.client_secret,
        "refresh_token": s.refresh_token})
    body = _json(response)
    if response.status_code >= 400 or not body.get("access_token"):
        reason = body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
        raise PublishRejected(redact(f"Google refused the refresh token ({body.get('error') or response.status_code}: "
                                     f"{reason}); check YOUTUBE_CLIENT_ID, YOUTUBE_CLIENT_SECRET and "
                                     "YOUTUBE_REFRESH_TOKEN", s.secrets), where=where)
    return body["access_token"]


def video_resource(clip: RenderedClip, product: Product, *, privacy: str = "unlisted", category_id: str = "22",
                   made_for_kids: bool = False) -> dict[str, Any]:
    """The videos.insert body: snippet in the clip's market language, status with the synthetic-media flag."""
    meta = clip_metadata(clip)
    locale = str(meta.get("locale") or "")
    storyboard = meta.get("storyboard") or {}
    translation = _translation(product, locale)
    title = _on_screen_title(storyboard) or translation.get("title") or product.title
    lines = [storyboard.get("voiceover") or translation.get("description") or product.description]
    ai_label = (storyboard.get("metadata") or {}).get("ai_label") or ""
    synthetic = has_generated(clip, meta)
    if synthetic and ai_label:
        lines.append(ai_label)
    if product.link:
        lines.append(product.link)
    snippet: dict[str, Any] = {
        "title": _clean(title, TITLE_MAX) or product.handle,
        "description": _clean_bytes("\n\n".join(x.strip() for x in lines if x and x.strip()), DESCRIPTION_MAX),
        "tags": _tags([product.brand, product.category, *product.tags]),
        "categoryId": category_id,
    }
    if locale:
        snippet["defaultLanguage"] = snippet["defaultAudioLanguage"] = locale.replace("_", "-")
    return {"snippet": snippet, "status": {
        "privacyStatus": privacy, "selfDeclaredMadeForKids": made_for_kids, "containsSyntheticMedia": synthetic}}


def clip_metadata(clip: RenderedClip) -> dict[str, Any]:
    """The clip's metadata sidecar (its ``metadata`` path, else the MP4's ``.json``); {} when there is none."""
    path = Path(clip.metadata) if clip.metadata else Path(clip.video).with_suffix(".json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def has_generated(clip: RenderedClip, meta: Mapping[str, Any] | None = None) -> bool:
    """True when the clip has a generated shot: RenderedClip.has_generated or its sidecar says so."""
    meta = clip_metadata(clip) if meta is None else meta
    return bool(clip.has_generated or meta.get("has_generated") or (meta.get("inputs") or {}).get("generated"))


def _on_screen_title(storyboard: Mapping[str, Any]) -> str:
    for scene in storyboard.get("scenes") or []:
        for overlay in scene.get("overlays") or []:
            if overlay.get("role") == "title" and overlay.get("text"):
                return str(overlay["text"])
    return ""


def _translation(product: Product, locale: str) -> dict[str, str]:
    if not locale:
        return {}
    for key in (locale, locale.replace("_", "-"), locale.split("-")[0].split("_")[0]):
        if key in product.translations:
            return product.translations[key].model_dump()
    return {}


def _clean(text: str, limit: int) -> str:
    """One line without the angle brackets YouTube refuses, cut to ``limit`` characters."""
    return " ".join(str(text).replace("<", "").replace(">", "").split())[:limit]


def _clean_bytes(text: str, limit: int) -> str:
    text = str(text).replace("<", "").replace(">", "")
    data = text.encode("utf-8")[:limit]
    return data.decode("utf-8", errors="ignore")


def _tags(values: list[str]) -> list[str]:
    """Distinct tags (no angle brackets or commas) within YouTube's 500 characters in all."""
    out: list[str] = []
    used = 0
    for value in values:
        tag = " ".join(str(value or "").replace("<", "").replace(">", "").replace(",", " ").split())
        if not tag or tag.lower() in {t.lower() for t in out}:
            continue
        # A tag with a space counts with the quotes YouTube puts around it.
        cost = len(tag) + (2 if " " in tag else 0) + (1 if out else 0)
        if used + cost > TAGS_MAX:
            break
        out.append(tag)
        used += cost
    return out


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
