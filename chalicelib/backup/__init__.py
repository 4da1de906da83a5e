"""The DynamoDB backup of everything PostgreSQL holds, and the SQS retry queue that keeps them equal."""
