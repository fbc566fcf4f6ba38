"""The payment service's blueprints, one module per resource."""
