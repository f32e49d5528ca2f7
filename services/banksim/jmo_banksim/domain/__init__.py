"""How the simulated bank behaves and decides; pure Python."""
