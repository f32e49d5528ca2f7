"""The payout domain: PPh 21 on the JHT lump sum, the choice of rail, the payout's life."""
