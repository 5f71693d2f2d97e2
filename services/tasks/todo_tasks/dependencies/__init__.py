"""Annotated dependencies the routers declare."""
