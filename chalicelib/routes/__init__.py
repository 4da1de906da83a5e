"""Chalice blueprints, one module per area; app.py registers them."""
