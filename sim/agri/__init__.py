"""Agriculture plant models for the An Lạc flower and Đông Thanh vegetable cooperatives.

Modules:

- :mod:`sim.agri.et0` — FAO-56 Penman–Monteith reference evapotranspiration
  (daily eq. 6 and hourly eq. 53) with its radiation, humidity and wind helpers.
"""
