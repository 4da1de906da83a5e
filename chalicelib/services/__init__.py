"""Business rules. No SQL, no boto3: they talk to a store and to small ports."""
