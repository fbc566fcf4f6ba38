"""The audit log, for staff."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from services.api.resources.audit_logs.schemas import AuditLogArgsSchema, StaffAuditLogSchema
from services.api.resources.common import authenticated, document_errors, page_body, page_schema
from services.core.usecases import audit_queries
from services.web.reads import read_session

blp = Blueprint("audit_logs", __name__, url_prefix="/api/audit-logs", description="Audit log")
AuditLogPageSchema = page_schema(StaffAuditLogSchema, "AuditLogPage")


@blp.route("/")
class AuditLogs(MethodView):
    @authenticated(blp, staff=True)
    @document_errors(blp, 422)
    @blp.arguments(AuditLogArgsSchema(), location="query")
    @blp.response(200, AuditLogPageSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Who did what, newest first, each row with the acting user's e-mail and name; filter
        by user (id or e-mail), action, resource and time range."""
        return page_body(audit_queries.list_audit_logs(read_session(), **args))
