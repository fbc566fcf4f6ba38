"""Flask pieces shared by the API and the payment service (errors, JWT, requests, health, UoW).

How to use it in an app factory::

    from services.web.setup import install_web
    from services.web.auth import init_jwt            # only apps that take bearer tokens
    from services.web.health import health_blueprint
    from services.web.uow import db_session, jobs

    app = Flask(__name__)
    api = flask_smorest.Api(app)                      # if you use flask-smorest: BEFORE install_web
    install_web(app, settings)                        # envelope, request id, headers, body cap,
                                                      # proxies, CORS, one DB session per request
    init_jwt(app, settings)
    app.register_blueprint(health_blueprint(settings), url_prefix="/api/health")

In a view: ``session = db_session()`` (one per request, committed after a < 400 response,
rolled back otherwise; call ``uow.commit_on_error()`` when an error answer must still keep
what was written, e.g. an audit row) and ``jobs()`` (the RQ Jobs port, flushed after commit).
Raise any ``FluxusError``; it renders as ``{"code", "status", "message", "errors"}``.
"""
