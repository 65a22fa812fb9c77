"""From similarities to calibrated scores and ranked pages."""

from cerebro_serve.scoring.calibration import Calibration, calibration_for

__all__ = ["Calibration", "calibration_for"]
