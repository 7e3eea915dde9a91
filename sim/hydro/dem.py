"""A digital elevation model on a north-up UTM 48N raster, and GeoTIFF input/output.

Frame and conventions (shared with :mod:`sim.hydro.kernels`):

* CRS ``EPSG:32648`` (WGS 84 / UTM zone 48N): ``x`` = easting, ``y`` = northing, in m.
* ``elevation`` is a float64 array of shape ``(ny, nx)`` in m above the vertical datum of the
  source (for Đông Hà: the national Hòn Dấu datum, ≈ mean sea level, the datum of the river
  gauges' alert levels). Row 0 is the NORTH edge, column 0 the WEST edge.
* Square cells of ``cell_m`` m. ``(x0, y0)`` is the upper-left corner of the upper-left cell,
  so cell ``(row, col)`` covers ``x0 + col·cell .. x0 + (col+1)·cell`` and
  ``y0 - (row+1)·cell .. y0 - row·cell`` (half-open: a point on the east or south edge of the
  raster is outside).

:func:`load_geotiff` reads any single-band elevation GeoTIFF (SRTM N16E107, Copernicus GLO-30,
a survey DEM…) in any CRS, reprojects it bilinearly onto that grid and fills small nodata gaps
by harmonic interpolation (flagged in :attr:`Dem.filled`). :func:`save_geotiff` writes a
:class:`Dem` back out, with its attribution in the file's metadata.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
from numpy.typing import NDArray

_P = ParamSpec("_P")
_R = TypeVar("_R")

__all__ = [
    "UTM48N",
    "Dem",
    "DemError",
    "load_geotiff",
    "lonlat_to_utm",
    "save_geotiff",
    "utm_to_lonlat",
]

UTM48N = "EPSG:32648"
_NODATA_OUT = -9999.0  # nodata value written to GeoTIFF files
_FEET = {"ft", "foot", "feet", "us-ft", "us survey foot", "ftus"}

Array = NDArray[np.float64]
Bounds = tuple[float, float, float, float]


class DemError(ValueError):
    """A DEM that cannot be built or read; the message says what to do."""


@dataclass(frozen=True, eq=False)
class Dem:
    """Elevation raster, north-up, in UTM 48N.

    Attributes:
        elevation: float64 array ``(ny, nx)``, m above datum; row 0 = north edge. NaN is not
            allowed (fill gaps first; :func:`load_geotiff` does).
        cell_m: cell size in m (square cells), > 0.
        x0: easting of the upper-left corner of the upper-left cell, m (EPSG:32648).
        y0: northing of the upper-left corner of the upper-left cell, m (EPSG:32648).
        crs: always ``"EPSG:32648"``; stored so files and reports can say it.
        filled: optional bool mask ``(ny, nx)``, True where the value was nodata in the
            source and was filled by interpolation (None when nothing was filled).
        attribution: credit line for the data (saved as GeoTIFF metadata).
        description: one line on where the DEM comes from.
    """

    elevation: Array
    cell_m: float
    x0: float
    y0: float
    crs: str = UTM48N
    filled: NDArray[np.bool_] | None = None
    attribution: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        z = self.elevation
        if not isinstance(z, np.ndarray) or z.ndim != 2 or z.dtype != np.float64:
            raise DemError(
                "Dem.elevation must be a 2-D float64 numpy array (ny, nx); "
                f"got {type(z).__name__} {getattr(z, 'dtype', '')} "
                f"ndim={getattr(z, 'ndim', '?')}: use np.asarray(a, dtype=np.float64)"
            )
        if z.size == 0:
            raise DemError("Dem.elevation is empty: a DEM needs at least one cell")
        if not np.all(np.isfinite(z)):
            raise DemError(
                f"Dem.elevation has {int(np.count_nonzero(~np.isfinite(z)))} non-finite cells: "
                "fill nodata first (load_geotiff does it and flags the cells in Dem.filled)"
            )
        if not (math.isfinite(self.cell_m) and self.cell_m > 0):
            raise DemError(f"Dem.cell_m must be a positive number of metres, got {self.cell_m}")
        if self.crs != UTM48N:
            raise DemError(
                f"Dem.crs must be {UTM48N!r} (the twin's only metric frame), got {self.crs!r}: "
                "reproject with load_geotiff"
            )
        if self.filled is not None and self.filled.shape != z.shape:
            raise DemError(f"Dem.filled has shape {self.filled.shape}, expected {z.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``: rows (north→south), columns (west→east)."""
        ny, nx = self.elevation.shape
        return int(ny), int(nx)

    @property
    def bounds(self) -> Bounds:
        """``(xmin, ymin, xmax, ymax)`` of the raster's outer edges, m in EPSG:32648."""
        ny, nx = self.shape
        return (self.x0, self.y0 - ny * self.cell_m, self.x0 + nx * self.cell_m, self.y0)

    def xy_of(self, row: int, col: int) -> tuple[float, float]:
        """Cell-centre ``(x, y)`` of cell ``(row, col)``, m in EPSG:32648 (no range check)."""
        return (self.x0 + (col + 0.5) * self.cell_m, self.y0 - (row + 0.5) * self.cell_m)

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        """``(row, col)`` of the cell holding point ``(x, y)`` (m, EPSG:32648).

        Raises:
            ValueError (:class:`DemError`): the point is outside the raster.
        """
        col = math.floor((x - self.x0) / self.cell_m)
        row = math.floor((self.y0 - y) / self.cell_m)
        ny, nx = self.shape
        if not (0 <= row < ny and 0 <= col < nx):
            xmin, ymin, xmax, ymax = self.bounds
            hint = ""
            if abs(x) <= 180 and abs(y) <= 90:
                hint = " It looks like lon/lat: convert with lonlat_to_utm(lon, lat) first."
            raise DemError(
                f"point x={x:.1f} m, y={y:.1f} m is outside the DEM "
                f"(x {xmin:.0f}..{xmax:.0f}, y {ymin:.0f}..{ymax:.0f} m, EPSG:32648).{hint}"
            )
        return row, col

    def sample(self, x: float, y: float) -> float:
        """Elevation (m) of the cell holding ``(x, y)`` (m, EPSG:32648); outside raises."""
        row, col = self.cell_of(x, y)
        return float(self.elevation[row, col])

    def cell_centres(self) -> tuple[Array, Array]:
        """1-D cell-centre coordinates: ``xs`` (nx, west→east), ``ys`` (ny, north→south), m."""
        ny, nx = self.shape
        xs = self.x0 + (np.arange(nx, dtype=np.float64) + 0.5) * self.cell_m
        ys = self.y0 - (np.arange(ny, dtype=np.float64) + 0.5) * self.cell_m
        return xs, ys


