"""IES LM-63 photometric files: read, write, interpolate, integrate; the generic road luminaire.

Frame and angles (type C photometry)
------------------------------------
``gamma`` (vertical angle, deg, 0..180) is measured from the nadir of the
luminaire (0 = straight down, 90 = horizontal, 180 = straight up). ``C``
(horizontal angle, deg, 0..360) is the azimuth of the half-plane, counted
counter-clockwise seen from above. For road luminaires LM-63 and CIE 140 agree:
C = 0 runs along the road, C = 90 points across the road (street side) and
C = 270 to the house side. Intensities are in candela (cd).

What is read
------------
- Header line ``IESNA:LM-63-1995``, ``IESNA:LM-63-2002``, ``IES:LM-63-2019``
  (or ``IESNA91``); a file without one is read as LM-63-1986, its text lines
  kept as keywords ``_TEXT``.
- Keyword lines ``[KEY] value``; ``[MORE]`` continues the previous keyword.
- ``TILT=NONE`` or ``TILT=INCLUDE`` (lamp-to-luminaire geometry, angles and
  multiplying factors are kept for round trips but not applied: they correct a
  lamp's output for the lamp's own tilt, which LED engines do not need).
  ``TILT=<file>`` is refused: inline the data with ``TILT=INCLUDE``.
- Type C photometry only (photometric type 1). Vertical angles start at 0 or
  90 and end at 90 or 180. Horizontal angles and their symmetry:

  ===============  ==========================================================
  angles           symmetry
  ===============  ==========================================================
  ``0``            ``axial``: the same in every C plane
  ``0..90``        ``quadrant``: symmetric about the C0-180 and C90-270 planes
  ``0..180``       ``bilateral``: symmetric about the C0-180 plane
  ``90..270``      ``bilateral_90_270``: symmetric about the C90-270 plane
  ``0..(180,360]`` ``full``: no symmetry; C = 360 is C = 0
  ===============  ==========================================================

- Numbers may span lines and be separated by blanks or commas.

The intensity in a direction is ``candela × multiplier × ballast_factor``
(× the ballast-lamp factor for LM-63-1986/1995 files, where the third number of
the ballast line means that), bilinearly interpolated in C and gamma, and zero
outside the file's gamma range (a cut-off file ending at 90 gives nothing
above the horizontal).

Errors
------
A malformed file raises :class:`IesError` whose message reads
``<file>:<line>: <what is wrong>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GENERIC_FLUX_LM",
    "GENERIC_INPUT_W",
    "GENERIC_ROAD_LED_FILE",
    "IesError",
    "Photometry",
    "Symmetry",
    "Tilt",
    "generic_road_luminaire",
    "generic_shape",
    "ies_text",
    "parse_ies",
    "read_ies",
    "write_ies",
]

Symmetry = Literal["axial", "quadrant", "bilateral", "bilateral_90_270", "full"]

VERSION_2002 = "IESNA:LM-63-2002"
VERSION_1986 = "LM-63-1986"
_VERSION_RE = re.compile(r"^\s*(IESNA\s*:\s*LM-63-\d{4}|IES\s*:\s*LM-63-\d{4}|IESNA91)\s*$", re.I)
_KEYWORD_RE = re.compile(r"^\s*\[([^\]]*)\]\s?(.*)$")
_VALUES_PER_LINE = 10

GENERIC_ROAD_LED_FILE = (
    Path(__file__).resolve().parents[2]
    / "scenarios"
    / "dongha"
    / "lighting"
    / "generic_road_led.ies"
)
"""The shipped generic road luminaire: :func:`generic_road_luminaire` saved by :func:`write_ies`."""

GENERIC_FLUX_LM = 12_000.0
"""Rated luminous flux of the generic road luminaire, lm."""

GENERIC_INPUT_W = 90.0
"""Input power of the generic road luminaire at full output, W (≈ 133 lm/W)."""


class IesError(ValueError):
    """A malformed IES LM-63 file: the message names the file, the line and the fault."""

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        self.reason = message
        super().__init__(f"{source}:{line}: {message}")


@dataclass(frozen=True)
class Tilt:
    """``TILT=INCLUDE`` data: lamp-to-luminaire geometry (1..3), angles (deg), factors (-)."""

    geometry: int
    angles_deg: tuple[float, ...]
    factors: tuple[float, ...]


def _frozen_array(values: ArrayLike, name: str, ndim: int) -> NDArray[np.float64]:
    array = np.array(values, dtype=np.float64)
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class Photometry:
    """A type C intensity distribution as an IES LM-63 file holds it.

    ``vertical_angles`` (gamma, deg, ascending, 0..180), ``horizontal_angles``
    (C, deg, ascending, see the module docstring for the allowed ranges) and
    ``candela`` of shape ``(len(horizontal_angles), len(vertical_angles))``:
    the file's values before ``multiplier`` is applied. ``lumens_per_lamp`` is
    -1 for absolute photometry (LED luminaires measured as a whole). The
    luminous opening (``width``, ``length``, ``height``) is in feet
    (``units_type`` 1) or metres (2). ``keywords`` maps keyword names (no
    brackets) to their values, multi-line values joined with newlines.
    """

    vertical_angles: NDArray[np.float64]
    horizontal_angles: NDArray[np.float64]
    candela: NDArray[np.float64]
    lamp_count: int = 1
    lumens_per_lamp: float = -1.0
    multiplier: float = 1.0
    ballast_factor: float = 1.0
    ballast_lamp_factor: float = 1.0
    input_watts: float = 0.0
    units_type: int = 2
    width: float = 0.0
    length: float = 0.0
    height: float = 0.0
    keywords: Mapping[str, str] = field(default_factory=dict)
    version: str = VERSION_2002
    tilt: Tilt | None = None

    def __post_init__(self) -> None:
        v = _frozen_array(self.vertical_angles, "vertical_angles", 1)
        h = _frozen_array(self.horizontal_angles, "horizontal_angles", 1)
        cd = _frozen_array(self.candela, "candela", 2)
        object.__setattr__(self, "vertical_angles", v)
        object.__setattr__(self, "horizontal_angles", h)
        object.__setattr__(self, "candela", cd)
        object.__setattr__(self, "keywords", dict(self.keywords))
        problem = (
            _vertical_problem(v)
            or _horizontal_problem(h)
            or _candela_problem(cd, len(h), len(v))
            or _header_problem(self)
        )
        if problem:
            raise ValueError(f"Photometry: {problem}")

    @property
    def symmetry(self) -> Symmetry:
        """How the stored C planes unfold to the full circle (module docstring table)."""
        return _symmetry_of(self.horizontal_angles)

    @property
    def rated_lumens(self) -> float | None:
        """Rated flux ``lamp_count × lumens_per_lamp`` (lm); None for absolute photometry."""
        if self.lumens_per_lamp < 0:
            return None
        return self.lamp_count * self.lumens_per_lamp

    @property
    def scale(self) -> float:
        """Factor from the stored candela values to intensity in cd."""
        factor = self.multiplier * self.ballast_factor
        if self.version in (VERSION_1986, "IESNA:LM-63-1995", "IESNA91"):
            factor *= self.ballast_lamp_factor
        return factor

    def intensity_cd(self, c_deg: ArrayLike, gamma_deg: ArrayLike) -> NDArray[np.float64]:
        """Intensity (cd) towards (C, gamma), in degrees; numpy broadcasting over both.

        C may be any real number (taken modulo 360); gamma in 0..180. Bilinear
        in C and gamma after unfolding the file's symmetry; zero outside the
        file's gamma range.
        """
        c, g = np.broadcast_arrays(
            np.asarray(c_deg, dtype=np.float64), np.asarray(gamma_deg, dtype=np.float64)
        )
        grid_c, table = self._unfolded()
        c_folded = _fold_c(np.mod(c, 360.0), self.symmetry)
        v = self.vertical_angles
        inside = (g >= v[0] - 1e-9) & (g <= v[-1] + 1e-9)
        gi, gt = _bracket(v, np.clip(g, v[0], v[-1]))
        if len(grid_c) == 1:
            row = table[0]
            value = row[gi] * (1.0 - gt) + row[gi + 1] * gt
        else:
            ci, ct = _bracket(grid_c, c_folded)
            lower = table[ci, gi] * (1.0 - gt) + table[ci, gi + 1] * gt
            upper = table[ci + 1, gi] * (1.0 - gt) + table[ci + 1, gi + 1] * gt
            value = lower * (1.0 - ct) + upper * ct
        return np.where(inside, value * self.scale, 0.0)

    def total_flux_lm(self, step_deg: float = 0.25) -> float:
        """Luminous flux (lm): the interpolated intensity integrated over the sphere.

        Midpoint rule on a ``step_deg`` grid in gamma (each band weighted by
        its exact solid angle ``Δ(-cos γ)·ΔC``) and in C (every C plane for a
        non-axial file); about 0.1 % from the exact integral for usual files.
        """
        v0, v1 = float(self.vertical_angles[0]), float(self.vertical_angles[-1])
        n_g = max(1, math.ceil((v1 - v0) / step_deg))
        edges = np.radians(np.linspace(v0, v1, n_g + 1))
        mid_g = np.degrees(0.5 * (edges[:-1] + edges[1:]))
        band = np.cos(edges[:-1]) - np.cos(edges[1:])
        if self.symmetry == "axial":
            return float(2.0 * math.pi * np.sum(self.intensity_cd(0.0, mid_g) * band))
        n_c = max(4, math.ceil(360.0 / step_deg))
        mid_c = (np.arange(n_c) + 0.5) * (360.0 / n_c)
        intensity = self.intensity_cd(mid_c[:, None], mid_g[None, :])
        return float(np.sum(intensity * band[None, :]) * (2.0 * math.pi / n_c))

    def _unfolded(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """C grid and table covering the folded C range, closed at 360 for full files."""
        h, cd = self.horizontal_angles, self.candela
        if self.symmetry == "full" and h[-1] < 360.0:
            return np.append(h, 360.0), np.vstack([cd, cd[:1]])
        return h, cd


def _bracket(
    grid: NDArray[np.float64], x: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Lower index and fraction of ``x`` (within ``grid``) for linear interpolation."""
    if len(grid) == 1:
        return np.zeros(x.shape, dtype=np.intp), np.zeros(x.shape)
    i = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, len(grid) - 2)
    t = (x - grid[i]) / (grid[i + 1] - grid[i])
    return i, np.clip(t, 0.0, 1.0)


