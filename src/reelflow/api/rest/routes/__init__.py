"""One router per resource; ``reelflow.wiring.http`` mounts them."""