def lonlat_to_utm(lon: Any, lat: Any) -> tuple[Array, Array]:
    """WGS84 ``lon, lat`` (degrees; scalars or arrays) to EPSG:32648 ``x, y`` arrays in m."""
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:4326", UTM48N, always_xy=True)
    x, y = tr.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def utm_to_lonlat(x: Any, y: Any) -> tuple[Array, Array]:
    """EPSG:32648 ``x, y`` (m; scalars or arrays) to WGS84 ``lon, lat`` arrays in degrees."""
    from pyproj import Transformer

    tr = Transformer.from_crs(UTM48N, "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


# ----------------------------------------------------------------------------- loading


def _fill_gaps(z: Array) -> tuple[Array, NDArray[np.bool_]]:
    """Fill NaN cells by repeated averaging of valid 4-neighbours (gaps shrink 1 cell a pass).

    Returns the filled copy and the mask of filled cells. Needs at least one valid cell.
    """
    out = z.copy()
    missing = ~np.isfinite(out)
    filled = missing.copy()
    while missing.any():
        valid = ~missing
        acc = np.zeros_like(out)
        cnt = np.zeros(out.shape, dtype=np.int64)
        vals = np.where(valid, out, 0.0)
        acc[1:, :] += vals[:-1, :]
        cnt[1:, :] += valid[:-1, :]
        acc[:-1, :] += vals[1:, :]
        cnt[:-1, :] += valid[1:, :]
        acc[:, 1:] += vals[:, :-1]
        cnt[:, 1:] += valid[:, :-1]
        acc[:, :-1] += vals[:, 1:]
        cnt[:, :-1] += valid[:, 1:]
        newly = missing & (cnt > 0)
        out[newly] = acc[newly] / cnt[newly]
        missing &= ~newly
    _relax(out, filled)
    return out, filled


def _relax(z: Array, free: NDArray[np.bool_], sweeps: int = 400) -> None:
    """Jacobi sweeps of Laplace's equation on the ``free`` cells, in place (others fixed).

    Turns the first-guess fill into a smooth (harmonic) surface spanning the gap; it reproduces
    a plane exactly once converged. Works on the bounding box of the free cells only.
    """
    rows, cols = np.nonzero(free)
    if rows.size == 0:
        return
    r0, r1 = max(0, rows.min() - 1), min(z.shape[0], rows.max() + 2)
    c0, c1 = max(0, cols.min() - 1), min(z.shape[1], cols.max() + 2)
    sub, mask = z[r0:r1, c0:c1], free[r0:r1, c0:c1]
    for _ in range(sweeps):
        acc = np.zeros_like(sub)
        cnt = np.zeros(sub.shape)
        acc[1:, :] += sub[:-1, :]
        cnt[1:, :] += 1
        acc[:-1, :] += sub[1:, :]
        cnt[:-1, :] += 1
        acc[:, 1:] += sub[:, :-1]
        cnt[:, 1:] += 1
        acc[:, :-1] += sub[:, 1:]
        cnt[:, :-1] += 1
        sub[mask] = acc[mask] / cnt[mask]


def _snapped_grid(bounds: Bounds, cell_m: float) -> tuple[float, float, int, int]:
    """Grid ``(x0, y0, nx, ny)`` covering ``bounds`` with cells aligned to multiples of cell_m."""
    xmin, ymin, xmax, ymax = bounds
    x0 = math.floor(xmin / cell_m + 1e-9) * cell_m
    y0 = math.ceil(ymax / cell_m - 1e-9) * cell_m
    nx = max(1, math.ceil((xmax - x0) / cell_m - 1e-9))
    ny = max(1, math.ceil((y0 - ymin) / cell_m - 1e-9))
    return x0, y0, nx, ny


def _with_rasterio_proj_data(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``function`` with ``PROJ_DATA`` pointed at rasterio's own PROJ database.

    The SUMO wheels (``sumo``, ``libsumo``) set ``PROJ_DATA`` and ``PROJ_LIB`` for the
    whole process to their bundled, older ``proj.db`` when imported; rasterio reads those
    variables on import and whenever it opens a dataset, and then fails with "The EPSG
    code is unknown". rasterio's wheel ships its own ``proj_data``: while ``function``
    runs, the variables point there, and they are restored afterwards (each library links
    its own PROJ, and SUMO read its path when it loaded, so SUMO is not affected).
    """

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        import rasterio

        own = Path(rasterio.__file__).parent / "proj_data"
        if not (own / "proj.db").exists():
            return function(*args, **kwargs)
        saved = {name: os.environ.get(name) for name in ("PROJ_DATA", "PROJ_LIB")}
        os.environ["PROJ_DATA"] = os.environ["PROJ_LIB"] = str(own)
        try:
            from rasterio.env import set_proj_data_search_path

            set_proj_data_search_path(str(own))
            return function(*args, **kwargs)
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    return wrapper


@_with_rasterio_proj_data
def load_geotiff(
    path: str | Path,
    cell_m: float = 10.0,
    bounds: Bounds | None = None,
    *,
    max_fill_fraction: float = 0.25,
) -> Dem:
    """Read a single-band elevation GeoTIFF in any CRS onto the twin's UTM 48N grid.

    Args:
        path: the GeoTIFF (band 1 = elevation; metres, or feet if the file says so).
        cell_m: output cell size, m (> 0).
        bounds: optional clip ``(xmin, ymin, xmax, ymax)`` in m, EPSG:32648. Without it the
            whole file is reprojected. The grid is snapped outwards to multiples of ``cell_m``.
        max_fill_fraction: largest fraction (0..1) of nodata cells that is filled by
            interpolation; more than that raises, because the result would be mostly invented.

    Returns:
        A :class:`Dem` resampled bilinearly (GDAL warp); cells that were nodata (or outside the
        source) are filled by harmonic (Laplace) interpolation from the edges of each gap and
        flagged in ``Dem.filled``. That is fine for small voids (SRTM holes, a few bridge
        cells); for large gaps it only gives a smooth, plausible-looking surface.

    Raises:
        FileNotFoundError: no such file.
        DemError: no CRS, bad arguments, bounds not overlapping the file, every cell nodata,
            or too many nodata cells.
    """
    import rasterio
    from rasterio.transform import Affine
    from rasterio.warp import Resampling, reproject, transform_bounds
    from rasterio.windows import Window, from_bounds

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"DEM file {path} does not exist: check the path")
    if not (math.isfinite(cell_m) and cell_m > 0):
        raise DemError(f"cell_m must be a positive number of metres, got {cell_m}")
    if bounds is not None:
        xmin, ymin, xmax, ymax = (float(b) for b in bounds)
        if not (xmax > xmin and ymax > ymin):
            raise DemError(
                f"bounds must be (xmin, ymin, xmax, ymax) in m, EPSG:32648, got {bounds}"
            )
        if abs(xmin) <= 180 and abs(ymax) <= 90:
            raise DemError(f"bounds {bounds} look like lon/lat: give UTM 48N metres")

    with rasterio.open(path) as src:
        if src.crs is None:
            raise DemError(
                f"{path} has no CRS: assign one first (e.g. gdal_edit.py -a_srs EPSG:4326 "
                f"{path.name} for an SRTM/Copernicus tile)"
            )
        window = Window(0, 0, src.width, src.height)
        if bounds is not None:
            sb = transform_bounds(UTM48N, src.crs, *bounds, densify_pts=21)
            w = from_bounds(*sb, transform=src.transform)
            col0 = max(0, math.floor(w.col_off) - 2)
            row0 = max(0, math.floor(w.row_off) - 2)
            col1 = min(src.width, math.ceil(w.col_off + w.width) + 2)
            row1 = min(src.height, math.ceil(w.row_off + w.height) + 2)
            if col1 <= col0 or row1 <= row0:
                raise DemError(
                    f"bounds {bounds} (EPSG:32648) do not overlap {path.name} "
                    f"(bounds {tuple(round(v, 4) for v in src.bounds)} in {src.crs}): "
                    "pick another tile or other bounds"
                )
            window = Window(col0, row0, col1 - col0, row1 - row0)
        band = src.read(1, window=window, masked=True)
        data = np.ma.filled(band.astype(np.float64), np.nan)
        data[~np.isfinite(data)] = np.nan
        scale = float(src.scales[0]) if src.scales else 1.0
        offset = float(src.offsets[0]) if src.offsets else 0.0
        data = data * scale + offset
        unit = (src.units[0] or "").strip().lower() if src.units else ""
        if unit in _FEET:
            data *= 0.3048
        t = src.transform
        col_off, row_off = float(window.col_off), float(window.row_off)
        src_transform = Affine(
            t.a,
            t.b,
            t.c + col_off * t.a + row_off * t.b,
            t.d,
            t.e,
            t.f + col_off * t.d + row_off * t.e,
        )
        src_crs = src.crs
        tags = src.tags()
        if not np.isfinite(data).any():
            raise DemError(
                f"{path.name}: every cell in the area read is nodata (nodata={src.nodata}): "
                "check the file's nodata value, or that the bounds cover real data"
            )
        if bounds is None:
            ws, wn = src_transform @ (0, 0)
            we, wsouth = src_transform @ (data.shape[1], data.shape[0])
            left, right = min(ws, we), max(ws, we)
            bottom, top = min(wn, wsouth), max(wn, wsouth)
            out_bounds = transform_bounds(src_crs, UTM48N, left, bottom, right, top, densify_pts=21)
        else:
            out_bounds = bounds

    x0, y0, nx, ny = _snapped_grid(out_bounds, cell_m)
    dst = np.full((ny, nx), np.nan, dtype=np.float64)
    reproject(
        source=data,
        destination=dst,
        src_transform=src_transform,
        src_crs=src_crs,
        src_nodata=np.nan,
        dst_transform=Affine(cell_m, 0.0, x0, 0.0, -cell_m, y0),
        dst_crs=UTM48N,
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    missing = ~np.isfinite(dst)
    n_missing = int(np.count_nonzero(missing))
    if n_missing == dst.size:
        raise DemError(
            f"{path.name}: no valid elevation in the output grid after reprojection: "
            "the data may lie outside the bounds, or the nodata value may be wrong"
        )
    if n_missing > max_fill_fraction * dst.size:
        raise DemError(
            f"{path.name}: {n_missing / dst.size:.0%} of the output cells are nodata "
            f"(limit max_fill_fraction={max_fill_fraction:.0%}): clip with bounds= to the area "
            "the file covers, or mosaic more tiles"
        )
    filled: NDArray[np.bool_] | None = None
    if n_missing:
        dst, filled = _fill_gaps(dst)
    return Dem(
        elevation=dst,
        cell_m=float(cell_m),
        x0=float(x0),
        y0=float(y0),
        filled=filled,
        attribution=tags.get("ATTRIBUTION", tags.get("TIFFTAG_COPYRIGHT", "")),
        description=tags.get("DESCRIPTION", f"loaded from {path.name}"),
    )


@_with_rasterio_proj_data
def save_geotiff(dem: Dem, path: str | Path, *, dtype: str = "float32") -> Path:
    """Write ``dem`` as a single-band, deflate-compressed GeoTIFF in EPSG:32648.

    Elevation in m; nodata = -9999 (none is written: a Dem has no gaps). ``dtype`` is
    ``"float32"`` (≈ 1e-5 m rounding at 100 m, the usual DEM type) or ``"float64"``.
    The attribution and description go into the metadata (``ATTRIBUTION``,
    ``TIFFTAG_COPYRIGHT``, ``DESCRIPTION``) and are read back by :func:`load_geotiff`.
    Returns the path written.
    """
    import rasterio
    from rasterio.transform import Affine

    if dtype not in ("float32", "float64"):
        raise DemError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ny, nx = dem.shape
    profile = {
        "driver": "GTiff",
        "width": nx,
        "height": ny,
        "count": 1,
        "dtype": dtype,
        "crs": UTM48N,
        "transform": Affine(dem.cell_m, 0.0, dem.x0, 0.0, -dem.cell_m, dem.y0),
        "nodata": _NODATA_OUT,
        "compress": "deflate",
        "predictor": 3,
    }
    if nx >= 256 and ny >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(dem.elevation.astype(dtype), 1)
        dst.update_tags(
            ATTRIBUTION=dem.attribution,
            TIFFTAG_COPYRIGHT=dem.attribution,
            DESCRIPTION=dem.description,
            UNITS="m above datum",
        )
        dst.set_band_unit(1, "m")
        dst.set_band_description(1, "elevation")
    return path