def _fold_c(c: NDArray[np.float64], symmetry: Symmetry) -> NDArray[np.float64]:
    """Map C in [0, 360) onto the stored range of a file with this symmetry."""
    if symmetry == "axial":
        return np.zeros_like(c)
    if symmetry == "full":
        return c
    if symmetry == "bilateral_90_270":
        return np.where(c < 90.0, 180.0 - c, np.where(c > 270.0, 540.0 - c, c))
    half = np.where(c > 180.0, 360.0 - c, c)
    if symmetry == "bilateral":
        return half
    return np.where(half > 90.0, 180.0 - half, half)


def _symmetry_of(h: NDArray[np.float64]) -> Symmetry:
    first, last = float(h[0]), float(h[-1])
    if len(h) == 1:
        return "axial"
    if first == 90.0:
        return "bilateral_90_270"
    if last == 90.0:
        return "quadrant"
    if last == 180.0:
        return "bilateral"
    return "full"


def _monotonic_problem(angles: NDArray[np.float64], what: str) -> str | None:
    steps = np.diff(angles)
    if np.any(steps <= 0):
        k = int(np.argmax(steps <= 0)) + 1
        return f"{what} angles must increase: {angles[k - 1]:g} then {angles[k]:g}"
    return None


def _vertical_problem(v: NDArray[np.float64]) -> str | None:
    if len(v) < 2:
        return "need at least 2 vertical angles"
    if not np.all(np.isfinite(v)):
        return "vertical angles must be finite"
    monotonic = _monotonic_problem(v, "vertical")
    if monotonic:
        return monotonic
    if v[0] not in (0.0, 90.0) or v[-1] not in (90.0, 180.0):
        return f"type C vertical angles must run from 0 or 90 to 90 or 180, got {v[0]:g}..{v[-1]:g}"
    return None


