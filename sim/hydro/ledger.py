"""The mass-balance ledger of a flood run: every cubic metre in and out.

``storage - storage_start`` must equal ``rain + inflow + boundary_in -
outflow - boundary_out - infiltration - drainage`` up to round-off; the
difference is :attr:`MassLedger.residual_m3`, reported with every run so a
reader can see the solver lost nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["MassLedger"]


@dataclass
class MassLedger:
    """Volumes (m³) since the solver started; all terms >= 0.

    Attributes:
        storage_start_m3: water on the grid at the start.
        storage_m3: water on the grid now.
        rain_m3: rain that fell on the grid.
        inflow_m3: water added by point and line inflows.
        outflow_m3: water taken by negative inflows (pumps, withdrawals) and
            free outlets.
        boundary_in_m3: water added by stage boundaries (river coming in).
        boundary_out_m3: water removed by stage boundaries (river going out).
        infiltration_m3: water the ground took.
        drainage_m3: water the drains took.
    """

    storage_start_m3: float = 0.0
    storage_m3: float = 0.0
    rain_m3: float = 0.0
    inflow_m3: float = 0.0
    outflow_m3: float = 0.0
    boundary_in_m3: float = 0.0
    boundary_out_m3: float = 0.0
    infiltration_m3: float = 0.0
    drainage_m3: float = 0.0

    @property
    def net_in_m3(self) -> float:
        """All additions minus all removals (m³)."""
        return (
            self.rain_m3
            + self.inflow_m3
            + self.boundary_in_m3
            - self.outflow_m3
            - self.boundary_out_m3
            - self.infiltration_m3
            - self.drainage_m3
        )

    @property
    def residual_m3(self) -> float:
        """Storage change not explained by the fluxes (m³); round-off only."""
        return (self.storage_m3 - self.storage_start_m3) - self.net_in_m3

    @property
    def relative_error(self) -> float:
        """``|residual|`` over the largest volume involved (-), 0 when nothing moved."""
        scale = max(
            self.storage_start_m3,
            self.storage_m3,
            self.rain_m3 + self.inflow_m3 + self.boundary_in_m3,
            1e-300,
        )
        return abs(self.residual_m3) / scale

    def as_dict(self) -> dict[str, float]:
        """All terms plus the residual, for a KPI file."""
        return {
            **asdict(self),
            "residual_m3": self.residual_m3,
            "relative_error": self.relative_error,
        }
