"""What the components share: artifact layouts and property names."""
