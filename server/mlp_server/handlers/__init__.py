"""REST routes under /mlp/api/v1: thin faces over the services."""

from __future__ import annotations

import re

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from .. import __version__
from .base import MLPHandler, dumps
from .features import ROUTES as FEATURES_ROUTES
from .jobs import ROUTES as JOBS_ROUTES
from .registry import ROUTES as REGISTRY_ROUTES
from .tracking import ROUTES as TRACKING_ROUTES

ROUTES = [*TRACKING_ROUTES, *REGISTRY_ROUTES, *FEATURES_ROUTES, *JOBS_ROUTES]

API = "/mlp/api/v1"

__all__ = ["API", "ROUTES", "MLPHandler", "OpenAPIHandler", "dumps", "openapi_document",
           "url_patterns"]


def openapi_document(version: str) -> dict:
    """The OpenAPI description of every route, from the same table that registers them."""
    paths: dict[str, dict] = {}
    for pattern, _handler, methods in [*ROUTES, *_EXTRA]:
        params = re.findall(r"\(\?P<(\w+)>", pattern)
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
        paths[f"{API}/{path}"] = {
            method: {
                "summary": summary,
                "parameters": [{"name": p, "in": "path", "required": True,
                                "schema": {"type": "string"}} for p in params],
                "responses": {"200": {"description": "OK"},
                              "4XX": {"description": "A JSON error naming the problem",
                                      "content": {"application/json": {"schema": {
                                          "$ref": "#/components/schemas/Error"}}}}},
                "security": [{"token": []}],
            }
            for method, summary in methods.items()
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": "jupyter-mlp", "version": version},
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "apiKey", "in": "header",
                                          "name": "Authorization"}},
            "schemas": {"Error": {"type": "object", "properties": {
                "error": {"type": "string"}, "message": {"type": "string"},
                "field": {"type": "string", "nullable": True}}}},
        },
    }


class OpenAPIHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply(openapi_document(__version__))


_EXTRA = [("openapi.json", OpenAPIHandler, {"get": "This document"})]


def url_patterns(base_url: str = "/") -> list[tuple[str, type]]:
    return [(url_path_join(base_url, API, pattern), handler)
            for pattern, handler, _ in [*ROUTES, *_EXTRA]]
