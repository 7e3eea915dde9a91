"""Street lighting plant: luminaires, IES photometry, EN 13201 road photometry and classes."""