def _horizontal_problem(h: NDArray[np.float64]) -> str | None:
    if len(h) < 1 or not np.all(np.isfinite(h)):
        return "horizontal angles must be finite and at least one"
    first, last = float(h[0]), float(h[-1])
    if len(h) == 1:
        return None if first == 0.0 else f"a single horizontal angle must be 0, got {first:g}"
    monotonic = _monotonic_problem(h, "horizontal")
    if monotonic:
        return monotonic
    allowed = (first == 0.0 and (last in (90.0, 180.0) or 180.0 < last <= 360.0)) or (
        first == 90.0 and last == 270.0
    )
    if not allowed:
        return (
            f"horizontal angles {first:g}..{last:g}: type C allows 0, 0..90, 0..180, "
            "0..(180-360] or 90..270"
        )
    return None


def _candela_problem(cd: NDArray[np.float64], n_h: int, n_v: int) -> str | None:
    if cd.shape != (n_h, n_v):
        return f"candela must have shape ({n_h}, {n_v}), got {cd.shape}"
    if not np.all(np.isfinite(cd)):
        return "candela values must be finite"
    if np.any(cd < 0):
        return "candela values must not be negative"
    return None


def _header_problem(p: Photometry) -> str | None:
    numbers = {
        "multiplier": p.multiplier,
        "ballast_factor": p.ballast_factor,
        "ballast_lamp_factor": p.ballast_lamp_factor,
        "lumens_per_lamp": p.lumens_per_lamp,
        "input_watts": p.input_watts,
    }
    for name, value in numbers.items():
        if not math.isfinite(value):
            return f"{name} must be finite, got {value!r}"
    if p.multiplier <= 0 or p.ballast_factor <= 0:
        return "multiplier and ballast_factor must be positive"
    if p.lamp_count < 1:
        return f"lamp_count must be >= 1, got {p.lamp_count}"
    if not (p.lumens_per_lamp > 0 or p.lumens_per_lamp == -1):
        return f"lumens_per_lamp must be positive or -1 (absolute), got {p.lumens_per_lamp:g}"
    return None


