"""One package per resource: routes.py (a Blueprint of MethodViews) and schemas.py."""
