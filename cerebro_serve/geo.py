"""Great-circle distances: what location filters (the index's row masks, the store's places) and the
explanations' distances share."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088


def distance_km(lat: float, lng: float, to_lat: np.ndarray, to_lng: np.ndarray) -> np.ndarray:
    """Great-circle (haversine) km from one point to each of many; NaN where a coordinate is missing."""
    phi1, phi2 = np.radians(lat), np.radians(to_lat.astype(np.float64))
    a = np.sin((phi2 - phi1) / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(np.radians(to_lng - lng) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def bounding_box(lat: float, lng: float, radius_km: float) -> tuple[float, float, float | None, float | None]:
    """(lat_min, lat_max, lng_min, lng_max) holding every point within the radius, a little wider; the
    longitudes are None (any) where the box would reach a pole or cross the antimeridian."""
    dlat = np.degrees(radius_km / EARTH_RADIUS_KM) * 1.01
    lat_min, lat_max = lat - dlat, lat + dlat
    if lat_min <= -89.0 or lat_max >= 89.0:
        return max(lat_min, -90.0), min(lat_max, 90.0), None, None
    dlng = dlat / np.cos(np.radians(max(abs(lat_min), abs(lat_max))))
    if lng - dlng < -180.0 or lng + dlng > 180.0:
        return lat_min, lat_max, None, None
    return float(lat_min), float(lat_max), float(lng - dlng), float(lng + dlng)
