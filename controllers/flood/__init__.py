"""Flood-warning controllers: per warning point (runs on the point) and for the city."""