# --------------------------------------------------------------------------- reading


@dataclass
class _Tokens:
    """Whitespace/comma separated numbers after the TILT line, with their line numbers."""

    source: str
    items: list[tuple[str, int]]
    last_line: int
    pos: int = 0

    def take_float(self, what: str) -> tuple[float, int]:
        if self.pos >= len(self.items):
            raise IesError(self.source, self.last_line, f"file ends before {what}")
        text, line = self.items[self.pos]
        self.pos += 1
        try:
            value = float(text)
        except ValueError:
            raise IesError(self.source, line, f"{what}: {text!r} is not a number") from None
        if not math.isfinite(value):
            raise IesError(self.source, line, f"{what} is {text!r}, not a finite number")
        return value, line

    def take_int(self, what: str) -> int:
        value, line = self.take_float(what)
        if value != int(value):
            raise IesError(self.source, line, f"{what} must be a whole number, got {value:g}")
        return int(value)

    def take_many(self, count: int, what: str) -> tuple[NDArray[np.float64], list[int]]:
        available = len(self.items) - self.pos
        if available < count:
            raise IesError(
                self.source,
                self.last_line,
                f"expected {count} {what}, found only {available} values before the end",
            )
        values, lines = [], []
        for k in range(count):
            value, line = self.take_float(f"{what} #{k + 1}")
            values.append(value)
            lines.append(line)
        return np.array(values, dtype=np.float64), lines


def _tokenise(lines: Sequence[str], first_line: int, source: str) -> _Tokens:
    items = [
        (text, first_line + k)
        for k, line in enumerate(lines)
        for text in line.replace(",", " ").split()
    ]
    return _Tokens(source, items, first_line + max(len(lines) - 1, 0))


def _read_header(lines: Sequence[str], source: str) -> tuple[str, dict[str, str], int]:
    """Version, keywords, and the index of the TILT line."""
    version = VERSION_1986
    start = 0
    if lines and _VERSION_RE.match(lines[0]):
        version = re.sub(r"\s+", "", lines[0].strip()).upper()
        start = 1
    keywords: dict[str, str] = {}
    last_key: str | None = None
    for index in range(start, len(lines)):
        line = lines[index].strip()
        if line.upper().startswith("TILT"):
            if not re.match(r"^TILT\s*=", line, re.I):
                raise IesError(source, index + 1, f"malformed TILT line {line!r}")
            return version, keywords, index
        match = _KEYWORD_RE.match(line)
        if match:
            key, value = match.group(1).strip().upper(), match.group(2).rstrip()
            if key == "MORE" and last_key is not None:
                keywords[last_key] += "\n" + value
            else:
                keywords[key] = value if key not in keywords else keywords[key] + "\n" + value
                last_key = key
        elif line:
            keywords["_TEXT"] = f"{keywords['_TEXT']}\n{line}" if "_TEXT" in keywords else line
    raise IesError(source, len(lines), "no TILT= line (TILT=NONE or TILT=INCLUDE) in the file")


