"""Running ``jupyter mlp`` as a JupyterHub service.

The Hub starts a managed service with its environment (``JUPYTERHUB_API_TOKEN``,
``JUPYTERHUB_API_URL``, ``JUPYTERHUB_SERVICE_NAME``, ``JUPYTERHUB_SERVICE_URL``,
``JUPYTERHUB_SERVICE_PREFIX``, the OAuth client's id and callback); an external service gets the
same variables from its admin. From them the server takes its address and prefix, and JupyterHub's
identity provider for Jupyter servers: a request's Hub token (or, for a browser, the Hub's OAuth
login) names the Hub user, who must hold the ``access:services!service=NAME`` scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlparse

from mlp.errors import MLPError

IDENTITY_PROVIDER = "jupyterhub.singleuser.extension.JupyterHubIdentityProvider"


def service_args(env: Mapping[str, str]) -> list[str]:
    """ServerApp options for a Hub service, from the Hub's environment ([] outside one)."""
    if not (env.get("JUPYTERHUB_API_TOKEN") and env.get("JUPYTERHUB_SERVICE_NAME")):
        return []
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        raise MLPError("jupyter mlp runs as a JupyterHub service here (JUPYTERHUB_SERVICE_NAME "
                       "is set) but jupyterhub is not installed: pip install "
                       "'jupyter-mlp[hub]'") from None
    for var in ("JUPYTERHUB_API_URL", "JUPYTERHUB_SERVICE_URL"):
        if not env.get(var):
            raise MLPError(f"${var} is not set: a JupyterHub service needs it (the Hub sets it "
                           "for a managed service; give it to an external one)")
    url = urlparse(env["JUPYTERHUB_SERVICE_URL"])
    args = [f"--ServerApp.identity_provider_class={IDENTITY_PROVIDER}",
            f"--ServerApp.base_url={env.get('JUPYTERHUB_SERVICE_PREFIX') or '/'}",
            # Behind the Hub's proxy: requests arrive from it, with the client in X-Forwarded-*.
            "--ServerApp.allow_remote_access=True", "--ServerApp.trust_xheaders=True",
            "--ServerApp.port_retries=0"]
    if url.hostname:
        args.append(f"--ServerApp.ip={url.hostname}")
    if url.port:
        args.append(f"--ServerApp.port={url.port}")
    return args
