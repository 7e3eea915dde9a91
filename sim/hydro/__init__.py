"""Flood hydrology: a 2D local-inertial solver on a raster, DEMs, gauges and uplinks."""
