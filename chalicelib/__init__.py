"""Everything that runs in Lambda: services, stores, security and HTTP helpers."""
