"""One router per resource; ``reelflow.api.app`` mounts them."""