def _read_tilt(kind: str, tokens: _Tokens, line: int) -> Tilt | None:
    if kind == "NONE":
        return None
    if kind != "INCLUDE":
        raise IesError(
            tokens.source,
            line,
            f"TILT={kind}: external tilt files are not supported; use TILT=INCLUDE",
        )
    geometry = tokens.take_int("TILT lamp-to-luminaire geometry")
    count = tokens.take_int("number of TILT angles")
    angles, angle_lines = tokens.take_many(count, "TILT angles")
    factors, _ = tokens.take_many(count, "TILT multiplying factors")
    problem = _monotonic_problem(angles, "TILT")
    if problem:
        raise IesError(tokens.source, angle_lines[-1], problem)
    return Tilt(geometry, tuple(float(a) for a in angles), tuple(float(f) for f in factors))


def _check_angles(
    tokens: _Tokens, angles: NDArray[np.float64], lines: list[int], problem: str | None
) -> None:
    if problem is None:
        return
    steps = np.diff(angles)
    bad = int(np.argmax(steps <= 0)) + 1 if np.any(steps <= 0) else 0
    raise IesError(tokens.source, lines[bad], problem)


def parse_ies(text: str, source: str = "<string>") -> Photometry:
    """Parse the text of an IES LM-63 file; ``source`` names it in error messages."""
    lines = text.splitlines()
    version, keywords, tilt_index = _read_header(lines, source)
    tilt_kind = lines[tilt_index].split("=", 1)[1].strip().upper()
    tokens = _tokenise(lines[tilt_index + 1 :], tilt_index + 2, source)
    tilt = _read_tilt(tilt_kind, tokens, tilt_index + 1)
    lamp_count = tokens.take_int("number of lamps")
    lumens, lumens_line = tokens.take_float("lumens per lamp")
    multiplier, _ = tokens.take_float("candela multiplier")
    n_v = tokens.take_int("number of vertical angles")
    n_h = tokens.take_int("number of horizontal angles")
    photometric_type = tokens.take_int("photometric type")
    if photometric_type != 1:
        raise IesError(
            source,
            tokens.items[tokens.pos - 1][1],
            f"photometric type {photometric_type}: only type C (1) is supported",
        )
    units_type = tokens.take_int("units type")
    width, _ = tokens.take_float("luminous opening width")
    length, _ = tokens.take_float("luminous opening length")
    height, _ = tokens.take_float("luminous opening height")
    ballast, _ = tokens.take_float("ballast factor")
    third, _ = tokens.take_float("ballast-lamp factor / future use / file generation type")
    watts, _ = tokens.take_float("input watts")
    if n_v < 2 or n_h < 1:
        raise IesError(
            source,
            tokens.items[tokens.pos - 1][1],
            f"need >= 2 vertical and >= 1 horizontal angles, got {n_v} and {n_h}",
        )
    vertical, v_lines = tokens.take_many(n_v, "vertical angles")
    _check_angles(tokens, vertical, v_lines, _vertical_problem(vertical))
    horizontal, h_lines = tokens.take_many(n_h, "horizontal angles")
    _check_angles(tokens, horizontal, h_lines, _horizontal_problem(horizontal))
    candela, c_lines = tokens.take_many(n_h * n_v, f"candela values ({n_h} x {n_v})")
    if np.any(candela < 0):
        k = int(np.argmax(candela < 0))
        raise IesError(source, c_lines[k], f"negative candela value {candela[k]:g}")
    if tokens.pos < len(tokens.items):
        extra, line = tokens.items[tokens.pos]
        count = len(tokens.items) - tokens.pos
        raise IesError(
            source,
            line,
            f"{count} value(s) after the candela table, from {extra!r}: wrong angle counts?",
        )
    try:
        return Photometry(
            vertical_angles=vertical,
            horizontal_angles=horizontal,
            candela=candela.reshape(n_h, n_v),
            lamp_count=lamp_count,
            lumens_per_lamp=lumens,
            multiplier=multiplier,
            ballast_factor=ballast,
            ballast_lamp_factor=third,
            input_watts=watts,
            units_type=units_type,
            width=width,
            length=length,
            height=height,
            keywords=keywords,
            version=version,
            tilt=tilt,
        )
    except ValueError as exc:
        raise IesError(source, lumens_line, str(exc)) from None


