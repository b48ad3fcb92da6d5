"""The compatible API: ``POST /`` actions signed with TC3-HMAC-SHA256, answered in the
``{"Response": ...}`` envelope, mapped onto reelflow's own engine (mps-api.md)."""

from reelflow.api.mps.router import router

__all__ = ["router"]
