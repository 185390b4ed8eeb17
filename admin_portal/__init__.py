"""Admin portal: server-rendered pages under /admin for admins, calling the same services as the API."""
from flask import Blueprint

bp = Blueprint(
    "admin_portal",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from admin_portal import analytics, disputes, errors, finance, matching, reviews, session, views  # noqa: E402, F401  (attach hooks and routes to bp)
