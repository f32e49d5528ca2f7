"""PPh 21 final on a JHT lump sum paid within two calendar years (PP 68/2009, PMK 16/2010).

The estimate shown before submission; the payout service computes the tax it withholds.
"""

from __future__ import annotations

from .model import Estimate
from .policy import ClaimPolicy


def lump_sum_tax(gross_idr: int, has_npwp: bool, policy: ClaimPolicy) -> int:
    taxable = max(gross_idr - policy.lump_sum_tax_free_idr, 0)
    rate = policy.lump_sum_tax_rate_npwp_pct if has_npwp else policy.lump_sum_tax_rate_no_npwp_pct
    # Integer rupiah, rounded down: never withhold more than the rule says.
    return taxable * rate // 100


def estimate(gross_idr: int, has_npwp: bool, policy: ClaimPolicy) -> Estimate:
    tax = lump_sum_tax(gross_idr, has_npwp, policy)
    return Estimate(gross_idr=gross_idr, tax_idr=tax, net_idr=gross_idr - tax)
