"""Agriculture plant models for the An Lạc flower and Đông Thanh vegetable cooperatives.

Modules:

- :mod:`sim.agri.et0` — FAO-56 Penman–Monteith reference evapotranspiration
  (daily eq. 6 and hourly eq. 53) with its radiation, humidity and wind helpers.
- :mod:`sim.agri.crops` — crops with stages, Kc curves, root growth and the depletion
  fraction p (lettuce, mustard greens, water spinach, chrysanthemum).
- :mod:`sim.agri.water_balance` — the FAO-56 root-zone water balance per plot
  (TAW, RAW, depletion, Ks, deep percolation, runoff) with a closing ledger.
- :mod:`sim.agri.sites` — the two cooperatives as households and plots
  (``scenarios/dongha/agri/sites.yaml``).
- :mod:`sim.agri.hydraulics` — a site's shared pump, main line, solenoid valves and
  drip laterals: operating point, flows, pressure, pump energy, faults.
"""
