"""HTTP transport: decode and validate requests, encode responses (Magistrala shapes)."""
