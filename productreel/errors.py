"""The productreel error tree.

    ProductreelError            every error productreel raises on purpose
    ├── TransientError          worth retrying: throttled, timeout, HTTP 5xx, GPU out of memory
    └── PermanentError          retrying cannot help
        ├── InputError          bad input: a catalog row, an image, a template, a setting
        ├── RenderError         the renderer could not make the clip (missing font, FFmpeg failure)
        ├── ComplianceBlock     a BLOCK finding stops the clip from being published
        ├── ProvenanceError     the clip could not be signed or labelled (C2PA, AIGC metadata)
        └── PublishRejected     the destination refused the upload or the change

ComplianceBlock means the clip itself breaks a rule; a failure of our own
tooling around it (FFmpeg, the C2PA signer) is a RenderError or a
ProvenanceError, so reports and the review page never blame the content for it.

Every error carries where it happened (product, market, source location) so the
one-line message a seller reads says what and where. Library errors are
translated at the boundary and re-raised ``from exc``.
"""

from __future__ import annotations


class ProductreelError(Exception):
    """Base of every error productreel raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        product: str | None = None,
        market: str | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.product = product
        self.market = market
        self.where = where

    def __str__(self) -> str:
        parts = []
        if self.where:
            parts.append(self.where)
        if self.product:
            parts.append(f"product {self.product}")
        if self.market:
            parts.append(f"market {self.market}")
        prefix = ", ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class TransientError(ProductreelError):
    """A failure worth retrying (throttled, timeout, 5xx, GPU out of memory)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class PermanentError(ProductreelError):
    """A failure that retrying cannot fix."""


class InputError(PermanentError):
    """Bad input: a catalog row, an image, a template or a setting."""


class RenderError(PermanentError):
    """The renderer could not make the clip."""


class ComplianceBlock(PermanentError):
    """A BLOCK finding stops the clip from being published."""


class ProvenanceError(PermanentError):
    """The clip could not be signed or labelled (C2PA manifest, AIGC metadata)."""


class PublishRejected(PermanentError):
    """The destination refused the upload or the change."""


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` is worth retrying."""
    return isinstance(exc, TransientError)