def read_ies(path: str | Path) -> Photometry:
    """Read an IES LM-63 file (UTF-8, falling back to Latin-1 for old files)."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return parse_ies(text, source=str(path))


# --------------------------------------------------------------------------- writing


def _number(value: float) -> str:
    """Shortest text that reads back as the same float (``repr``), ``-1`` style for integers."""
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _wrapped(values: Iterator[float] | NDArray[np.float64]) -> list[str]:
    texts = [_number(v) for v in values]
    return [
        " ".join(texts[k : k + _VALUES_PER_LINE]) for k in range(0, len(texts), _VALUES_PER_LINE)
    ]


def _keyword_lines(keywords: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for key, value in keywords.items():
        if key == "_TEXT":
            out.extend(value.split("\n"))
            continue
        first, *more = value.split("\n")
        out.append(f"[{key}] {first}".rstrip())
        out.extend(f"[MORE] {line}".rstrip() for line in more)
    return out


def ies_text(photometry: Photometry) -> str:
    """The text of an LM-63 file holding ``photometry`` (its own version header)."""
    p = photometry
    lines = [] if p.version == VERSION_1986 else [p.version]
    lines += _keyword_lines(p.keywords)
    if p.tilt is None:
        lines.append("TILT=NONE")
    else:
        lines += ["TILT=INCLUDE", str(p.tilt.geometry), str(len(p.tilt.angles_deg))]
        lines += _wrapped(np.array(p.tilt.angles_deg)) + _wrapped(np.array(p.tilt.factors))
    header = [p.lamp_count, p.lumens_per_lamp, p.multiplier, len(p.vertical_angles)]
    header += [len(p.horizontal_angles), 1, p.units_type, p.width, p.length, p.height]
    lines.append(" ".join(_number(v) for v in header))
    lines.append(
        " ".join(_number(v) for v in (p.ballast_factor, p.ballast_lamp_factor, p.input_watts))
    )
    lines += _wrapped(p.vertical_angles) + _wrapped(p.horizontal_angles)
    for row in p.candela:
        lines += _wrapped(row)
    return "\r\n".join(lines) + "\r\n"


def write_ies(photometry: Photometry, path: str | Path) -> Path:
    """Write ``photometry`` as an LM-63 file (CRLF line ends, as LM-63 asks); returns the path."""
    target = Path(path)
    target.write_bytes(ies_text(photometry).encode("utf-8"))
    return target


# --------------------------------------------------------------------------- generic luminaire

_PEAK_GAMMA_DEG = 70.0
_PEAK_C_DEG = 15.0
_LOBE_KAPPA = 10.0
_STREET_GAMMA_DEG = 55.0
_STREET_KAPPA = 6.0
_STREET_WEIGHT = 0.35
_BASE_WEIGHT = 0.40
_HOUSE_SIDE_CUT = 0.6
_CUTOFF_START_DEG = 72.0
_CUTOFF_POWER = 3.0


def _unit(
    c_deg: float | NDArray[np.float64], gamma_deg: float | NDArray[np.float64]
) -> NDArray[np.float64]:
    """Unit vector(s) of type C directions in the luminaire frame (x: C0, y: C90, z: up)."""
    c, g = np.radians(c_deg), np.radians(gamma_deg)
    return np.stack(
        np.broadcast_arrays(np.sin(g) * np.cos(c), np.sin(g) * np.sin(c), -np.cos(g)), axis=-1
    )


def generic_shape(c_deg: ArrayLike, gamma_deg: ArrayLike) -> NDArray[np.float64]:
    """Relative intensity (-, peak ≈ 1.3) of the generic road luminaire towards (C, gamma) deg.

    ``(base + lobes + street) × house_side × cutoff`` with

    - ``base = 0.40 · cos(γ)^0.5``: the broad downward light under the luminaire;
    - ``lobes``: two von Mises-Fisher lobes ``exp(κ (d·u - 1))``, κ = 10 (half
      width at half maximum ≈ 22°), centred on (C 15°, γ 70°) and (C 165°,
      γ 70°): the along-road beams, turned 15° towards the street side;
    - ``street``: ``0.35 · exp(6 (d·u - 1))`` centred on (C 90°, γ 55°), the
      throw across the carriageway;
    - ``house_side = 1 - 0.6 · max(0, -sin γ sin C)``: the house side (C 180-360)
      dimmed, down to 40 % horizontally at C 270° and not at all at the nadir;
    - ``cutoff``: 1 up to γ 72°, then ``((90 - γ) / 18)³`` down to 0 at γ 90°
      (nothing at or above the horizontal; ≈ 8 % of the lamp lumens in cd at
      γ 80°, within the IES "cutoff" limit of 10 %).

    The product peaks at about (C 15°, γ 67.5°).
    """
    c = np.asarray(c_deg, dtype=np.float64)
    g = np.asarray(gamma_deg, dtype=np.float64)
    d = _unit(c, g)
    base = _BASE_WEIGHT * np.sqrt(np.clip(np.cos(np.radians(g)), 0.0, None))
    lobes = sum(
        np.exp(_LOBE_KAPPA * (d @ _unit(c0, _PEAK_GAMMA_DEG) - 1.0))
        for c0 in (_PEAK_C_DEG, 180.0 - _PEAK_C_DEG)
    )
    street = _STREET_WEIGHT * np.exp(_STREET_KAPPA * (d @ _unit(90.0, _STREET_GAMMA_DEG) - 1.0))
    house = 1.0 - _HOUSE_SIDE_CUT * np.clip(-d[..., 1], 0.0, None)
    cutoff = np.clip((90.0 - g) / (90.0 - _CUTOFF_START_DEG), 0.0, 1.0) ** _CUTOFF_POWER
    return np.asarray((base + lobes + street) * house * cutoff, dtype=np.float64)


def _shape_flux(step_deg: float = 0.1) -> float:
    """∫ generic_shape dΩ (sr-weighted), midpoint rule on a fine grid, independent of any table."""
    n_g, n_c = round(90.0 / step_deg), round(360.0 / (4 * step_deg))
    g_edges = np.radians(np.linspace(0.0, 90.0, n_g + 1))
    g_mid = np.degrees(0.5 * (g_edges[:-1] + g_edges[1:]))
    band = np.cos(g_edges[:-1]) - np.cos(g_edges[1:])
    c_mid = (np.arange(n_c) + 0.5) * (360.0 / n_c)
    values = generic_shape(c_mid[:, None], g_mid[None, :])
    return float(np.sum(values * band[None, :]) * (2.0 * math.pi / n_c))


def generic_road_luminaire(
    flux_lm: float = GENERIC_FLUX_LM, input_w: float = GENERIC_INPUT_W
) -> Photometry:
    """The generic cut-off LED road luminaire: :func:`generic_shape` scaled to ``flux_lm``.

    Tabulated on C 0..360 every 5° and gamma 0..90 every 2.5°, candela rounded
    to 0.1 cd, ``lumens_per_lamp = flux_lm`` (relative photometry, one lamp).
    The scale comes from an integral of the analytic shape on a 0.1° grid, so
    the tabulated file's own flux is an independent check (within ~1 %).
    Generic, not a product: see ``scenarios/dongha/lighting/README.md``.
    """
    vertical = np.arange(0.0, 90.0 + 1e-9, 2.5)
    horizontal = np.arange(0.0, 360.0 + 1e-9, 5.0)
    scale = flux_lm / _shape_flux()
    candela = np.round(generic_shape(horizontal[:, None], vertical[None, :]) * scale, 1)
    keywords = {
        "TEST": "none: analytic distribution, sim.lighting.ies.generic_road_luminaire",
        "TESTLAB": "none (computed, not measured)",
        "ISSUEDATE": "2025-01-01",
        "MANUFAC": "generic - not a product",
        "LUMCAT": f"DONGHA-GENERIC-ROAD-LED-{flux_lm / 1000:g}K",
        "LUMINAIRE": "generic full cut-off LED road luminaire, IES type II-III medium shape",
        "LAMP": f"LED module {flux_lm:g} lm, {input_w:g} W input",
        "OTHER": "Dong Ha Twin; shape and parameters in scenarios/dongha/lighting/README.md",
    }
    return Photometry(
        vertical_angles=vertical,
        horizontal_angles=horizontal,
        candela=candela,
        lamp_count=1,
        lumens_per_lamp=flux_lm,
        multiplier=1.0,
        input_watts=input_w,
        units_type=2,
        width=0.25,
        length=0.5,
        height=0.0,
        keywords=keywords,
        version=VERSION_2002,
    )
