"""medic: classifies ML inference endpoint logs and says how to fix what broke."""
