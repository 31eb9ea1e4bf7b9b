"""Willingness-to-pay survey research: Van Westendorp PSM (:mod:`~revlib.wtp.van_westendorp`),
the Newton-Miller-Smith extension (:mod:`~revlib.wtp.nms`) with bootstrap intervals.
Method conventions and the mapping to R's ``pricesensitivitymeter`` are in docs/wtp.md.
"""

from revlib.wtp import nms, van_westendorp

__all__ = ["nms", "van_westendorp"]
