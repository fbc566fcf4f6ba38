"""ECPay's post when a buyer agrees to an online allowance (AllowanceByCollegiate ReturnURL).

Verified (MD5 CheckMacValue with the e-invoice keys) before anything else; `1|OK` only once the
consent is stored. A forged post is refused and changes nothing."""

from __future__ import annotations

import logging

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.core.errors import NotFound
from services.core.usecases.einvoices import corrections
from services.ecpay.einvoice import EInvoiceError, verify_allowance_consent
from services.payment import context
from services.web.uow import db_session

log = logging.getLogger(__name__)
CONSENT_PATH = "/payment/ecpay/einvoice/allowance-consent/"

blp = Blueprint(
    "ecpay_einvoice_consent", __name__, url_prefix="/payment/ecpay/einvoice",
    description="ECPay e-invoice: the buyer's consent to an online allowance (折讓).",
)


@blp.route("/allowance-consent/")
class AllowanceConsent(MethodView):
    def post(self) -> Response:
        """Answered `1|OK` once stored, `0|<reason>` (HTTP 400) when refused."""
        settings = context.settings()
        try:
            consent = verify_allowance_consent(
                request.form.to_dict(flat=True), settings.einvoice_hash_key,
                settings.einvoice_hash_iv, merchant_id=settings.einvoice_merchant_id)
            corrections.record_consent(db_session(), context.clock(), consent)
        except EInvoiceError as exc:
            log.warning("allowance consent refused: %s", exc)
            return Response(f"0|{exc.message}", 400, mimetype="text/plain")
        except NotFound as exc:
            log.warning("allowance consent for an unknown allowance: %s", exc.message)
            return Response("0|unknown allowance", 400, mimetype="text/plain")
        return Response("1|OK", 200, mimetype="text/plain")
